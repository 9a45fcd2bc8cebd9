"""``asyncio.run`` on a thread of its own.

The browser tests drive Chromium through Playwright's sync API, which keeps an event loop running
on the main thread for the whole session; ``asyncio.run`` there raises "cannot be called from a
running event loop". Async clients in the tests (the ``wyoming`` library's) run here instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_async(coro: Coroutine[Any, Any, T], timeout: float = 300.0) -> T:
    with ThreadPoolExecutor(1, thread_name_prefix="asyncio") as pool:
        return pool.submit(asyncio.run, coro).result(timeout)

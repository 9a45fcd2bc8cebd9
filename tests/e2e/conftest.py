"""Fixtures for the kiosk e2e tests: a broker with its WebSocket listener up, the page server and
headless Debian Chromium. A missing browser fails the tests with the install command."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kiosk_driver import INSTALL_HINT, Browser, Kiosk, wait_port
from synthetic import SyntheticNode

from avatar_node.web.server import WebServer


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """Playwright driving Debian's /usr/bin/chromium; fails (never skips) when either is missing."""
    try:
        browser = Browser()
    except RuntimeError:
        pytest.fail(INSTALL_HINT)
    yield browser
    browser.close()


@pytest.fixture
def ws_broker(broker: Any) -> Any:
    """The session broker once its WebSocket listener accepts (it opens after the TCP one)."""
    if broker.proc is None or broker.proc.poll() is not None:
        broker.start()
    wait_port(broker.ws_port)
    return broker


@pytest.fixture
def open_kiosk(chromium: Browser, ws_broker: Any, prefix: str) -> Iterator[Callable[..., Kiosk]]:
    """Opens the kiosk page for this test's prefix: ``open_kiosk(query="", args=None)``."""
    opened: list[Kiosk] = []
    web = WebServer("127.0.0.1", 0, {
        "ws": f"ws://127.0.0.1:{ws_broker.ws_port}", "channel": "default", "prefix": prefix,
    })  # fmt: skip
    web.start()

    def _open(query: str = "", args: list[str] | None = None, ready: bool = True) -> Kiosk:
        k = chromium.kiosk(web.url + query, args=args)
        opened.append(k)
        if ready:
            k.wait_for("k.connected", 15, "the page to connect to the broker")
        return k

    try:
        yield _open
    finally:
        for k in opened:
            k.close()
        web.stop()


@pytest.fixture
def synth(ws_broker: Any, prefix: str) -> Iterator[SyntheticNode]:
    """A synthetic node on this test's prefix, its retained avatar already published."""
    node = SyntheticNode("127.0.0.1", ws_broker.port, prefix)
    node.avatar()
    yield node
    node.close()

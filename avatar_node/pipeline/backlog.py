"""Frames first: the speech stage waits for the video stage before it vocodes more.

On a 2-core machine the speech stage's next decode (and the next sentence's latent) take both
cores the moment a window has gone out, while the video stage draws that window's frames. The
frames then come 60-140 ms after their audio, although drawing them alone takes about 15 ms
(measured over TCP on the bundled voice and portrait), and a display cannot start before it has
them. The audio of the next window is not needed until the display has played this one, so the
speech stage first lets the video stage catch up: it waits until every segment it has handed over
is drawn, or the video stage is pacing itself against the playback clock (it is ahead), or
``max_wait_s`` has passed (a slow engine never holds the voice back for long).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator


class VideoBacklog:
    """Audio segments handed to the video stage whose frames are not all drawn yet."""

    def __init__(self, max_wait_s: float = 0.25) -> None:
        self.max_wait_s = max_wait_s
        self._cond = threading.Condition()
        self._pending = 0
        self._pacing = False

    def added(self) -> None:
        """The speech stage handed over one segment."""
        with self._cond:
            self._pending += 1

    def drawn(self) -> None:
        """The video stage is done with one segment (sent, cancelled or failed)."""
        with self._cond:
            self._pending = max(0, self._pending - 1)
            self._cond.notify_all()

    @contextlib.contextmanager
    def pacing(self) -> Iterator[None]:
        """The video stage waits for the playback clock: it is ahead, nothing to catch up."""
        with self._cond:
            self._pacing = True
            self._cond.notify_all()
        try:
            yield
        finally:
            with self._cond:
                self._pacing = False

    def caught_up(self) -> bool:
        return self._pending == 0 or self._pacing

    def wait(self, cancelled: Callable[[], bool] = lambda: False) -> float:
        """Block until the video stage has caught up (or ``max_wait_s``); the seconds waited."""
        t0 = time.monotonic()
        deadline = t0 + self.max_wait_s
        with self._cond:
            while not self.caught_up() and not cancelled():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(min(left, 0.05))
        return time.monotonic() - t0

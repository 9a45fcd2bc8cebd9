"""The idle animator: one thread per node that keeps the faces of silent channels alive.

For every channel that is not speaking it renders :meth:`Life.idle_frame` on the life clock,
JPEG-encodes it only when the frame differs from the last one it sent (:meth:`Life.key`), and
hands it to ``emit(channel, pts_ms, jpeg)`` (the node wires that to ``PipelineSink.idle``). It
wakes at the life's ``idle_fps`` ticks and, on top of them, at the closed and reopened frames of
each blink, so a low idle rate still shows every blink. The first frame after speech (or after
an avatar change) is always sent, so a display returns to the resting face.

The life clock is ``clock()`` in seconds (``time.monotonic`` by default), and ``pts_ms`` is that
clock in milliseconds. The video stage uses the same clock for the blinks during speech: frame
``seq`` of an utterance plays at ``utt.clock_start + seq / fps``, so it calls
``life.apply(img, utt.clock_start + seq / fps, seq)`` and blinks never double up or vanish at the
switch between speech and idle.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..lipsync.avatar_data import Avatar
from ..lipsync.life import Life
from ..log import get_logger
from ..media.jpeg import encode_jpeg

log = get_logger(__name__)

Emit = Callable[[str, float, bytes], None]
MIN_WAIT_S = 0.005  # never spin: at least this long between two passes


@dataclass
class _Track:
    life: Life | None = None
    key: tuple[float, ...] | None = None
    sent: int = 0


class IdleAnimator:
    """Renders and emits idle frames for the channels that are not speaking.

    ``channels`` is the list of channel names or a callable returning it; ``is_speaking(name)``
    says whether the channel's speech owns the display; ``life_for(name)`` gives the channel's
    :class:`Life` (None: no avatar, nothing to send). ``step`` does one pass and is what the
    thread runs; tests drive it with their own clock.
    """

    def __init__(
        self,
        channels: Iterable[str] | Callable[[], Iterable[str]],
        is_speaking: Callable[[str], bool],
        life_for: Callable[[str], Life | None],
        emit: Emit,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._channels = channels if callable(channels) else tuple(channels)
        self.is_speaking = is_speaking
        self.life_for = life_for
        self.emit = emit
        self.clock = clock
        self._tracks: dict[str, _Track] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def channels(self) -> tuple[str, ...]:
        ch = self._channels
        return tuple(ch() if callable(ch) else ch)

    # ---- one pass ----
    def step(self, now: float) -> float:
        """Send what changed at ``now`` (life-clock seconds); return when to look again."""
        due = now + 1.0
        for name in self.channels():
            track = self._tracks.setdefault(name, _Track())
            try:
                life = None if self.is_speaking(name) else self.life_for(name)
                if life is None:  # speaking or no avatar: the next idle frame is sent anyway
                    track.life, track.key = None, None
                    continue
                key = life.key(now)
                if life is not track.life or key != track.key:
                    frame = life.idle_frame(now)
                    jpeg = encode_jpeg(frame, int(life.avatar.jpeg_quality))
                    track.life, track.key = life, key
                    track.sent += 1
                    self.emit(name, round(now * 1000.0, 3), jpeg)
                due = min(due, next_change(life, now))
            except Exception:  # one channel's failure never stops the others
                log.exception("idle frame failed", channel=name)
                track.life, track.key = None, None
        return due

    def sent(self, channel: str) -> int:
        """How many idle frames ``channel`` has been sent."""
        track = self._tracks.get(channel)
        return track.sent if track else 0

    # ---- the thread ----
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="idle-life", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        """Look again now (e.g. a channel stopped speaking or changed its avatar)."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            due = self.step(self.clock())
            wait = max(MIN_WAIT_S, due - self.clock())
            self._wake.wait(wait)
            self._wake.clear()


class Lives:
    """The :class:`Life` of each channel's avatar: one per (channel, avatar), made on first use,
    so the idle animator and the video stage of a channel share one blink schedule."""

    def __init__(self, blink: bool = True, idle_motion: bool = True) -> None:
        self.blink, self.idle_motion = blink, idle_motion
        self._lives: dict[str, Life] = {}
        self._lock = threading.Lock()

    def get(self, channel: str, avatar: Avatar) -> Life:
        with self._lock:
            life = self._lives.get(channel)
            if life is None or life.avatar is not avatar:  # a new avatar: a new face to animate
                life = Life(avatar, blink=self.blink, idle_motion=self.idle_motion)
                self._lives[channel] = life
            return life


def next_change(life: Life, now: float) -> float:
    """The next idle tick after ``now`` or, if sooner, the next closed or reopened blink frame."""
    tick = 1.0 / max(life.idle_fps, 0.1)
    due = now + tick
    if life.blink:
        for start, dur in life.blinks(now - 1.0, due):
            for t in (start + 0.4 * dur, start + dur):
                if now + 1e-4 < t < due:
                    due = t
    return due


__all__ = ["IdleAnimator", "Lives", "next_change"]

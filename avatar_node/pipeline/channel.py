"""A channel's queue of utterances: bounded, by priority (FIFO within one), with cancellation.

Modes: ``queue`` waits its turn; ``interrupt`` cancels the current utterance and goes first, keeping
the queue; ``replace`` cancels the current one and empties the queue. Control actions run on the
caller's thread and only set flags, so they overtake any data in flight.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import QueueFull
from .items import AudioSource, EventKind, Mode, PipelineEvent
from .splitter import SentenceCutter, split_sentences

if TYPE_CHECKING:
    from .cache import Recording
    from .sink import PipelineSink


class SentenceSource:
    """The sentences of one utterance: fixed (a whole text) or growing (``say/stream``)."""

    def __init__(
        self,
        text: str = "",
        *,
        streaming: bool = False,
        max_chars: int = 160,
        first_max_chars: int = 80,
        idle_timeout_s: float = 10.0,
    ):
        self._cond = threading.Condition()
        self._pending: list[str] = []
        self._finished = not streaming
        self._cutter = SentenceCutter(max_chars, first_max_chars) if streaming else None
        self.idle_timeout_s = idle_timeout_s
        self._last_activity = time.monotonic()
        self.text = text
        if not streaming:
            self._pending = split_sentences(text, max_chars, first_max_chars)

    @property
    def streaming(self) -> bool:
        return self._cutter is not None

    def push(self, delta: str, final: bool = False) -> None:
        """Append streamed text (ignored once the stream is finished)."""
        with self._cond:
            if self._finished or self._cutter is None:
                return
            self.text += delta
            self._pending.extend(self._cutter.feed(delta))
            if final:
                self._pending.extend(self._cutter.flush())
                self._finished = True
            self._last_activity = time.monotonic()
            self._cond.notify_all()

    def finish(self) -> None:
        with self._cond:
            if self._cutter is not None and not self._finished:
                self._pending.extend(self._cutter.flush())
            self._finished = True
            self._cond.notify_all()

    def next(self, cancelled: threading.Event) -> str | None:
        """The next sentence; None when the source is exhausted (or cancelled)."""
        with self._cond:
            while True:
                if cancelled.is_set():
                    return None
                if self._pending:
                    return self._pending.pop(0)
                if self._finished:
                    return None
                idle = time.monotonic() - self._last_activity
                if idle >= self.idle_timeout_s:
                    if self._cutter is not None:
                        self._pending.extend(self._cutter.flush())
                    self._finished = True
                    continue
                self._cond.wait(min(0.1, self.idle_timeout_s - idle))

    def poll(self) -> str | None:
        """The next sentence if one is already there, without waiting (None otherwise)."""
        with self._cond:
            return self._pending.pop(0) if self._pending else None

    def exhausted(self) -> bool:
        """True when no further sentence can come (known now, without waiting)."""
        with self._cond:
            return self._finished and not self._pending


@dataclass(eq=False)
class Utterance:
    """One accepted request, from queue to its end event."""

    id: str
    channel: str
    source: SentenceSource
    voice: str
    avatar: str
    speaker: str | int | None = None
    language: str | None = None
    speed: float = 1.0
    mode: Mode = Mode.QUEUE
    priority: int = 5
    meta: dict[str, Any] | None = None
    gain: float = 1.0
    """Linear gain applied to the audio (Hermes ``volume``)."""
    received: float = field(default_factory=time.monotonic)
    cancel: threading.Event = field(default_factory=threading.Event)
    on_end: list[Callable[[Utterance, str], None]] = field(default_factory=list)
    """Called once with the end type (finished / cancelled / error)."""
    clock_start: float | None = None
    """Monotonic time its first audio chunk went out: the playback clock's zero, roughly."""
    recording: Recording | None = None
    """A phrase-cache recording while a cacheable utterance renders."""
    cache_key: tuple[object, ...] | None = None
    audio: AudioSource | None = None
    """Ready-made audio to lip-sync (``play``): nothing is synthesized."""
    sinks: tuple[PipelineSink, ...] = ()
    """The request's own sinks (a Wyoming client), besides the channel's."""

    def event(
        self,
        kind: EventKind,
        code: str | None = None,
        message: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> PipelineEvent:
        """An event of this utterance (its id, channel and meta)."""
        return PipelineEvent(self.channel, kind, self.id, code, message, self.meta, detail)

    def stop_input(self) -> None:
        """Cancel and end whatever still feeds this utterance (its text or audio stream)."""
        self.cancel.set()
        self.source.finish()
        if self.audio is not None:
            self.audio.finish()


class ChannelQueue:
    """Bounded priority queue plus the utterance being spoken."""

    def __init__(
        self,
        name: str,
        depth: int,
        on_cancelled: Callable[[Utterance], None],
        on_queued: Callable[[Utterance], None],
    ):
        self.name = name
        self.depth = depth
        self._on_cancelled = on_cancelled
        self._on_queued = on_queued
        self._heap: list[tuple[int, int, Utterance]] = []
        self._order = itertools.count()
        self._front = itertools.count(-1, -1)
        self._cond = threading.Condition()
        self.current: Utterance | None = None
        self._closed = False

    def __len__(self) -> int:
        with self._cond:
            return len(self._heap)

    def submit(self, utt: Utterance) -> None:
        """Queue ``utt`` according to its mode; raises :class:`QueueFull`."""
        dropped: list[Utterance] = []
        with self._cond:
            if utt.mode == "replace":
                dropped = [u for _, _, u in self._heap]
                self._heap.clear()
            elif len(self._heap) >= self.depth:
                raise QueueFull(f"channel {self.name!r} already has {self.depth} requests queued")
            if utt.mode in ("interrupt", "replace"):
                # Ahead of everything, whatever its priority.
                key = (-10, next(self._front))
                if self.current is not None:
                    self.current.cancel.set()
            else:
                key = (-utt.priority, next(self._order))
            # Announce before the worker can see it, so `queued` always precedes `started`.
            self._on_queued(utt)
            heapq.heappush(self._heap, (*key, utt))
            self._cond.notify_all()
        for u in dropped:
            u.cancel.set()
            self._on_cancelled(u)

    def take(self, timeout: float | None = None) -> Utterance | None:
        """Block until an utterance is due (it becomes ``current``); None on close or timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._heap:
                if self._closed:
                    return None
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(remaining)
            _, _, utt = heapq.heappop(self._heap)
            self.current = utt
            return utt

    def done(self, utt: Utterance) -> None:
        with self._cond:
            if self.current is utt:
                self.current = None

    def stop(self, utt_id: str | None) -> bool:
        """Cancel one utterance (queued or current) or, without id, the current one."""
        removed = None
        with self._cond:
            if utt_id is None or (self.current is not None and self.current.id == utt_id):
                if self.current is None:
                    return False
                self.current.stop_input()
                return True
            for i, (_, _, u) in enumerate(self._heap):
                if u.id == utt_id:
                    removed = u
                    del self._heap[i]
                    heapq.heapify(self._heap)
                    break
        if removed is None:
            return False
        removed.cancel.set()
        self._on_cancelled(removed)
        return True

    def clear(self) -> int:
        """Drop everything queued (not the current utterance)."""
        with self._cond:
            dropped = [u for _, _, u in self._heap]
            self._heap.clear()
        for u in dropped:
            u.cancel.set()
            self._on_cancelled(u)
        return len(dropped)

    def find(self, utt_id: str) -> Utterance | None:
        with self._cond:
            if self.current is not None and self.current.id == utt_id:
                return self.current
            return next((u for _, _, u in self._heap if u.id == utt_id), None)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            if self.current is not None:
                self.current.cancel.set()
            self._cond.notify_all()

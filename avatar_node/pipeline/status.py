"""What a channel's retained state says: who speaks, how long the queue is, the last figures."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from .items import ChannelMetrics, ChannelView


@dataclass
class ChannelStatus:
    """A channel's live status; :meth:`view` is a consistent snapshot of it."""

    channel: str
    voices: Sequence[str]
    avatars: Sequence[str]
    fps: float
    queued: Callable[[], int]
    current_id: Callable[[], str | None] = lambda: None
    """The id of the utterance being spoken and shown (at most one per channel): the runner's."""
    metrics: ChannelMetrics = field(default_factory=ChannelMetrics)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def current(self) -> str | None:
        return self.current_id()

    def view(self) -> ChannelView:
        with self.lock:
            current = self.current_id()
            return ChannelView(
                channel=self.channel,
                speaking=current is not None,
                current=current,
                queued=self.queued(),
                voices=tuple(self.voices),
                avatars=tuple(self.avatars),
                fps=self.fps,
                metrics=replace(self.metrics),
            )

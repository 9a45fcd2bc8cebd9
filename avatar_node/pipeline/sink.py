"""The pipeline's only way out: a :class:`PipelineSink` per door, and a fan-out over them.

A channel has its doors' sinks (the MQTT adapter, a web feed, a test's memory sink); a request may
add its own (a Wyoming client waiting for its audio). Sinks are called on the pipeline's threads and
must not block for long: they hand the data to their transport and return.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from ..log import get_logger
from .items import AudioOut, AvatarOut, ChannelView, FrameOut, PipelineEvent

log = get_logger(__name__)


class PipelineSink(Protocol):
    def event(self, event: PipelineEvent) -> None:
        """queued / started / sentence / finished / cancelled / error / rejected."""
        ...

    def audio(self, chunk: AudioOut, wav: bytes) -> None:
        """An audio chunk: ``wav`` is a complete RIFF/WAVE file."""
        ...

    def frame(self, frame: FrameOut, jpeg: bytes) -> None:
        """A video frame, on time (the pipeline paces frames to the audio clock)."""
        ...

    def state(self, view: ChannelView) -> None:
        """The channel's state changed (idle / speaking, queue length, metrics)."""
        ...

    def avatar(self, info: AvatarOut, idle_jpeg: bytes) -> None:
        """The channel's avatar (on connect and when it changes)."""
        ...

    def idle(self, frame: FrameOut, jpeg: bytes) -> None:
        """An idle frame (blinks, breathing) while the channel is not speaking (id ``idle``)."""
        ...


class NullSink:
    """Accepts everything, keeps nothing (a base for sinks that want only some calls)."""

    def event(self, event: PipelineEvent) -> None:
        return None

    def audio(self, chunk: AudioOut, wav: bytes) -> None:
        return None

    def frame(self, frame: FrameOut, jpeg: bytes) -> None:
        return None

    def state(self, view: ChannelView) -> None:
        return None

    def avatar(self, info: AvatarOut, idle_jpeg: bytes) -> None:
        return None

    def idle(self, frame: FrameOut, jpeg: bytes) -> None:
        return None


class Outlets:
    """Fans every call out to the channel sinks plus a request's own; one failing sink is logged
    and never stops the others or the pipeline."""

    def __init__(self, sinks: Iterable[PipelineSink] = ()):
        self.sinks: list[PipelineSink] = list(sinks)

    def add(self, sink: PipelineSink) -> None:
        self.sinks.append(sink)

    def _call(
        self, name: str, args: tuple[object, ...], extra: Iterable[PipelineSink] = ()
    ) -> None:
        for sink in [*self.sinks, *extra]:
            try:
                getattr(sink, name)(*args)
            except Exception:
                log.exception("sink failed", call=name)

    def event(self, event: PipelineEvent, extra: Iterable[PipelineSink] = ()) -> None:
        self._call("event", (event,), extra)

    def audio(self, chunk: AudioOut, wav: bytes, extra: Iterable[PipelineSink] = ()) -> None:
        self._call("audio", (chunk, wav), extra)

    def frame(self, frame: FrameOut, jpeg: bytes, extra: Iterable[PipelineSink] = ()) -> None:
        self._call("frame", (frame, jpeg), extra)

    def state(self, view: ChannelView) -> None:
        self._call("state", (view,))

    def avatar(self, info: AvatarOut, idle_jpeg: bytes) -> None:
        self._call("avatar", (info, idle_jpeg))

    def idle(self, frame: FrameOut, jpeg: bytes) -> None:
        self._call("idle", (frame, jpeg))

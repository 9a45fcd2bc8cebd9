"""From the pipeline's threads to one Wyoming connection's event loop, and PCM for the wire.

A :class:`RequestSink` is added to the command a Wyoming request submits: the pipeline calls it on
its own threads, and it hands that utterance's audio chunks and its end to the connection's
asyncio loop without blocking. :func:`wyoming_pcm` turns a chunk's WAV into what a Wyoming
``audio-chunk`` carries: signed 16-bit PCM in the chunk's own rate and channels.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from ..log import get_logger
from ..media.pcm import PcmFormat, float_to_s16, parse_wav, to_float_mono
from ..pipeline.items import END_KINDS, AudioOut, PipelineEvent, SayCommand
from ..pipeline.sink import NullSink

log = get_logger(__name__)

SAMPLES_PER_CHUNK = 1024
"""Frames per Wyoming ``audio-chunk`` (what wyoming-piper sends)."""


class WyomingPipeline(Protocol):
    """What the Wyoming door needs of the pipeline."""

    voices: Any
    """The voice registry (names, loaded voices, load failures)."""

    def submit(self, cmd: Any) -> Any: ...

    def push(self, cmd: SayCommand, final: bool) -> Any: ...

    def stop(self, channel: str, id: str | None) -> bool: ...


@dataclass(frozen=True)
class Audio:
    chunk: AudioOut
    wav: bytes


class RequestSink(NullSink):
    """One utterance's audio and end, queued for a coroutine on ``loop``."""

    def __init__(self, loop: asyncio.AbstractEventLoop, utterance_id: str):
        self.loop = loop
        self.id = utterance_id
        self.queue: asyncio.Queue[Audio | PipelineEvent] = asyncio.Queue()

    def _put(self, item: Audio | PipelineEvent) -> None:
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)
        except RuntimeError:  # the connection's loop is gone (server stopping)
            log.debug("wyoming request sink: loop closed", id=self.id)

    def event(self, event: PipelineEvent) -> None:
        if event.id == self.id and event.kind in END_KINDS:
            self._put(event)

    def audio(self, chunk: AudioOut, wav: bytes) -> None:
        if chunk.id == self.id:
            self._put(Audio(chunk, wav))

    async def get(self) -> Audio | PipelineEvent:
        return await self.queue.get()


def wyoming_pcm(wav: bytes) -> tuple[PcmFormat, bytes]:
    """(format, 16-bit PCM bytes) of a WAV file; other sample formats are converted to 16-bit."""
    data = parse_wav(wav)
    if data.fmt.sample_format == "pcm_s16le":
        return data.fmt, data.pcm
    fmt = PcmFormat(data.fmt.rate, 2, 1)
    return fmt, float_to_s16(to_float_mono(data.pcm, data.fmt))


def split_frames(pcm: bytes, fmt: PcmFormat, frames: int = SAMPLES_PER_CHUNK) -> Iterator[bytes]:
    step = frames * fmt.frame_bytes
    for i in range(0, len(pcm), step):
        yield pcm[i : i + step]


def say_command(channel: str, id: str, sink: RequestSink, **fields: Any) -> SayCommand:
    return SayCommand(channel=channel, id=id, sinks=(sink,), **fields)

"""The Wyoming ``snd`` service: audio a satellite would play is lip-synced and published instead.

``audio-start`` queues a :class:`PlayCommand` fed by a stream; ``audio-chunk`` feeds it (lip sync
starts with the first ~200 ms); ``audio-stop`` ends it, and once the pipeline has published the
whole utterance (paced to the audio clock) the client gets ``played``.
"""

from __future__ import annotations

import asyncio
import uuid

from wyoming.audio import AudioChunk, AudioStart
from wyoming.snd import Played

from ..errors import AvatarError
from ..log import get_logger
from ..media.pcm import PcmFormat
from ..pipeline.audio_in import StreamSource
from ..pipeline.items import EventKind, Mode, PipelineEvent, PlayCommand
from .bridge import RequestSink, WyomingPipeline
from .settings import WyomingSettings
from .speak import Write, send_error

log = get_logger(__name__)


class Playback:
    """One ``audio-start`` ... ``audio-stop`` of a ``snd`` client."""

    def __init__(self, pipeline: WyomingPipeline, settings: WyomingSettings, write: Write):
        self.pipeline = pipeline
        self.settings = settings
        self.write = write
        self.id = "wy-snd-" + uuid.uuid4().hex[:12]
        self.channel = settings.channel
        self.source: StreamSource | None = None
        self.sink: RequestSink | None = None
        self.done = False

    async def start(self, start: AudioStart) -> None:
        try:
            PcmFormat(start.rate, start.width, start.channels).checked()
            self.sink = RequestSink(asyncio.get_running_loop(), self.id)
            source = StreamSource(idle_timeout_s=self.settings.idle_timeout_s)
            self.pipeline.submit(
                PlayCommand(
                    channel=self.channel,
                    id=self.id,
                    audio=source,
                    sinks=(self.sink,),
                    mode=Mode(self.settings.mode),
                    priority=self.settings.priority,
                    meta={"door": "wyoming-snd"},
                )
            )
            self.source = source
        except AvatarError as exc:
            self.done = True
            await send_error(self.write, exc)

    def chunk(self, chunk: AudioChunk) -> None:
        if self.source is None:
            return
        try:
            fmt = PcmFormat(chunk.rate, chunk.width, chunk.channels).checked()
        except AvatarError as exc:
            log.warning("snd chunk in an unsupported format; dropped", error=exc.message)
            return
        self.source.push(chunk.audio, fmt)

    async def stop(self) -> None:
        """The audio is complete: wait until it has been shown, then answer ``played``."""
        if self.source is None or self.sink is None:
            return
        self.source.finish()
        end: PipelineEvent | None = None
        while end is None:
            item = await self.sink.get()
            if isinstance(item, PipelineEvent):
                end = item
        self.done = True
        if end.kind == EventKind.ERROR:
            await send_error(self.write, AvatarError(end.message or "error", code=end.code))
        else:
            await self.write(Played().event())

    def cancel(self) -> None:
        if not self.done:
            self.done = True
            if self.source is not None:
                self.source.finish()
            self.pipeline.stop(self.channel, self.id)

"""The upstream proxy: another Wyoming TTS speaks, we pass its audio back and give it the face.

Every TTS event of the client (``synthesize``, the streaming trio) goes to ``upstream_tts`` as is;
every event the upstream answers goes back to the client as is (its audio bytes untouched), and
its audio is fed to a :class:`~avatar_node.pipeline.audio_in.StreamSource` that one
:class:`PlayCommand` lip-syncs on the mapped channel while the client hears it.
"""

from __future__ import annotations

import asyncio
import uuid
from urllib.parse import urlparse

from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Describe, Info
from wyoming.tts import Synthesize, SynthesizeStopped

from ..errors import AvatarError, EngineError
from ..log import get_logger
from ..media.pcm import PcmFormat
from ..pipeline.audio_in import StreamSource
from ..pipeline.items import Mode, PlayCommand
from .bridge import WyomingPipeline
from .settings import WyomingSettings
from .speak import Write

log = get_logger(__name__)


def _client(settings: WyomingSettings) -> AsyncTcpClient:
    url = urlparse(settings.upstream_tts or "")
    assert url.hostname is not None and url.port is not None
    return AsyncTcpClient(
        url.hostname,
        url.port,
        connect_timeout=settings.connect_timeout_s,
        read_timeout=settings.idle_timeout_s,
    )


async def upstream_info(settings: WyomingSettings) -> Info:
    """The upstream's own ``info`` (its voices are the ones we offer)."""
    try:
        async with _client(settings) as client:
            await client.write_event(Describe().event())
            while True:
                event = await client.read_event()
                if event is None:
                    raise EngineError(f"upstream TTS {settings.upstream_tts} closed the connection")
                if Info.is_type(event.type):
                    return Info.from_event(event)
    except (OSError, asyncio.TimeoutError) as exc:
        raise EngineError(f"upstream TTS {settings.upstream_tts} is unreachable: {exc}") from exc


class Relay:
    """One TTS request proxied to the upstream, lip-synced here."""

    def __init__(
        self, pipeline: WyomingPipeline, settings: WyomingSettings, write: Write, *, streaming: bool
    ):
        self.pipeline = pipeline
        self.settings = settings
        self.write = write
        self.streaming = streaming
        self.id = "wy-" + uuid.uuid4().hex[:16]
        self.channel = settings.channel
        self.source: StreamSource | None = None
        self.client: AsyncTcpClient | None = None
        self.done = False
        self.failed = False
        """The upstream answered an ``error`` (passed on; the connection is then closed)."""

    async def open(self, text: str = "") -> None:
        """Connect to the upstream and queue the lip sync of its answer."""
        self.client = _client(self.settings)
        try:
            await self.client.connect()
        except (OSError, asyncio.TimeoutError) as exc:
            raise EngineError(
                f"upstream TTS {self.settings.upstream_tts} is unreachable: {exc}"
            ) from exc
        source = StreamSource(text, idle_timeout_s=self.settings.idle_timeout_s)
        cmd = PlayCommand(
            channel=self.channel,
            id=self.id,
            audio=source,
            mode=Mode(self.settings.mode),
            priority=self.settings.priority,
            meta={"door": "wyoming", "upstream": True},
        )
        try:
            self.pipeline.submit(cmd)
            self.source = source
        except AvatarError as exc:  # the client still hears the upstream; only the face is lost
            log.warning("upstream audio not lip-synced", id=self.id, error=exc.message)

    async def forward(self, event: Event) -> None:
        if self.client is None:  # the upstream already answered (or failed)
            return
        if self.source is not None and Synthesize.is_type(event.type) and not self.source.text:
            self.source.text = Synthesize.from_event(event).text
        await self.client.write_event(event)

    async def run(self) -> None:
        """Pass the upstream's answer back until its end (``audio-stop`` for ``synthesize``,
        ``synthesize-stopped`` for a stream, or an ``error``)."""
        assert self.client is not None
        fmt: PcmFormat | None = None
        try:
            while True:
                try:
                    event = await self.client.read_event()
                except asyncio.TimeoutError:
                    raise EngineError(
                        f"upstream TTS sent nothing for {self.settings.idle_timeout_s} s"
                    ) from None
                if event is None:
                    raise EngineError("upstream TTS closed the connection mid-answer")
                await self.write(event)  # unchanged, audio bytes and all
                if AudioStart.is_type(event.type):
                    fmt = self._format(AudioStart.from_event(event))
                elif AudioChunk.is_type(event.type):
                    chunk = AudioChunk.from_event(event)
                    if fmt is None:
                        fmt = self._format(chunk)
                    if fmt is not None and self.source is not None:
                        self.source.push(chunk.audio, fmt)
                elif Error.is_type(event.type):
                    self.failed = True
                    break
                elif (AudioStop.is_type(event.type) and not self.streaming) or (
                    SynthesizeStopped.is_type(event.type)
                ):
                    break
        finally:
            self.done = True
            if self.source is not None:
                self.source.finish()
            await self.close()

    def _format(self, audio: AudioStart | AudioChunk) -> PcmFormat | None:
        try:
            return PcmFormat(audio.rate, audio.width, audio.channels).checked()
        except AvatarError as exc:
            log.warning("upstream audio format cannot be lip-synced", error=exc.message)
            return None

    def cancel(self) -> None:
        """The client went away: stop the lip sync (the upstream connection is closed)."""
        if not self.done:
            self.done = True
            if self.source is not None:
                self.source.finish()
            self.pipeline.stop(self.channel, self.id)

    async def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            try:
                await client.disconnect()
            except OSError:
                pass

"""One Wyoming TTS request spoken by our own voices: a :class:`SayCommand` whose audio goes back.

``synthesize`` (legacy) answers one ``audio-start`` / ``audio-chunk``... / ``audio-stop`` block.
A stream (``synthesize-start`` / ``-chunk`` / ``-stop``) answers one block per sentence as soon as
each is spoken (a first sentence sent in decoder windows is still one block), all in the voice's
one format, then ``synthesize-stopped``. The same utterance is
lip-synced and published on the mapped channel by the pipeline while the client hears it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event
from wyoming.tts import SynthesizeStopped, SynthesizeVoice

from ..errors import AvatarError, EngineError
from ..log import get_logger
from ..pipeline.items import EventKind, Mode, PipelineEvent
from .bridge import Audio, RequestSink, WyomingPipeline, say_command, split_frames, wyoming_pcm
from .settings import WyomingSettings

log = get_logger(__name__)

Write = Callable[[Event], Awaitable[None]]


def pick_voice(registry: Any, voice: SynthesizeVoice | None) -> tuple[str | None, Any]:
    """(voice name or None for the node default, speaker) for a Wyoming voice request.

    A name is passed on as is (an unknown one is the pipeline's ``unknown_voice``); a language
    alone picks the first voice that speaks it, else the default."""
    if voice is None:
        return None, None
    speaker: Any = voice.speaker
    if isinstance(speaker, str) and speaker.isdigit():
        loaded = getattr(registry, "voices", {}).get(voice.name or "")
        names = getattr(getattr(loaded, "voice", None), "speakers", {}) or {}
        speaker = speaker if speaker in names else int(speaker)
    if voice.name:
        return voice.name, speaker
    if voice.language:
        want = voice.language.replace("-", "_")
        for exact in (True, False):  # en_US for en_US first, then any en_* for en or en_GB
            for name, loaded in getattr(registry, "voices", {}).items():
                for lang in getattr(loaded.voice, "languages", []):
                    if lang == want or (not exact and lang.split("_")[0] == want.split("_")[0]):
                        return name, speaker
    return None, speaker


class Speech:
    """A request on our voices, from submit to its last Wyoming event."""

    def __init__(
        self,
        pipeline: WyomingPipeline,
        settings: WyomingSettings,
        write: Write,
        *,
        streaming: bool,
        voice: SynthesizeVoice | None,
        default_voice: str = "default",
    ):
        self.default_voice = default_voice
        self.pipeline = pipeline
        self.settings = settings
        self.write = write
        self.streaming = streaming
        self.voice = voice
        self.id = "wy-" + uuid.uuid4().hex[:16]
        self.channel = settings.channel
        self.sink: RequestSink | None = None
        self.done = False
        self.failed = False
        """The answer ended with a Wyoming ``error`` (the connection is then closed)."""
        self.rate: int | None = None
        """The voice's rate: every block of the answer has it."""

    def submit(self, text: str = "") -> None:
        """Queue the utterance (raises the pipeline's AvatarError before anything is queued)."""
        self.sink = RequestSink(asyncio.get_running_loop(), self.id)
        name, speaker = pick_voice(self.pipeline.voices, self.voice)
        cmd = say_command(
            self.channel,
            self.id,
            self.sink,
            voice=name,
            speaker=speaker,
            text=text,
            streaming=self.streaming,
            idle_timeout_s=self.settings.idle_timeout_s,  # HA's text may pause (LLM, tools)
            mode=Mode(self.settings.mode),
            priority=self.settings.priority,
            meta={"door": "wyoming"},
        )
        self.pipeline.submit(cmd)
        log.info("wyoming request queued", id=self.id, streaming=self.streaming)

    def push(self, text: str, final: bool = False) -> None:
        """Append streamed text (``final``: the stream's end)."""
        if not self.done and self.sink is not None:
            self.pipeline.push(
                say_command(self.channel, self.id, self.sink, text=text, streaming=True), final
            )

    def cancel(self) -> None:
        """The client went away: stop the utterance (playing or queued)."""
        if not self.done:
            self.done = True
            self.pipeline.stop(self.channel, self.id)
            log.info("wyoming client gone; utterance cancelled", id=self.id)

    async def run(self) -> None:
        """Answer the client until the utterance ends."""
        assert self.sink is not None
        block_open = False
        while True:
            item = await self.sink.get()
            if isinstance(item, Audio):
                if item.chunk.duration_ms <= 0:
                    continue  # the empty closing chunk of a stream
                if not block_open:
                    block_open = await self._start_block(item)
                await self._write_audio(item)
                if self.streaming and item.chunk.sentence_end:  # a block per sentence
                    await self.write(AudioStop().event())
                    block_open = False
                continue
            await self._end(item, block_open)
            return

    async def _start_block(self, item: Audio) -> bool:
        fmt, _ = wyoming_pcm(item.wav)
        if self.rate is None:
            self.rate = fmt.rate
        elif fmt.rate != self.rate:  # one voice per request: cannot happen; say so if it does
            raise EngineError(f"voice changed its rate from {self.rate} to {fmt.rate} Hz")
        await self.write(AudioStart(rate=fmt.rate, width=2, channels=fmt.channels).event())
        return True

    async def _write_audio(self, item: Audio) -> None:
        fmt, pcm = wyoming_pcm(item.wav)
        for part in split_frames(pcm, fmt):
            await self.write(
                AudioChunk(rate=fmt.rate, width=2, channels=fmt.channels, audio=part).event()
            )

    async def _end(self, end: PipelineEvent, block_open: bool) -> None:
        self.done = True
        if end.kind == EventKind.ERROR:
            self.failed = True
            await self.write(Error(text=end.message or "error", code=end.code).event())
            return
        # finished, or cancelled on the channel (stop / replace): the client keeps what it heard
        if not self.streaming:
            if not block_open:  # nothing was said: still one (empty) block
                rate = self.rate or self._voice_rate()
                await self.write(AudioStart(rate=rate, width=2, channels=1).event())
            await self.write(AudioStop().event())
        else:
            if block_open:  # cut short inside a sentence
                await self.write(AudioStop().event())
            await self.write(SynthesizeStopped().event())
        log.info("wyoming request answered", id=self.id, end=str(end.kind))

    def _voice_rate(self) -> int:
        registry = self.pipeline.voices
        name, _ = pick_voice(registry, self.voice)
        loaded = getattr(registry, "voices", {})
        chosen = loaded.get(name or self.default_voice)
        return int(getattr(getattr(chosen, "voice", None), "sample_rate", 22050))


async def send_error(write: Write, exc: BaseException) -> None:
    text, code = (exc.message, exc.code) if isinstance(exc, AvatarError) else (str(exc), None)
    await write(Error(text=text, code=code or "engine_error").event())

"""The two stages of a channel, each on its own thread.

TTS stage: takes utterances from the channel queue, synthesises sentence after sentence, publishes
each :class:`AudioChunk` at once and hands the same float array to the frame stage.
Frame stage: lip sync against the utterance's avatar, JPEG encoding, :class:`VideoFrame` publishing,
then the utterance's end event. TTS of sentence k+1 overlaps lip sync of sentence k; the queue
between them is bounded (the TTS stage waits when lip sync falls behind).
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass

import numpy as np
import structlog

from ..errors import AvatarError
from ..log import get_logger
from ..media.alignment import Phone, shift
from ..media.wav import wav_base64
from ..memory import release_memory
from ..messages import AudioChunk, PhoneSpan
from ..tts.synthesis import Synthesis, SynthesisOptions
from .cache import CachedChunk, PhraseCache, Recording, cache_key
from .channel import ChannelQueue, Utterance
from .emitter import Emitter
from .frames import FrameStage
from .registry import AvatarRegistry, VoiceRegistry

log = get_logger(__name__)


def join_syntheses(parts: list[Synthesis]) -> tuple[np.ndarray, list[Phone]]:
    """The audio of consecutive model calls back to back, with their phones on one clock."""
    audio = np.concatenate([p.audio for p in parts]).astype(np.float32, copy=False)
    phones: list[Phone] = []
    offset = 0
    for part in parts:
        phones.extend(shift(part.phones, offset * 1000.0 / part.sample_rate))
        offset += part.audio.size
    return audio, phones


@dataclass(frozen=True)
class AudioSegment:
    """One synthesised chunk on the utterance's sample clock."""

    utt: Utterance
    seq: int
    audio: np.ndarray
    sample_rate: int
    start_sample: int
    final: bool
    phones: tuple[Phone, ...] | None = None
    """Alignment on the segment's own clock (ms from its first sample), when known."""


@dataclass(frozen=True)
class CachedSegment:
    """A chunk replayed from the phrase cache: its frames go out as they were rendered."""

    utt: Utterance
    chunk: CachedChunk
    final: bool


@dataclass(frozen=True)
class UtteranceEnd:
    utt: Utterance
    type: str
    """finished / cancelled / error."""
    code: str | None = None
    message: str | None = None
    detail: dict[str, object] | None = None


class ChannelRunner:
    """Owns a channel's queue and its TTS and frame threads."""

    def __init__(
        self,
        name: str,
        queue_: ChannelQueue,
        emitter: Emitter,
        voices: VoiceRegistry,
        avatars: AvatarRegistry | None,
        sample_format: str = "pcm_s16le",
        cache: PhraseCache | None = None,
        frame_lead_s: float = 0.0,
    ):
        self.name = name
        self.queue = queue_
        self.emitter = emitter
        self.voices = voices
        self.sample_format = sample_format
        self.cache = cache if cache is not None and cache.enabled else None
        self.engine_name = avatars.engine.name if avatars and avatars.engine else "noframes"
        self.status = emitter.status[name]
        self.frames = FrameStage(name, emitter, avatars, max_lead_s=frame_lead_s)
        self._handoff: queue.Queue[AudioSegment | CachedSegment | UtteranceEnd] = queue.Queue(
            maxsize=4
        )
        self._active: dict[str, Utterance] = {}
        self._active_lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads = [
            threading.Thread(target=self._tts_loop, name=f"tts-{name}", daemon=True),
            threading.Thread(target=self._frame_loop, name=f"frames-{name}", daemon=True),
        ]

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self.queue.close()
        self.cancel_active(None)
        for t in self._threads:
            t.join(timeout)
        self.frames.close()

    # ---------------------------------------------------------------- control

    def submit(self, utt: Utterance) -> None:
        """Queue ``utt``; ``interrupt``/``replace`` also cut short whatever is still playing
        (an utterance whose speech is done may still have frames going out)."""
        self.queue.submit(utt)
        if utt.mode in ("interrupt", "replace"):
            self.cancel_active(None, spare=utt)

    def cancel_active(self, utt_id: str | None, spare: Utterance | None = None) -> bool:
        """Cancel an utterance that is being spoken or still has frames in flight (all of them
        without ``utt_id``, except ``spare``)."""
        with self._active_lock:
            targets = [u for u in self._active.values()
                       if (utt_id is None or u.id == utt_id) and u is not spare]  # fmt: skip
        for u in targets:
            u.cancel.set()
            u.source.finish()
        return bool(targets)

    # ---------------------------------------------------------------- TTS stage

    def _tts_loop(self) -> None:
        while not self._stopping.is_set():
            utt = self.queue.take(timeout=0.5)
            if utt is None:
                continue
            with structlog.contextvars.bound_contextvars(utterance=utt.id, channel=self.name):
                end = self._speak(utt)
            self.queue.done(utt)
            self._handoff.put(end)

    def _speak(self, utt: Utterance) -> UtteranceEnd:
        with self._active_lock:
            self._active[utt.id] = utt
        self.status.active.append(utt.id)
        cached = self._cache_lookup(utt)
        detail: dict[str, object] | None = None
        if utt.cache_key is not None:
            detail = {"cache": "hit" if cached else "miss"}
        self.emitter.event(self.name, "started", utt, detail=detail)
        self.emitter.state(self.name)
        if utt.cancel.is_set():
            return UtteranceEnd(utt, "cancelled")
        if cached is not None:
            return self._replay(utt, cached)
        try:
            return self._synthesize(utt)
        except AvatarError as exc:
            log.warning("utterance failed", code=exc.code, error=exc.message)
            return UtteranceEnd(utt, "error", exc.code, exc.message)
        except Exception as exc:
            log.exception("utterance failed")
            return UtteranceEnd(utt, "error", "engine_error", f"{type(exc).__name__}: {exc}")

    def _cache_lookup(self, utt: Utterance) -> tuple[CachedChunk, ...] | None:
        if self.cache is None:
            return None
        utt.cache_key = cache_key(utt, self.engine_name)
        if utt.cache_key is None:
            return None
        cached = self.cache.get(utt.cache_key)
        if cached is None:
            self.status.metrics.cache_misses += 1
            utt.recording = Recording()
        else:
            self.status.metrics.cache_hits += 1
        return cached

    def _replay(self, utt: Utterance, chunks: tuple[CachedChunk, ...]) -> UtteranceEnd:
        """Publish a cached rendering under this utterance's id (byte-identical media)."""
        for seq, chunk in enumerate(chunks):
            if utt.cancel.is_set():
                return UtteranceEnd(utt, "cancelled")
            final = seq == len(chunks) - 1
            msg = AudioChunk(
                id=utt.id, seq=seq, text=chunk.text, start_ms=chunk.start_ms,
                duration_ms=chunk.duration_ms, sample_rate=chunk.sample_rate, channels=1,
                sample_format=self.sample_format,  # type: ignore[arg-type]
                wav=chunk.wav, final=final, alignment=chunk.alignment,
            )  # fmt: skip
            self._announce_chunk(utt, msg)
            self._handoff.put(CachedSegment(utt, chunk, final))
        return UtteranceEnd(utt, "finished", detail={"cache": "hit"})

    def _synthesize(self, utt: Utterance) -> UtteranceEnd:
        loaded = self.voices.get(utt.voice)
        voice, cfg = loaded.voice, loaded.settings
        speaker = utt.speaker if utt.speaker is not None else cfg.speaker
        language = utt.language or cfg.language
        speed = utt.speed * cfg.speed
        rate = int(voice.sample_rate)
        seq, position, compute = 0, 0, 0.0
        last_final = False
        while True:
            sentence = utt.source.next(utt.cancel)
            if sentence is None:
                break
            t0 = time.perf_counter()
            options = SynthesisOptions(speaker=speaker, noise_scale=cfg.noise_scale,
                                       noise_scale_w=cfg.noise_scale_w, length_scale=1.0 / speed)
            with loaded.lock:
                parts = [
                    voice.synthesize_aligned(ids, options)
                    for ids in voice.text_to_ids(sentence, language=language)
                    if not utt.cancel.is_set()
                ]  # fmt: skip
            compute += time.perf_counter() - t0
            if utt.cancel.is_set():
                break
            if not parts:
                continue
            audio, phones = join_syntheses(parts)
            if utt.gain != 1.0:
                audio = audio * np.float32(utt.gain)
            last_final = utt.source.exhausted()
            self._publish_audio(utt, seq, sentence, audio, rate, position, last_final, phones)
            position += audio.size
            seq += 1
            if position:
                self.status.metrics.rtf = compute / (position / rate)
        if utt.cancel.is_set():
            return UtteranceEnd(utt, "cancelled")
        if not last_final:
            # A stream ended after its last sentence went out: close it with an empty chunk.
            empty = np.zeros(0, dtype=np.float32)
            self._publish_audio(utt, seq, "", empty, rate, position, True)
        return UtteranceEnd(utt, "finished")

    def _publish_audio(self, utt: Utterance, seq: int, text: str, audio: np.ndarray, rate: int,
                       position: int, final: bool,
                       phones: list[Phone] | None = None) -> None:  # fmt: skip
        start_ms = round(position * 1000.0 / rate, 3)
        if phones is None and audio.size == 0:
            phones = []
        alignment = None if phones is None else [
            PhoneSpan(p=p.phoneme, v=p.viseme, start_ms=round(p.start_ms + start_ms, 3),
                      end_ms=round(p.end_ms + start_ms, 3))
            for p in phones
        ]  # fmt: skip
        chunk = AudioChunk(
            id=utt.id,
            seq=seq,
            text=text,
            start_ms=round(position * 1000.0 / rate, 3),
            duration_ms=round(audio.size * 1000.0 / rate, 3),
            sample_rate=rate,
            channels=1,
            sample_format=self.sample_format,  # type: ignore[arg-type]
            wav=wav_base64(audio, rate, self.sample_format),
            final=final,
            alignment=alignment,
        )
        if utt.recording is not None:
            utt.recording.audio(text, chunk.start_ms, chunk.duration_ms, rate, chunk.wav,
                                chunk.alignment)
        self._announce_chunk(utt, chunk)
        seg_phones = None if phones is None else tuple(phones)
        self._handoff.put(AudioSegment(utt, seq, audio, rate, position, final, seg_phones))

    def _announce_chunk(self, utt: Utterance, chunk: AudioChunk) -> None:
        """Publish an audio chunk and its `sentence` event."""
        self.emitter.audio(self.name, chunk)
        if chunk.seq == 0:
            utt.clock_start = time.monotonic()
            self.status.metrics.first_audio_ms = (utt.clock_start - utt.received) * 1000
        self.emitter.event(self.name, "sentence", utt, detail={
            "seq": chunk.seq, "text": chunk.text, "start_ms": chunk.start_ms,
            "duration_ms": chunk.duration_ms,
        })  # fmt: skip

    # ---------------------------------------------------------------- frame stage

    def _frame_loop(self) -> None:
        while not (self._stopping.is_set() and self._handoff.empty()):
            try:
                item = self._handoff.get(timeout=0.5)
            except queue.Empty:
                continue
            with structlog.contextvars.bound_contextvars(utterance=item.utt.id, channel=self.name):
                if isinstance(item, AudioSegment):
                    self.frames.render(item)
                elif isinstance(item, CachedSegment):
                    self.frames.replay(item.utt, item.chunk.frames, item.final)
                else:
                    self._end(item)

    def _end(self, end: UtteranceEnd) -> None:
        utt = end.utt
        if end.type == "finished" and utt.cancel.is_set():
            end = UtteranceEnd(utt, "cancelled")  # stopped while its last frames went out
        with self._active_lock:
            self._active.pop(utt.id, None)
        if utt.id in self.status.active:
            self.status.active.remove(utt.id)
        if end.type == "finished":
            self.status.metrics.utterances += 1
            if self.cache is not None and utt.recording is not None and utt.cache_key:
                self.cache.put(utt.cache_key, utt.recording.freeze())
        utt.recording = None
        release_memory()
        self.emitter.event(self.name, end.type, utt, code=end.code, message=end.message,
                           detail=end.detail)  # fmt: skip
        self.emitter.state(self.name)
        for hook in utt.on_end:
            try:
                hook(utt, end.type)
            except Exception:
                log.exception("on_end hook failed")

"""The sound stage of a channel: text → VITS → audio chunks, or a door's own audio (``play``).

Each chunk goes out at once (to the sinks, as WAV bytes) and, as an :class:`AudioSegment` with the
same float array, to the video stage. The next window is vocoded once the video stage has drawn
what went out (frames first, :mod:`.backlog`), and the next sentence's latent while this one is
vocoded, if its text is there by then.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass

import numpy as np

from ..errors import AvatarError
from ..log import get_logger
from ..media.alignment import Phone, shift
from ..media.wav import encode_wav
from ..models import LoadedVoice, VoiceRegistry
from ..tts.lookahead import PreparedCall
from ..tts.streaming import WHOLE_SENTENCE, StreamPlan
from ..tts.synthesis import Synthesis, SynthesisOptions
from .backlog import VideoBacklog
from .cache import CachedChunk, PhraseCache, Recording, cache_key
from .channel import Utterance
from .clock import sample_ms
from .items import (
    AudioOut,
    AudioSegment,
    CachedSegment,
    EndType,
    EventKind,
    Segment,
    UtteranceEnd,
)
from .sink import Outlets
from .status import ChannelStatus

log = get_logger(__name__)


@dataclass
class _Sentence:
    """A sentence's text, model calls and their latents (started), or why they failed."""

    text: str
    calls: list[list[int]]
    prepared: list[Future[PreparedCall]]
    plan: StreamPlan
    error: Exception | None = None


class SpeechStage:
    """Speaks one utterance at a time on the channel's sound thread; returns how it ended."""

    def __init__(
        self,
        channel: str,
        outlets: Outlets,
        status: ChannelStatus,
        voices: VoiceRegistry,
        emit: Callable[[Segment], None],
        sample_format: str = "pcm_s16le",
        cache: PhraseCache | None = None,
        engine_name: str = "none",
        backlog: VideoBacklog | None = None,
    ):
        self.channel = channel
        self.outlets = outlets
        self.status = status
        self.voices = voices
        self.emit = emit
        self.sample_format = sample_format
        self.cache = cache if cache is not None and cache.enabled else None
        self.engine_name = engine_name
        self.backlog = backlog
        """Frames first: more is vocoded once the video stage has drawn what went out."""
        self.clock_floor = 0.0
        """Monotonic time the previous utterance's audio ends on a display playing it."""

    def speak(self, utt: Utterance) -> UtteranceEnd:
        cached = self._cache_lookup(utt)
        detail: dict[str, object] | None = None
        if utt.cache_key is not None:
            detail = {"cache": "hit" if cached else "miss"}
        self.outlets.state(self.status.view())  # names this utterance before `started`
        self.outlets.event(utt.event(EventKind.STARTED, detail=detail), utt.sinks)
        if utt.cancel.is_set():
            return UtteranceEnd(utt, EndType.CANCELLED)
        try:
            if cached is not None:
                return self._replay(utt, cached)
            if utt.audio is not None:
                return self._play(utt)
            return self._synthesize(utt)
        except AvatarError as exc:
            log.warning("utterance failed", code=exc.code, error=exc.message)
            return UtteranceEnd(utt, EndType.ERROR, exc.code, exc.message)
        except Exception as exc:
            log.exception("utterance failed")
            message = f"{type(exc).__name__}: {exc}"
            return UtteranceEnd(utt, EndType.ERROR, "engine_error", message)

    # ---------------------------------------------------------------- sources

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
        """Send a cached rendering under this utterance's id (byte-identical media)."""
        from dataclasses import replace

        for seq, chunk in enumerate(chunks):
            if utt.cancel.is_set():
                return UtteranceEnd(utt, EndType.CANCELLED)
            final = seq == len(chunks) - 1
            out = replace(
                chunk.audio, channel=self.channel, id=utt.id, seq=seq, final=final, meta=utt.meta
            )
            self._announce(utt, out, chunk.wav)
            self.emit(CachedSegment(utt, chunk, final))
        return UtteranceEnd(utt, EndType.FINISHED, detail={"cache": "hit"})

    def _synthesize(self, utt: Utterance) -> UtteranceEnd:
        loaded = self.voices.get(utt.voice)
        voice, cfg = loaded.voice, loaded.settings
        speaker = utt.speaker if utt.speaker is not None else cfg.speaker
        language = utt.language or cfg.language
        options = SynthesisOptions(
            speaker=speaker,
            noise_scale=cfg.noise_scale,
            noise_scale_w=cfg.noise_scale_w,
            length_scale=1.0 / (utt.speed * cfg.speed),
        )
        rate = int(voice.sample_rate)
        seq, position, compute, final = 0, 0, 0.0, False
        ahead: _Sentence | None = None
        while current := ahead or self._sentence(loaded, utt, language, options, seq):
            ahead = None
            if current.error is not None:
                raise current.error
            sentence, calls = current.text, current.calls
            t0 = time.perf_counter()
            pieces = (
                (piece, n == len(calls) - 1 and piece.final)
                for n, (ids, future) in enumerate(zip(calls, current.prepared, strict=True))
                for piece in self._pieces(loaded, ids, options, current.plan, utt, future)
            )
            first, asked, done = True, False, 0
            for piece, last in pieces:
                compute += time.perf_counter() - t0
                if utt.cancel.is_set():
                    break
                audio = piece.audio
                if utt.gain != 1.0:
                    audio = audio * np.float32(utt.gain)
                final = last and ahead is None and utt.source.exhausted()
                text = sentence if first else ""
                self._send(utt, seq, text, audio, rate, position, final, tuple(piece.phones), last)
                position += audio.size
                seq += 1
                if self.backlog is not None and not final:
                    self.backlog.wait(utt.cancel.is_set)
                done += 1
                if not asked and (done == 2 or last):  # the next sentence's latent starts now
                    # if its text is there (.lookahead): after a streamed sentence's second
                    # window, which it would slow down on two cores, as it would the frames
                    asked = True
                    ahead = self._sentence(loaded, utt, language, options, seq, wait=False)
                first = False
                self.status.metrics.rtf = compute / (position / rate) if position else None
                t0 = time.perf_counter()
            if utt.cancel.is_set():
                break
        return self._close(utt, seq, rate, position, final)

    @staticmethod
    def _sentence(
        loaded: LoadedVoice,
        utt: Utterance,
        language: str | None,
        options: SynthesisOptions,
        seq: int,
        wait: bool = True,
    ) -> _Sentence | None:
        """The next sentence (waiting for it, or only if it is there), its model calls, and
        their latents started (:meth:`Voice.prepare`). The first sentence goes out window by
        window (first sound soon); the later ones are ready long before the one before them
        has played, and go out whole."""
        sentence = utt.source.next(utt.cancel) if wait else utt.source.poll()
        if sentence is None:
            return None
        plan = StreamPlan() if loaded.settings.stream and seq == 0 else WHOLE_SENTENCE
        try:
            with loaded.lock:  # front-ends (espeak-ng) are not thread-safe either
                calls = loaded.voice.text_to_ids(sentence, language=language)
        except Exception as exc:  # noqa: BLE001 - raised at this sentence's turn, not before
            return _Sentence(sentence, [], [], plan, exc)
        prepared = [loaded.voice.prepare(ids, options, plan) for ids in calls]
        return _Sentence(sentence, calls, prepared, plan)

    @staticmethod
    def _pieces(
        loaded: LoadedVoice,
        ids: Sequence[int],
        options: SynthesisOptions,
        plan: StreamPlan,
        utt: Utterance,
        prepared: Future[PreparedCall] | None = None,
    ) -> Iterator[Synthesis]:
        """One model call's pieces, each decoded under the voice's lock (so channels sharing
        the voice take turns window by window, and no lock is held while a piece goes out).
        ``WHOLE_SENTENCE`` gives one piece, the whole decode."""
        windows = loaded.voice.stream_aligned(ids, options, plan, prepared)
        try:
            while not utt.cancel.is_set():
                with loaded.lock:
                    piece = next(windows, None)
                if piece is None:
                    return
                yield piece
        finally:  # interrupted: the call's decoder state goes now, not at garbage collection
            windows.close()

    def _play(self, utt: Utterance) -> UtteranceEnd:
        """Lip-sync a door's audio; its WAV goes out unchanged, at its own rate."""
        assert utt.audio is not None
        seq, position, rate = 0, 0, 16000
        while (piece := utt.audio.next(utt.cancel)) is not None:
            if utt.cancel.is_set():
                break
            rate = piece.sample_rate
            out = AudioOut(
                channel=self.channel,
                id=utt.id,
                seq=seq,
                text=piece.text or utt.audio.text,
                start_ms=sample_ms(position, rate),
                duration_ms=sample_ms(piece.audio.size, rate),
                sample_rate=rate,
                sample_format=piece.sample_format,
                channels=piece.channels,
                final=False,
                alignment=None,
                meta=utt.meta,
            )
            self._announce(utt, out, piece.wav)
            self.emit(AudioSegment(utt, seq, piece.audio, rate, position, False))
            position += piece.audio.size
            seq += 1
        return self._close(utt, seq, rate, position, False)

    def _close(
        self, utt: Utterance, seq: int, rate: int, position: int, last_final: bool
    ) -> UtteranceEnd:
        if utt.cancel.is_set():
            return UtteranceEnd(utt, EndType.CANCELLED)
        if not last_final:
            # The source ended after its last chunk went out: close it with an empty chunk.
            empty = np.zeros(0, dtype=np.float32)
            self._send(utt, seq, "", empty, rate, position, True, (), True)
        return UtteranceEnd(utt, EndType.FINISHED)

    # ---------------------------------------------------------------- out

    def _send(
        self,
        utt: Utterance,
        seq: int,
        text: str,
        audio: np.ndarray,
        rate: int,
        position: int,
        final: bool,
        phones: tuple[Phone, ...] | None,
        sentence_end: bool = True,
    ) -> None:
        start_ms = sample_ms(position, rate)
        out = AudioOut(
            channel=self.channel,
            id=utt.id,
            seq=seq,
            text=text,
            start_ms=start_ms,
            duration_ms=sample_ms(audio.size, rate),
            sample_rate=rate,
            sample_format=self.sample_format,
            channels=1,
            final=final,
            alignment=None if phones is None else tuple(shift(phones, start_ms)),
            meta=utt.meta,
            sentence_end=sentence_end,
        )
        self._announce(utt, out, encode_wav(audio, rate, self.sample_format))
        self.emit(AudioSegment(utt, seq, audio, rate, position, final, phones))

    def _announce(self, utt: Utterance, out: AudioOut, wav: bytes) -> None:
        """Send an audio chunk and its `sentence` event."""
        if utt.recording is not None:
            utt.recording.audio(out, wav)
        self.outlets.audio(out, wav, utt.sinks)
        if out.seq == 0:
            now = time.monotonic()
            # A display plays this after the previous utterance: its clock starts then, so its
            # frames (paced to this clock) do not crowd the previous one's on a slow link.
            utt.clock_start = max(now, self.clock_floor)
            self.status.metrics.first_audio_ms = (now - utt.received) * 1000
        assert utt.clock_start is not None
        self.clock_floor = utt.clock_start + (out.start_ms + out.duration_ms) / 1000
        if out.text or out.seq == 0:  # a sentence's later windows carry no text: no event
            detail = {
                "seq": out.seq,
                "text": out.text,
                "start_ms": out.start_ms,
                "duration_ms": out.duration_ms,
            }
            self.outlets.event(utt.event(EventKind.SENTENCE, detail=detail), utt.sinks)

"""Audio that doors hand in, as :class:`~.items.AudioSource` implementations.

:class:`StreamSource` is fed by a door (``play/stream``, Wyoming ``snd``, an upstream TTS) with
``push()`` and ``finish()``; the pipeline's thread calls ``next()``, which hands out pieces of
``piece_ms`` (200 ms) as soon as that much has arrived, the rest at ``finish()``, and ends on its
own when nothing arrives for ``idle_timeout_s`` (a stalled stream). :class:`WavSource` is a whole
WAV file (``play``) cut into pieces the same way. Every piece carries a complete WAV of its own
bytes in their own format, so the audio is re-published unchanged at its own rate.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ..log import get_logger
from ..media.pcm import PcmFormat, WavData, parse_wav, to_float_mono, wrap_pcm
from .items import AudioPiece

log = get_logger(__name__)

PIECE_MS = 200.0
_POLL_S = 0.05  # how often a waiting next() looks at its cancel event


def make_piece(pcm: bytes, fmt: PcmFormat, text: str = "") -> AudioPiece:
    """An :class:`AudioPiece` of whole frames ``pcm`` in format ``fmt``."""
    return AudioPiece(
        audio=to_float_mono(pcm, fmt),
        sample_rate=fmt.rate,
        wav=wrap_pcm(pcm, fmt),
        channels=fmt.channels,
        sample_format=fmt.sample_format,
        text=text,
    )


def _piece_bytes(fmt: PcmFormat, piece_ms: float) -> int:
    return max(1, round(fmt.rate * piece_ms / 1000.0)) * fmt.frame_bytes


class StreamSource:
    """Pushed PCM, handed out in pieces as it arrives (thread-safe; one consumer)."""

    def __init__(
        self,
        text: str = "",
        *,
        piece_ms: float = PIECE_MS,
        idle_timeout_s: float = 10.0,
        max_buffer_s: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.text = text
        self.piece_ms = piece_ms
        self.idle_timeout_s = idle_timeout_s
        self.max_buffer_s = max_buffer_s
        self._clock = clock
        self._cond = threading.Condition()
        self._segments: list[tuple[PcmFormat, bytearray]] = []
        self._last_push = clock()
        self._finished = False
        self.stalled = False
        """True when the stream ended because nothing arrived for ``idle_timeout_s``."""
        self.ended = False
        """True once ``next()`` returned None: later pushes are dropped."""
        self.received_bytes = 0

    # ---------------------------------------------------------------- the door's side

    def push(self, pcm: bytes, fmt: PcmFormat) -> bool:
        """Append raw frames in ``fmt``; False when the stream is over (finished, stalled,
        cancelled) and the bytes were dropped. A new format starts a new piece."""
        with self._cond:
            if self._finished or self.ended:
                return False
            self._last_push = self._clock()
            if not pcm:
                return True
            if self._buffered_s() + fmt.duration_ms(len(pcm)) / 1000.0 > self.max_buffer_s:
                log.warning("audio stream buffer full; stream ended", max_s=self.max_buffer_s)
                self._finished = True
                self._cond.notify_all()
                return False
            if self._segments and self._segments[-1][0] == fmt:
                self._segments[-1][1].extend(pcm)
            else:
                self._segments.append((fmt, bytearray(pcm)))
            self.received_bytes += len(pcm)
            self._cond.notify_all()
            return True

    def finish(self) -> None:
        """No more audio will come: what is buffered is still handed out."""
        with self._cond:
            self._finished = True
            self._cond.notify_all()

    @property
    def finished(self) -> bool:
        return self._finished

    # ---------------------------------------------------------------- the pipeline's side

    def next(self, cancelled: threading.Event) -> AudioPiece | None:
        with self._cond:
            while True:
                if cancelled.is_set():
                    self._end()
                    return None
                piece = self._take()
                if piece is not None:
                    return piece
                if self._finished:
                    self._end()
                    return None
                idle = self._clock() - self._last_push
                if idle >= self.idle_timeout_s:
                    self.stalled = True
                    log.info("audio stream stalled; ending it", idle_s=round(idle, 1))
                    self._finished = True
                    continue  # hand out the remainder, then end
                self._cond.wait(max(0.001, min(_POLL_S, self.idle_timeout_s - idle)))

    def _end(self) -> None:
        self._finished = True
        self.ended = True
        self._segments.clear()

    def _take(self) -> AudioPiece | None:
        """A piece if one is ready: a full ``piece_ms``, or (finished / format changed) the rest."""
        while self._segments:
            fmt, buf = self._segments[0]
            whole = len(buf) - len(buf) % fmt.frame_bytes
            size = _piece_bytes(fmt, self.piece_ms)
            closed = self._finished or len(self._segments) > 1
            if whole >= size or (closed and whole > 0):
                n = size if whole >= size else whole
                pcm = bytes(buf[:n])
                del buf[:n]
                return make_piece(pcm, fmt, self.text)
            if not closed:
                return None
            self._segments.pop(0)  # empty (or a partial frame) and nothing more will come
        return None

    def _buffered_s(self) -> float:
        return sum(f.duration_ms(len(b)) for f, b in self._segments) / 1000.0


class WavSource:
    """A complete WAV file (``play``) handed out in pieces of ``piece_ms`` (None: in one)."""

    def __init__(self, wav: WavData, text: str = "", *, piece_ms: float | None = PIECE_MS):
        self.wav = wav
        self.text = text
        self._size = len(wav.pcm) if piece_ms is None else _piece_bytes(wav.fmt, piece_ms)
        self._pos = 0
        self._lock = threading.Lock()

    @classmethod
    def from_bytes(cls, blob: bytes, text: str = "", *, piece_ms: float | None = PIECE_MS):
        """Parse ``blob`` (raising :class:`BadAudio` / ``UnsupportedAudio``)."""
        return cls(parse_wav(blob), text, piece_ms=piece_ms)

    @property
    def duration_ms(self) -> float:
        return self.wav.duration_ms

    def next(self, cancelled: threading.Event) -> AudioPiece | None:
        with self._lock:
            if cancelled.is_set() or self._pos >= len(self.wav.pcm):
                self._pos = len(self.wav.pcm)
                return None
            pcm = self.wav.pcm[self._pos : self._pos + self._size]
            self._pos += len(pcm)
        return make_piece(pcm, self.wav.fmt, self.text)

    def finish(self) -> None:
        with self._lock:
            self._pos = len(self.wav.pcm)


__all__ = ["PIECE_MS", "StreamSource", "WavSource", "make_piece"]

"""Phrase cache: rendered audio chunks and frames of repeated announcements, LRU, bounded in bytes.

"The garage door is open" is rendered once; an identical request (same text, voice, speaker,
language, speed, avatar, gain, engine) is replayed from memory with its own id, byte-identical.
Only whole, finished, non-streamed utterances are stored.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from .channel import Utterance
from .items import AudioOut, FrameOut


@dataclass(frozen=True)
class CachedChunk:
    """One audio chunk and the frames that cover it, as they went out (raw WAV and JPEG bytes)."""

    audio: AudioOut
    wav: bytes
    frames: tuple[tuple[FrameOut, bytes], ...]

    @property
    def nbytes(self) -> int:
        return (
            len(self.wav) + sum(len(jpeg) for _, jpeg in self.frames) + 64 * (1 + len(self.frames))
        )


class Recording:
    """Collects what an utterance sends out, chunk by chunk, while it is rendered."""

    def __init__(self) -> None:
        self._chunks: list[tuple[AudioOut, bytes]] = []
        self._frames: list[list[tuple[FrameOut, bytes]]] = []

    def audio(self, chunk: AudioOut, wav: bytes) -> None:
        self._chunks.append((chunk, wav))
        self._frames.append([])

    def frame(self, frame: FrameOut, jpeg: bytes) -> None:
        if self._frames:
            self._frames[-1].append((frame, jpeg))

    def freeze(self) -> tuple[CachedChunk, ...]:
        pairs = zip(self._chunks, self._frames, strict=True)
        return tuple(CachedChunk(chunk, wav, tuple(frames)) for (chunk, wav), frames in pairs)


CacheKey = tuple[object, ...]


def cache_key(utt: Utterance, engine: str) -> CacheKey | None:
    """The identity of what ``utt`` will render; None if it must not be cached (streams)."""
    if utt.source.streaming or utt.audio is not None:
        return None
    speaker = utt.speaker if not isinstance(utt.speaker, str) else f"s:{utt.speaker}"
    return (
        " ".join(utt.source.text.split()),
        utt.voice,
        speaker,
        utt.language,
        round(utt.speed, 4),
        utt.avatar,
        round(utt.gain, 4),
        engine,
    )


class PhraseCache:
    """Thread-safe LRU of rendered utterances, at most ``max_bytes`` of payload."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._items: OrderedDict[CacheKey, tuple[tuple[CachedChunk, ...], int]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    @property
    def size_bytes(self) -> int:
        return self._size

    def get(self, key: CacheKey) -> tuple[CachedChunk, ...] | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return item[0]

    def put(self, key: CacheKey, chunks: tuple[CachedChunk, ...]) -> bool:
        size = sum(c.nbytes for c in chunks)
        if not chunks or size > self.max_bytes:
            return False
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= old[1]
            self._items[key] = (chunks, size)
            self._size += size
            while self._size > self.max_bytes:
                _, (_, freed) = self._items.popitem(last=False)
                self._size -= freed
        return True

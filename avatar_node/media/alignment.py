"""What sounds when: the phoneme/viseme timeline shared by the voice and the face.

The TTS engine produces it from the model's own durations; lip-sync engines consume it; the wire
publishes it as ``AudioChunk.alignment``. Times are milliseconds on whichever clock the producer
states (a segment's own start, the utterance clock, or a render call's frame clock).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

VISEMES: tuple[str, ...] = (
    "sil",
    "PP",
    "FF",
    "TH",
    "DD",
    "kk",
    "CH",
    "SS",
    "nn",
    "RR",
    "aa",
    "E",
    "ih",
    "oh",
    "ou",
)
"""The 15 Oculus/OVR viseme names, in their usual order."""


@dataclass(frozen=True)
class Phone:
    """One phoneme (or symbol) and its viseme over ``[start_ms, end_ms)``."""

    phoneme: str
    viseme: str
    """One of :data:`VISEMES`; ``sil`` for silence and pauses."""
    start_ms: float
    end_ms: float


def shift(phones: Sequence[Phone], offset_ms: float) -> list[Phone]:
    """The same timeline moved by ``offset_ms`` (e.g. segment clock → utterance clock)."""
    return [
        replace(p, start_ms=p.start_ms + offset_ms, end_ms=p.end_ms + offset_ms) for p in phones
    ]

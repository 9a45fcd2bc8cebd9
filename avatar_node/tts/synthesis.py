"""What a synthesis takes (:class:`SynthesisOptions`) and what it gives (:class:`Synthesis`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from avatar_node.media.alignment import Phone


@dataclass(frozen=True)
class SynthesisOptions:
    """Per-call settings of one model call; ``None`` means the voice's default."""

    speaker: str | int | None = None
    """Speaker name or id (None: the voice's default speaker)."""
    noise_scale: float | None = None
    """Prior noise (VITS ``noise_scale``), unitless."""
    noise_scale_w: float | None = None
    """Duration noise (VITS ``noise_scale_w`` / Piper ``noise_w``), unitless."""
    length_scale: float | None = None
    """Duration multiplier (> 1 is slower); None: the voice's own (1.0 unless a Piper json
    sets it). :meth:`Voice.options` derives it from a ``speed``."""


@dataclass(frozen=True)
class Synthesis:
    """A piece of synthesized speech that carries its rate and its alignment."""

    audio: np.ndarray = field(repr=False)
    """float32 mono samples, tanh range (not peak-normalised)."""
    sample_rate: int
    """Samples per second."""
    phones: list[Phone]
    """Ordered, contiguous, covering ``[0, duration_ms]``: ms on this piece's own clock (its
    first sample is 0)."""
    start_sample: int = 0
    """Where this piece starts in its sentence (0 for a whole sentence; streaming pieces
    follow each other back to back)."""
    final: bool = True
    """Last piece of its model call (always true for a whole sentence)."""

    @property
    def duration_ms(self) -> float:
        return self.audio.size * 1000.0 / self.sample_rate

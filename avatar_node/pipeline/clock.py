"""The one frame and timestamp rule of an utterance.

Audio and frames share one clock: the utterance's sample clock, zero at its first sample. A chunk
covering samples [a, b) gets frames ⌊a·fps/sr + ½⌋ … ⌊b·fps/sr + ½⌋ − 1 (half-up, never Python's
banker's rounding), and frame ``seq`` is shown at ``seq·1000/fps`` ms. Consecutive chunks therefore
tile the frame sequence exactly, however long the utterance: no frame is lost or doubled.
"""

from __future__ import annotations

import math


def frame_at(sample: int, sample_rate: int, fps: float) -> int:
    """The first frame at or after sample ``sample`` (half-up)."""
    return math.floor(sample * fps / sample_rate + 0.5)


def frame_span(start_sample: int, n_samples: int, sample_rate: int, fps: float) -> tuple[int, int]:
    """(first frame, frame count) of a chunk on the utterance's sample clock."""
    first = frame_at(start_sample, sample_rate, fps)
    return first, frame_at(start_sample + n_samples, sample_rate, fps) - first


def pts_ms(seq: int, fps: float) -> float:
    """Presentation time of frame ``seq``, ms."""
    return round(seq * 1000.0 / fps, 3)


def sample_ms(sample: int, sample_rate: int) -> float:
    """Time of sample ``sample`` on the utterance clock, ms."""
    return round(sample * 1000.0 / sample_rate, 3)

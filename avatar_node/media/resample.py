"""Sample-rate conversion with soxr (a maintained, high-quality resampler)."""

from __future__ import annotations

import numpy as np
import soxr

TARGET_RATE = 16000


def resample(audio: np.ndarray, sample_rate: int, target_rate: int) -> np.ndarray:
    """Mono float32 audio converted from ``sample_rate`` to ``target_rate`` (soxr, HQ)."""
    x = np.asarray(audio, dtype=np.float32).reshape(-1)
    if sample_rate <= 0 or target_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {sample_rate} -> {target_rate}")
    if sample_rate == target_rate or x.size == 0:
        return x.copy()
    return np.asarray(soxr.resample(x, sample_rate, target_rate, quality="HQ"), dtype=np.float32)


def resample_to_16k(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mono float32 audio at 16 kHz, the rate Wav2Lip's mel spectrogram expects."""
    return resample(audio, sample_rate, TARGET_RATE)

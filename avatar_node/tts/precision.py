"""Which dtype the HiFi-GAN decoder runs in when a voice is loaded with ``dtype="auto"``.

Measured on an AVX512-BF16 CPU (bench/tts.py, joe-medium, 1 thread): the decoder in bfloat16
takes about half the time of float32, with identical durations (text encoder, duration
predictor and flow stay float32) and 38-40 dB SNR against the float32 audio. Without native
bfloat16 instructions oneDNN emulates them and bfloat16 is *slower*, so ``auto`` only picks it
where the CPU reports ``avx512_bf16`` or ``amx_bf16``. CUDA stays float32 (not measured).
"""

from __future__ import annotations

import torch

from ..device import cpu_has_native_bf16, fast_dtype

__all__ = ["auto_decoder_dtype", "cpu_has_native_bf16"]


def auto_decoder_dtype(device: torch.device) -> torch.dtype:
    """The decoder dtype ``auto`` means on ``device`` (the shared fast path, :func:`fast_dtype`)."""
    return fast_dtype(device)

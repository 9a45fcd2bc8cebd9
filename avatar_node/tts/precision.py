"""Which dtype the HiFi-GAN decoder runs in when a voice is loaded with ``dtype="auto"``.

Measured on an AVX512-BF16 CPU (bench/tts.py, joe-medium, 1 thread): the decoder in bfloat16
takes about half the time of float32, with identical durations (text encoder, duration
predictor and flow stay float32) and 38-40 dB SNR against the float32 audio. Without native
bfloat16 instructions oneDNN emulates them and bfloat16 is *slower*, so ``auto`` only picks it
where the CPU reports ``avx512_bf16`` or ``amx_bf16``. CUDA stays float32 (not measured).
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch

_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


@functools.cache
def cpu_has_native_bf16() -> bool:
    """Whether this CPU has bfloat16 dot-product instructions (AVX512-BF16 or AMX-BF16)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags"):
            return bool(_BF16_FLAGS & set(line.partition(":")[2].split()))
    return False


def auto_decoder_dtype(device: torch.device) -> torch.dtype:
    """The decoder dtype ``auto`` means on ``device``: bfloat16 on a CPU with native bfloat16,
    float32 everywhere else."""
    if device.type == "cpu" and cpu_has_native_bf16():
        return torch.bfloat16
    return torch.float32

"""Resolve the ``device`` and ``dtype`` options (``cpu``, ``cuda``, ``cuda:N``, ``auto``).

``dtype: auto`` considers bfloat16 only where the CPU has bfloat16 dot-product instructions
(AVX512-BF16 or AMX-BF16, :func:`fast_dtype`): without them oneDNN emulates bfloat16 and it is
*slower* than float32. Wav2Lip then runs in bfloat16 (measured 2.25-2.7x float32 on an AMX CPU,
bench/lipsync.py); the VITS decoder also times both dtypes at load
(:mod:`avatar_node.tts.precision`).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from pathlib import Path

import torch

from .errors import ConfigError

_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
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


def fast_dtype(device: torch.device) -> torch.dtype:
    """What a model's ``dtype: auto`` fast path runs in on ``device``: bfloat16 on a CPU with
    native bfloat16, float32 everywhere else (CUDA included: not measured)."""
    if device.type == "cpu" and cpu_has_native_bf16():
        return torch.bfloat16
    return torch.float32


def resolve_device(name: str | None = "auto") -> torch.device:
    """``auto`` picks CUDA when available, else the CPU."""
    name = (name or "auto").strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ConfigError(f"device {name!r} requested but CUDA is not available")
        return torch.device(name)
    raise ConfigError(f"unknown device {name!r} (use cpu, cuda, cuda:N or auto)")


def resolve_dtype(name: str | None, device: torch.device) -> torch.dtype:
    """``auto`` is float32 (exact parity); float16 only on CUDA; bfloat16 on CPU and CUDA."""
    name = (name or "auto").strip().lower()
    if name == "auto":
        return torch.float32
    if name not in _DTYPES:
        raise ConfigError(f"unknown dtype {name!r} (use auto, float32, float16 or bfloat16)")
    dtype = _DTYPES[name]
    if dtype is torch.float16 and device.type != "cuda":
        raise ConfigError("dtype float16 needs a CUDA device; use bfloat16 on the CPU")
    return dtype


@contextlib.contextmanager
def at_most_threads(count: int) -> Iterator[None]:
    """Run the block with at most ``count`` torch intra-op threads, then restore the setting.

    For stacks of small operations (VITS's text encoder, duration predictor and flow: a few
    hundred kernels of well under a millisecond per sentence) a second thread costs more in
    wake-ups than it gives: measured on joe-medium, 2 threads took 1.7x the time of 1 for the
    text encoder and duration predictor, and the same for the flow. Under OpenMP the setting
    belongs to the calling OS thread, so other threads' torch work keeps its own count.
    """
    before = torch.get_num_threads()
    if before <= count:
        yield
        return
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)

"""Resolve the ``device`` and ``dtype`` options (``cpu``, ``cuda``, ``cuda:N``, ``auto``)."""

from __future__ import annotations

import torch

from .errors import ConfigError

_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


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

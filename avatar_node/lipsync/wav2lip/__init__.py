"""Wav2Lip generator: model, checkpoint loader, inference-time optimisations."""

from .checkpoint import load_wav2lip
from .model import Wav2Lip
from .optimize import bf16_supported, fuse_batchnorm

__all__ = ["Wav2Lip", "bf16_supported", "fuse_batchnorm", "load_wav2lip"]

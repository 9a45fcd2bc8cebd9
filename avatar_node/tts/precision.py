"""Which dtype the HiFi-GAN decoder runs in when a voice is loaded with ``dtype="auto"``.

bfloat16 keeps identical durations (text encoder, duration predictor and flow stay float32) and
38-40 dB SNR against the float32 audio, but whether it is faster depends on the CPU, so ``auto``
measures it. Measured (bench/tts_rtf.py, joe-medium):

- an AVX512-BF16 CPU without AMX: the bfloat16 decoder took about half the time of float32;
- an AMX CPU (Sapphire Rapids class, torch 2.13): bfloat16 took 2.5x the time of float32 (capped
  at AVX512-BF16 with ``ONEDNN_MAX_CPU_ISA`` it merely matched float32);
- without native bfloat16 instructions oneDNN emulates them and bfloat16 is slower still.

Why the AMX case was slow: every sentence has a new length, so every decode built new oneDNN
convolution kernels, and building AMX bfloat16 ones costs ~1.5 ms per latent frame there. The
decoder now runs on a few fixed lengths only (:mod:`.vits.shapes`), whose kernels are built once,
and on those the bfloat16 decoder takes 0.4-0.6x the time of float32 on the same AMX CPU.

So ``auto`` is float32 unless the CPU has native bfloat16 (:func:`cpu_has_native_bf16`) *and* a
decode at one of those fixed lengths takes at most :data:`REQUIRED_GAIN` of float32's time in
bfloat16 on this machine, measured at load (about 0.3 s once per voice). CUDA stays float32 (not
measured).
"""

from __future__ import annotations

import copy
import time

import structlog
import torch
from torch import nn

from ..device import cpu_has_native_bf16, fast_dtype

log = structlog.get_logger(__name__)

__all__ = ["REQUIRED_GAIN", "auto_decoder_dtype", "cpu_has_native_bf16", "faster_dtype"]

REQUIRED_GAIN = 0.8
"""bfloat16 is picked when it takes at most this fraction of float32's time."""
_PROBE_FRAMES = 128  # one of DECODER_SIZES, ~1.5 s of audio at 22050 Hz, hop 256
_PROBE_RUNS = 4


def faster_dtype(seconds_f32: float, seconds_bf16: float) -> torch.dtype:
    """The decoder dtype for two measured times: bfloat16 only for a clear gain."""
    if seconds_bf16 <= REQUIRED_GAIN * seconds_f32:
        return torch.bfloat16
    return torch.float32


def measure_decoder(dec: nn.Module, channels: int, gin_channels: int) -> tuple[float, float]:
    """Seconds a ~1.5 s latent takes in float32 and bfloat16 copies of ``dec``, on the CPU: the
    best of ``_PROBE_RUNS`` decodes each, taken in turns after one that builds the kernels (a
    decoder runs on fixed lengths only, so that build happens once per voice). In turns, so a
    burst of load on a shared machine slows both, not one (best of 2 each, one after the other,
    picked float32 in 1 of 5 loads on an AMD EPYC where bfloat16 is 26-40 % faster)."""
    z = torch.randn(1, channels, _PROBE_FRAMES, generator=torch.Generator().manual_seed(0))
    probes = []
    for dtype in (torch.float32, torch.bfloat16):
        probe = copy.deepcopy(dec).to(device="cpu", dtype=dtype)
        g = torch.zeros(1, gin_channels, 1, dtype=dtype) if gin_channels else None
        probes.append((probe, z.to(dtype), g))
    best = [float("inf"), float("inf")]
    with torch.inference_mode():
        for k in range(_PROBE_RUNS + 1):
            for i, (probe, x, g) in enumerate(probes):
                t0 = time.perf_counter()
                probe(x, g=g)
                if k:  # the first call builds the kernels and pays for lazy set-up
                    best[i] = min(best[i], time.perf_counter() - t0)
    return best[0], best[1]


def auto_decoder_dtype(
    device: torch.device, dec: nn.Module, channels: int, gin_channels: int = 0
) -> torch.dtype:
    """The dtype ``auto`` means for the decoder ``dec`` (latent ``channels``, speaker embedding
    ``gin_channels``) on ``device``: float32 where the CPU has no native bfloat16 (and on CUDA),
    else whichever :func:`measure_decoder` finds faster (:func:`faster_dtype`)."""
    if fast_dtype(device) is torch.float32:
        return torch.float32
    t32, t16 = measure_decoder(dec, channels, gin_channels)
    chosen = faster_dtype(t32, t16)
    log.info(
        "decoder dtype measured",
        float32_ms=round(t32 * 1000, 1),
        bfloat16_ms=round(t16 * 1000, 1),
        chosen=str(chosen).removeprefix("torch."),
    )
    return chosen

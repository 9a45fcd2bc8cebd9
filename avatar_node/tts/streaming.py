"""Windowed HiFi-GAN decoding: audio of a sentence in pieces, each out as soon as it is vocoded.

The decoder is a stack of convolutions, so an output sample depends on latent frames within its
receptive field only (:func:`receptive_field`, computed from the hyper-parameters, one side, in
frames). A window ``[a, b)`` of output frames is decoded from the latent ``[a − ctx, b + ctx)``
(clipped to the sentence, where the whole-sentence decode sees the same zero padding) and the
samples of ``[a, b)`` are kept: with ``ctx`` at least the receptive field, the pieces put back
together are the whole-sentence decode up to float rounding.

Window sizes (:func:`plan_windows`): a small first window (first sound soon), then windows that
grow by ``growth`` up to ``max_frames`` (fewer seams, less overlap to recompute). A window grows
at most ``growth``-fold, so as long as the decoder runs faster than ``1/growth`` of real time,
each piece is ready before the one before it has finished playing.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from .vits.hparams import VitsHParams
from .vits.model import VitsSynthesizer


@dataclass(frozen=True)
class StreamPlan:
    """Window sizes in decoder frames (one frame = ``hop_length`` samples)."""

    first_frames: int = 16
    """First window (16 frames ≈ 186 ms at 22050 Hz / hop 256)."""
    growth: float = 3.0
    """Each later window is at most this many times the one before."""
    max_frames: int = 384
    """Largest window."""


def receptive_field(hp: VitsHParams) -> int:
    """Latent frames on each side that can reach an output sample of the decoder (upper bound)."""
    reach = 3.0  # conv_post, kernel 7
    stages = list(zip(hp.upsample_rates, hp.upsample_kernel_sizes, strict=True))
    for rate, kernel in reversed(stages):
        per_kernel = []
        for k, dilations in zip(hp.resblock_kernel_sizes, hp.resblock_dilation_sizes, strict=True):
            span = sum((k - 1) * d // 2 for d in dilations)
            if hp.resblock == "1":
                span += len(dilations) * ((k - 1) // 2)
            per_kernel.append(span)
        reach += max(per_kernel)
        reach = math.ceil((reach + kernel) / rate)  # transposed convolution, stride = rate
    return int(reach + 3)  # conv_pre, kernel 7


def plan_windows(frames: int, plan: StreamPlan) -> list[tuple[int, int]]:
    """``[a, b)`` frame windows covering ``[0, frames)``; a last one shorter than the first is
    merged into the one before."""
    windows: list[tuple[int, int]] = []
    start, size = 0, max(1, plan.first_frames)
    while start < frames:
        end = min(frames, start + size)
        if windows and end - start < plan.first_frames:
            windows[-1] = (windows[-1][0], end)
        else:
            windows.append((start, end))
        start = end
        size = min(plan.max_frames, max(size + 1, int(size * plan.growth)))
    return windows


def decode_windows(
    model: VitsSynthesizer,
    z: torch.Tensor,
    g: torch.Tensor | None,
    frames: int,
    plan: StreamPlan,
    context: int | None = None,
) -> Iterator[tuple[int, int, torch.Tensor]]:
    """Yield ``(a, b, audio)`` per window: float32 ``[(b − a)·hop]`` samples of frames
    ``[a, b)`` of the masked latent ``z [1, C, ≥frames]``."""
    hop = model.hp.hop_length
    ctx = receptive_field(model.hp) if context is None else context
    for a, b in plan_windows(frames, plan):
        lo, hi = max(0, a - ctx), min(frames, b + ctx)
        audio = model.decode(z[:, :, lo:hi], g)
        yield a, b, audio[0, 0, (a - lo) * hop : (b - lo) * hop]

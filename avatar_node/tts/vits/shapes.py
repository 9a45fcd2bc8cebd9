"""The HiFi-GAN decoder on a few fixed input lengths, so oneDNN builds its kernels only once.

oneDNN builds a new primitive for every new input shape, and every sentence is a new length.
For float32 that costs 20-50 ms per decode; for bfloat16 on an AMX CPU (torch 2.13) it costs
about 1.5 ms per latent frame, several times the decode itself (measured on joe-medium with 2
threads: 300 frames take 500 ms on a new length, 45 ms on a length seen before, against 80 ms in
float32). So the decoder only ever runs on the lengths in :data:`DECODER_SIZES`:

- a latent of at most ``max(sizes)`` frames is zero-padded to the next size and decoded with its
  ``valid`` length (the generator zeroes every layer's padding: exact up to float rounding);
- a longer one is cut into tiles of ``max(sizes)`` frames that overlap by the decoder's
  receptive field (:func:`receptive_field`) on each side, the last one anchored at the end and
  padded like a short latent; each tile keeps the samples its context makes exact.

:func:`warm` decodes every size once, at load time, so no sentence pays for a kernel build.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from .generator import HifiGanGenerator
from .hparams import VitsHParams

DECODER_SIZES = (32, 64, 96, 128, 160, 192, 224, 256)
"""Latent lengths the decoder runs on. Small sizes keep the padding of short sentences and of
the first streamed window cheap; tiles of 256 frames spend 2 × 12 frames of context per 256 on
joe-medium (and run at the best speed per frame measured, 128-384 frames)."""


TileRunner = Callable[[Sequence[Callable[[], torch.Tensor]]], list[torch.Tensor]]
"""Runs a decode's tiles (callables, independent of each other) and returns their results in
order: the voice's :meth:`~avatar_node.tts.lookahead.LatentWorker.run_tiles` chooses the threads
of each and runs two at once where a second core is free."""


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


def tiles(frames: int, size: int, context: int) -> list[tuple[int, int, int, int]]:
    """``(a, b, lo, hi)`` per tile: frames ``[a, b)`` are kept from the decode of ``[lo, hi)``,
    with ``hi − lo ≤ size`` and ``context`` frames (or the sentence's edge) beside ``[a, b)``."""
    if frames <= size:
        return [(0, frames, 0, frames)]
    if size <= 2 * context:
        raise ValueError(f"decoder size {size} leaves nothing beside {context} frames of context")
    out, a = [], 0
    while a < frames:
        lo = max(0, a - context)
        if lo + size >= frames:  # the last tile: to the end, as short as its context allows
            out.append((a, frames, lo, frames))
            break
        b = lo + size - context
        out.append((a, b, lo, lo + size))
        a = b
    return out


def balanced_tiles(frames: int, size: int, context: int) -> list[tuple[int, int, int, int]]:
    """:func:`tiles` of about equal length for two lanes at once: a latent too long for one
    decode (``> size`` frames) is cut into the fewest equal parts of at most ``size`` frames
    with their context, so that the two lanes finish together."""
    if frames <= size:
        return [(0, frames, 0, frames)]
    if size <= 2 * context:
        raise ValueError(f"decoder size {size} leaves nothing beside {context} frames of context")
    count = max(2, math.ceil(frames / (size - 2 * context)))
    cuts = [round(k * frames / count) for k in range(count + 1)]
    return [
        (a, b, max(0, a - context), min(frames, b + context))
        for a, b in zip(cuts, cuts[1:], strict=False)
    ]


def _padded(dec: HifiGanGenerator, z: torch.Tensor, g: torch.Tensor | None, sizes) -> torch.Tensor:  # type: ignore[no-untyped-def]
    frames = z.shape[-1]
    size = next((s for s in sizes if s >= frames), frames)
    if size == frames:
        return dec(z, g)
    return dec(F.pad(z, (0, size - frames)), g, valid=frames)


def decode_fixed(
    dec: HifiGanGenerator,
    z: torch.Tensor,
    g: torch.Tensor | None,
    hp: VitsHParams,
    sizes: tuple[int, ...] = DECODER_SIZES,
    run_tiles: TileRunner | None = None,
) -> torch.Tensor:
    """``dec(z, g)`` for a batch-1 latent ``z [1, C, T]``, run only on lengths in ``sizes``;
    ``run_tiles`` runs the tiles (:data:`TileRunner`: :func:`balanced_tiles`), else one after
    the other (:func:`tiles`)."""
    hop, frames = hp.hop_length, z.shape[-1]
    cut = tiles if run_tiles is None else balanced_tiles

    def tile(a: int, b: int, lo: int, hi: int) -> Callable[[], torch.Tensor]:
        return lambda: _padded(dec, z[..., lo:hi], g, sizes)[..., (a - lo) * hop : (b - lo) * hop]

    jobs = [tile(*span) for span in cut(frames, max(sizes), receptive_field(hp))]
    pieces = [job() for job in jobs] if run_tiles is None else run_tiles(jobs)
    return pieces[0] if len(pieces) == 1 else torch.cat(pieces, dim=-1)


def warm(dec: HifiGanGenerator, hp: VitsHParams, sizes: tuple[int, ...] = DECODER_SIZES) -> None:
    """Decode once at every size, in the decoder's dtype and device (kernels built ahead)."""
    weight = dec.conv_pre.weight
    g = None
    if dec.cond is not None:
        g = weight.new_zeros(1, dec.cond.in_channels, 1)
    with torch.inference_mode():
        for size in sizes:
            dec(weight.new_zeros(1, hp.inter_channels, size), g)

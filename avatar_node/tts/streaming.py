"""Windowed decoding: audio of a sentence in pieces, each out as soon as it is vocoded.

The flow and the HiFi-GAN decoder are stacks of convolutions along time, so an output frame
depends on input frames within a receptive field only (:func:`flow_receptive_field`,
:func:`receptive_field`: one side, in frames, from the hyper-parameters). A window ``[a, b)``
of output frames is decoded from the latent ``z [a − ctx, b + ctx)`` (clipped to the sentence,
where the whole-sentence decode sees the same zero padding) and the samples of ``[a, b)`` are
kept. The flow runs twice: over just the head the first window needs (``z_p [0, b₀ + ctx +
flow_ctx)``), so the first piece does not wait for the flow of the whole sentence, and then once
over the rest. With contexts at least the receptive fields, the pieces put together are the
whole-sentence decode up to float rounding (tests: SNR ≥ 40 dB, same length to the sample).

Window sizes (:func:`plan_windows`): a small first window (first sound soon), then windows that
grow by ``growth`` up to ``max_frames`` (fewer seams, less overlap to recompute). A window grows
at most ``growth``-fold, so as long as the decoder runs faster than ``1/growth`` of real time,
each piece is ready before the one before it has finished playing. What streaming costs over
the whole-sentence decode: the head flow (first window + 44 frames for joe-medium) and 2 × 12
frames of decoder context per seam: about 15 % more CPU for a 3-piece sentence.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

from ..device import at_most_threads
from .vits.hparams import VitsHParams
from .vits.model import VitsSynthesizer
from .vits.shapes import TileRunner, receptive_field

__all__ = [
    "WHOLE_SENTENCE",
    "StreamPlan",
    "decode_windows",
    "flow_receptive_field",
    "plan_windows",
    "receptive_field",
    "whole_flow",
]


@dataclass(frozen=True)
class StreamPlan:
    """Window sizes in decoder frames (one frame = ``hop_length`` samples)."""

    first_frames: int = 20
    """First window (20 frames ≈ 232 ms at 22050 Hz / hop 256): the first piece of a sentence
    costs the prior, the flow over 64 frames and the decoder over 32, one of the decoder's
    fixed lengths (:data:`.vits.shapes.DECODER_SIZES`; joe-medium's context is 12 frames)."""
    growth: float = 5.2
    """Each later window is at most this many times the one before: 20, 104, 232 frames, whose
    decodes (with 2 × 12 frames of context) are 32, 128 and 256 frames long, so a typical
    sentence (250-400 frames) is three pieces. The second window (104 frames + the flow of the
    rest) is ready well within the 232 ms the first one plays, also on one thread."""
    max_frames: int = 232
    """Largest window (a 256-frame decode with its context)."""


WHOLE_SENTENCE = StreamPlan(first_frames=1 << 30, growth=1.0, max_frames=1 << 30)
"""One piece per model call: the whole-sentence decode, no seams. For the sentences after an
utterance's first, which are ready long before the one before them has finished playing."""


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


def flow_receptive_field(hp: VitsHParams) -> int:
    """Frames on each side that can reach an output frame of the (reverse) flow."""
    per_coupling = sum(
        (hp.flow_kernel_size - 1) * hp.flow_dilation_rate**i // 2 for i in range(hp.flow_wn_layers)
    )
    return hp.flow_count * per_coupling


def whole_flow(model: VitsSynthesizer, z_p: torch.Tensor, g: torch.Tensor | None) -> torch.Tensor:
    """The reverse flow over all of a batch-1 sentence's ``z_p``."""
    return _flow(model, z_p, 0, z_p.shape[-1], g)


def _flow(model: VitsSynthesizer, z_p: torch.Tensor, lo: int, hi: int, g: torch.Tensor | None):  # type: ignore[no-untyped-def]
    """The reverse flow over ``z_p [lo, hi)`` of a batch-1 sentence (mask all ones there), on
    one torch thread like the rest of :meth:`VitsSynthesizer.latent`."""
    part = z_p[:, :, lo:hi]
    with at_most_threads(1):
        return model.flow.reverse(part, part.new_ones(1, 1, hi - lo), g=g)


def decode_windows(
    model: VitsSynthesizer,
    z_p: torch.Tensor,
    g: torch.Tensor | None,
    frames: int,
    plan: StreamPlan,
    context: int | None = None,
    flow_context: int | None = None,
    z: torch.Tensor | None = None,
    run_tiles: TileRunner | None = None,
) -> Iterator[tuple[int, int, torch.Tensor]]:
    """Yield ``(a, b, audio)`` per window: float32 ``[(b − a)·hop]`` samples of frames
    ``[a, b)``, from the flow's input ``z_p [1, C, frames]`` of one sentence (batch 1), or from
    the flow's output ``z`` over the whole sentence where the caller has run it already. The
    decoder's tiles go through ``run_tiles`` (:meth:`.vits.model.VitsSynthesizer.decode`)."""
    hop = model.hp.hop_length
    ctx = receptive_field(model.hp) if context is None else context
    fctx = flow_receptive_field(model.hp) if flow_context is None else flow_context
    windows = plan_windows(frames, plan)
    z_lo = 0
    for k, (a, b) in enumerate(windows):
        lo, hi = max(0, a - ctx), min(frames, b + ctx)
        if k == 0 and len(windows) > 1 and z is None:
            head = _flow(model, z_p, 0, min(frames, hi + fctx), g)  # exact on [0, hi)
            part = head[:, :, lo:hi]
        else:
            if z is None:  # the rest of the sentence in one flow call, exact from lo on
                z_lo = max(0, lo - fctx)
                z = _flow(model, z_p, z_lo, frames, g)
            part = z[:, :, lo - z_lo : hi - z_lo]
        audio = model.decode(part, g, run_tiles)
        yield a, b, audio[0, 0, (a - lo) * hop : (b - lo) * hop]

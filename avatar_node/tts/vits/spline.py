"""Monotonic rational-quadratic spline with linear tails (Durkan et al., Neural Spline Flows).

Used by the stochastic duration predictor's ConvFlow. Inputs outside ``[-B, B]`` pass through
unchanged (identity tails); inside, ``num_bins`` bins of learned width/height and knot
derivatives define the map. Everything is computed with ``torch.where`` over all elements, so
there is no boolean-index scatter.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

MIN_BIN_WIDTH = 1e-3
MIN_BIN_HEIGHT = 1e-3
MIN_DERIVATIVE = 1e-3


def _knots(
    unnormalized: torch.Tensor, low: float, high: float, min_size: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Softmax bin sizes → (knot positions with num_bins+1 entries, bin sizes)."""
    num_bins = unnormalized.shape[-1]
    sizes = torch.softmax(unnormalized, dim=-1)
    sizes = min_size + (1 - min_size * num_bins) * sizes
    knots = F.pad(torch.cumsum(sizes, dim=-1), (1, 0), value=0.0)
    knots = (high - low) * knots + low
    knots[..., 0] = low
    knots[..., -1] = high
    return knots, knots[..., 1:] - knots[..., :-1]


def _bin_index(knots: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Index of the bin holding each value (last knot nudged up by 1e-6, clamped to range)."""
    edges = knots.clone()
    edges[..., -1] += 1e-6
    index = torch.sum(values.unsqueeze(-1) >= edges, dim=-1) - 1
    return index.clamp(0, knots.shape[-1] - 2).unsqueeze(-1)


def rational_quadratic_spline(
    inputs: torch.Tensor,
    unnormalized_widths: torch.Tensor,
    unnormalized_heights: torch.Tensor,
    unnormalized_derivatives: torch.Tensor,
    inverse: bool = False,
    tail_bound: float = 5.0,
) -> torch.Tensor:
    """Apply the spline (or its inverse) element-wise.

    ``inputs`` has shape ``S``; the three parameter tensors have shape ``S + [K]``, ``S + [K]``
    and ``S + [K-1]`` (interior knot derivatives; the two boundary derivatives are 1).
    """
    inside = (inputs >= -tail_bound) & (inputs <= tail_bound)
    boundary = math.log(math.exp(1 - MIN_DERIVATIVE) - 1)  # softplus⁻¹(1 − min) → derivative 1
    padded = F.pad(unnormalized_derivatives, (1, 1))
    padded[..., 0] = boundary
    padded[..., -1] = boundary

    cum_widths, widths = _knots(unnormalized_widths, -tail_bound, tail_bound, MIN_BIN_WIDTH)
    cum_heights, heights = _knots(unnormalized_heights, -tail_bound, tail_bound, MIN_BIN_HEIGHT)
    derivatives = MIN_DERIVATIVE + F.softplus(padded)

    index = _bin_index(cum_heights if inverse else cum_widths, inputs)

    def pick(t: torch.Tensor) -> torch.Tensor:
        return t.gather(-1, index).squeeze(-1)

    x_k, w_k = pick(cum_widths), pick(widths)
    y_k, h_k = pick(cum_heights), pick(heights)
    slope = pick(heights / widths)
    d_k, d_k1 = pick(derivatives), pick(derivatives[..., 1:])
    curvature = d_k + d_k1 - 2 * slope

    if inverse:
        shifted = inputs - y_k
        a = shifted * curvature + h_k * (slope - d_k)
        b = h_k * d_k - shifted * curvature
        c = -slope * shifted
        discriminant = b.pow(2) - 4 * a * c
        root = (2 * c) / (-b - torch.sqrt(discriminant.clamp_min(0)))
        outputs = root * w_k + x_k
    else:
        theta = (inputs - x_k) / w_k
        theta_1m = theta * (1 - theta)
        numerator = h_k * (slope * theta.pow(2) + d_k * theta_1m)
        denominator = slope + curvature * theta_1m
        outputs = y_k + numerator / denominator
    return torch.where(inside, outputs, inputs)

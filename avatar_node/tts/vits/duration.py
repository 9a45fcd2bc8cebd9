"""Duration predictors (``dp``): the stochastic one (SDP, inverse flow) and the deterministic one.

Only the inference direction is implemented. The SDP's ``flows`` list keeps the reference
layout ``[ElementwiseAffine, ConvFlow, Flip, ConvFlow, Flip, ...]`` so state-dict indices match;
index 1 is a parameter-free placeholder because the reverse pass never runs that flow
(its weights are accepted and dropped by the loaders).
"""

from __future__ import annotations

import math
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from .spline import rational_quadratic_spline
from .text_encoder import ChannelLayerNorm


class DilatedDepthSeparableConv(nn.Module):
    """DDSConv: residual stack of depthwise dilated conv → LN → GELU → 1×1 → LN → GELU."""

    def __init__(self, channels: int, kernel_size: int, n_layers: int) -> None:
        super().__init__()
        self.convs_sep = nn.ModuleList()
        self.convs_1x1 = nn.ModuleList()
        self.norms_1 = nn.ModuleList()
        self.norms_2 = nn.ModuleList()
        for i in range(n_layers):
            dilation = kernel_size**i
            padding = (kernel_size * dilation - dilation) // 2
            self.convs_sep.append(
                nn.Conv1d(
                    channels,
                    channels,
                    kernel_size,
                    groups=channels,
                    dilation=dilation,
                    padding=padding,
                )
            )
            self.convs_1x1.append(nn.Conv1d(channels, channels, 1))
            self.norms_1.append(ChannelLayerNorm(channels))
            self.norms_2.append(ChannelLayerNorm(channels))

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor, cond: torch.Tensor | None = None
    ) -> torch.Tensor:
        if cond is not None:
            x = x + cond
        for sep, norm_1, pointwise, norm_2 in zip(
            self.convs_sep, self.norms_1, self.convs_1x1, self.norms_2, strict=True
        ):
            y = F.gelu(norm_1(sep(x * mask)))
            y = F.gelu(norm_2(pointwise(y)))
            x = x + y
        return x * mask


class ElementwiseAffine(nn.Module):
    """``y = m + exp(logs)·x`` per channel; inverse ``(y − m)·exp(−logs)``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.m = nn.Parameter(torch.zeros(channels, 1))
        self.logs = nn.Parameter(torch.zeros(channels, 1))

    def reverse(self, x: torch.Tensor, mask: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return (x - self.m) * torch.exp(-self.logs) * mask


class Flip(nn.Module):
    """Reverse the channel order (its own inverse)."""

    def reverse(self, x: torch.Tensor, mask: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return torch.flip(x, [1])


class ConvFlow(nn.Module):
    """Coupling flow: x1 is transformed by a spline whose parameters come from x0 and cond."""

    def __init__(
        self,
        in_channels: int,
        filter_channels: int,
        kernel_size: int,
        n_layers: int,
        num_bins: int = 10,
        tail_bound: float = 5.0,
    ) -> None:
        super().__init__()
        self.half_channels = in_channels // 2
        self.filter_channels = filter_channels
        self.num_bins = num_bins
        self.tail_bound = tail_bound
        self.pre = nn.Conv1d(self.half_channels, filter_channels, 1)
        self.convs = DilatedDepthSeparableConv(filter_channels, kernel_size, n_layers)
        self.proj = nn.Conv1d(filter_channels, self.half_channels * (num_bins * 3 - 1), 1)

    def reverse(self, x: torch.Tensor, mask: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        x0, x1 = torch.split(x, [self.half_channels] * 2, dim=1)
        h = self.convs(self.pre(x0), mask, cond=cond)
        h = self.proj(h) * mask
        b, c, t = x0.shape
        h = h.reshape(b, c, -1, t).permute(0, 1, 3, 2)  # [b, c, t, 3K-1]
        k = self.num_bins
        scale = math.sqrt(self.filter_channels)
        x1 = rational_quadratic_spline(
            x1,
            h[..., :k] / scale,
            h[..., k : 2 * k] / scale,
            h[..., 2 * k :],
            inverse=True,
            tail_bound=self.tail_bound,
        )
        return torch.cat([x0, x1], dim=1) * mask


class StochasticDurationPredictor(nn.Module):
    """SDP in reverse: noise ``[B, 2, L]`` → log-durations ``[B, 1, L]``."""

    def __init__(
        self,
        in_channels: int,
        kernel_size: int = 3,
        n_flows: int = 4,
        gin_channels: int = 0,
        num_bins: int = 10,
        tail_bound: float = 5.0,
        dds_layers: int = 3,
    ) -> None:
        super().__init__()
        filters = in_channels  # the reference overrides its filter argument with in_channels
        self.pre = nn.Conv1d(in_channels, filters, 1)
        self.proj = nn.Conv1d(filters, filters, 1)
        self.convs = DilatedDepthSeparableConv(filters, kernel_size, dds_layers)
        self.flows = nn.ModuleList([ElementwiseAffine(2)])
        for i in range(n_flows):
            flow: nn.Module = ConvFlow(2, filters, kernel_size, dds_layers, num_bins, tail_bound)
            self.flows.append(flow if i > 0 else nn.Identity())  # flows.1: unused in reverse
            self.flows.append(Flip())
        self.cond = nn.Conv1d(gin_channels, filters, 1) if gin_channels else None

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor,
        noise: torch.Tensor,
        g: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``noise`` is the already-scaled ``eps·noise_scale_w``."""
        h = self.pre(x)
        if g is not None and self.cond is not None:
            h = h + self.cond(g)
        h = self.proj(self.convs(h, mask)) * mask
        z = noise
        for index in range(len(self.flows) - 1, -1, -1):
            if index == 1:
                continue
            flow = cast("ElementwiseAffine | ConvFlow | Flip", self.flows[index])
            z = flow.reverse(z, mask, h)
        return z[:, :1]


class DurationPredictor(nn.Module):
    """Deterministic duration predictor (``use_sdp: false``): conv-ReLU-LN ×2 → 1×1."""

    def __init__(
        self, in_channels: int, filter_channels: int, kernel_size: int, gin_channels: int = 0
    ) -> None:
        super().__init__()
        pad = kernel_size // 2
        self.conv_1 = nn.Conv1d(in_channels, filter_channels, kernel_size, padding=pad)
        self.norm_1 = ChannelLayerNorm(filter_channels)
        self.conv_2 = nn.Conv1d(filter_channels, filter_channels, kernel_size, padding=pad)
        self.norm_2 = ChannelLayerNorm(filter_channels)
        self.proj = nn.Conv1d(filter_channels, 1, 1)
        self.cond = nn.Conv1d(gin_channels, in_channels, 1) if gin_channels else None

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor, g: torch.Tensor | None = None
    ) -> torch.Tensor:
        if g is not None and self.cond is not None:
            x = x + self.cond(g)
        x = self.norm_1(torch.relu(self.conv_1(x * mask)))
        x = self.norm_2(torch.relu(self.conv_2(x * mask)))
        return self.proj(x * mask) * mask

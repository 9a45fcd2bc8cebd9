"""Residual coupling flow (``flow``): mean-only affine couplings around a WaveNet-style stack.

Weight-normalised convolutions are plain ``nn.Conv1d`` here: the loaders fold ``g·v/‖v‖`` into
one weight once. ``flow.flows`` keeps the reference layout (coupling at even indices, Flip at odd).
"""

from __future__ import annotations

from typing import cast

import torch
from torch import nn


class WaveNetStack(nn.Module):
    """WN: gated dilated convolutions with residual and skip outputs, optional conditioning."""

    def __init__(
        self,
        hidden_channels: int,
        kernel_size: int,
        dilation_rate: int,
        n_layers: int,
        gin_channels: int = 0,
    ) -> None:
        super().__init__()
        self.hidden_channels = hidden_channels
        self.n_layers = n_layers
        self.in_layers = nn.ModuleList()
        self.res_skip_layers = nn.ModuleList()
        for i in range(n_layers):
            dilation = dilation_rate**i
            padding = (kernel_size * dilation - dilation) // 2
            self.in_layers.append(
                nn.Conv1d(
                    hidden_channels,
                    2 * hidden_channels,
                    kernel_size,
                    dilation=dilation,
                    padding=padding,
                )
            )
            out = 2 * hidden_channels if i < n_layers - 1 else hidden_channels
            self.res_skip_layers.append(nn.Conv1d(hidden_channels, out, 1))
        self.cond_layer = (
            nn.Conv1d(gin_channels, 2 * hidden_channels * n_layers, 1) if gin_channels else None
        )

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor, g: torch.Tensor | None = None
    ) -> torch.Tensor:
        h = self.hidden_channels
        cond = self.cond_layer(g) if g is not None and self.cond_layer is not None else None
        output: torch.Tensor | None = None
        for i, (in_layer, res_skip) in enumerate(
            zip(self.in_layers, self.res_skip_layers, strict=True)
        ):
            x_in = in_layer(x)
            if cond is not None:
                x_in = x_in + cond[:, i * 2 * h : (i + 1) * 2 * h]
            acts = torch.tanh(x_in[:, :h]) * torch.sigmoid(x_in[:, h:])
            res_skip_acts = res_skip(acts)
            if i < self.n_layers - 1:
                x = (x + res_skip_acts[:, :h]) * mask
                skip = res_skip_acts[:, h:]
            else:
                skip = res_skip_acts
            output = skip if output is None else output + skip
        assert output is not None
        return output * mask


class MeanOnlyCoupling(nn.Module):
    """ResidualCouplingLayer with ``mean_only=True``: x1 ← x1 − m(x0) in reverse."""

    def __init__(
        self,
        channels: int,
        hidden_channels: int,
        kernel_size: int,
        dilation_rate: int,
        n_layers: int,
        gin_channels: int = 0,
    ) -> None:
        super().__init__()
        self.half_channels = channels // 2
        self.pre = nn.Conv1d(self.half_channels, hidden_channels, 1)
        self.enc = WaveNetStack(hidden_channels, kernel_size, dilation_rate, n_layers, gin_channels)
        self.post = nn.Conv1d(hidden_channels, self.half_channels, 1)

    def reverse(self, x: torch.Tensor, mask: torch.Tensor, g: torch.Tensor | None) -> torch.Tensor:
        x0, x1 = torch.split(x, [self.half_channels] * 2, dim=1)
        h = self.enc(self.pre(x0) * mask, mask, g=g)
        mean = self.post(h) * mask
        x1 = (x1 - mean) * mask  # exp(-logs) with logs = 0 is exactly 1
        return torch.cat([x0, x1], dim=1)


class FlowFlip(nn.Module):
    """Channel flip between couplings."""

    def reverse(self, x: torch.Tensor, mask: torch.Tensor, g: torch.Tensor | None) -> torch.Tensor:
        return torch.flip(x, [1])


class ResidualCouplingFlow(nn.Module):
    """``flow``: n couplings each followed by a flip; inference runs it in reverse."""

    def __init__(
        self,
        channels: int,
        hidden_channels: int,
        kernel_size: int,
        dilation_rate: int,
        n_layers: int,
        n_flows: int = 4,
        gin_channels: int = 0,
    ) -> None:
        super().__init__()
        self.flows = nn.ModuleList()
        for _ in range(n_flows):
            self.flows.append(
                MeanOnlyCoupling(
                    channels, hidden_channels, kernel_size, dilation_rate, n_layers, gin_channels
                )
            )
            self.flows.append(FlowFlip())

    def reverse(
        self, z: torch.Tensor, mask: torch.Tensor, g: torch.Tensor | None = None
    ) -> torch.Tensor:
        for flow in reversed(self.flows):
            z = cast("MeanOnlyCoupling | FlowFlip", flow).reverse(z, mask, g)
        return z

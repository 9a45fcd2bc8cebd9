"""HiFi-GAN generator (``dec``): latent frames ``[B, C, T]`` → audio ``[B, 1, T·hop]``.

Residual blocks of type "1" (two convolutions per dilation) and "2" (one per dilation). All
weight-normalised layers are plain convolutions with the norm folded at load time. Activations
that are not needed afterwards are updated in place to save allocations.

A latent zero-padded on the right decodes exactly like the unpadded one when the forward pass is
told the ``valid`` length: every convolution's output is zeroed beyond the valid part (scaled by
each upsampling), so every next convolution sees the zeros the unpadded signal's own padding
would give it. That lets a caller run only a few input lengths (:mod:`.shapes`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

LRELU_SLOPE = 0.1


def _zero_tail(x: torch.Tensor, valid: int | None) -> torch.Tensor:
    """``x`` with samples from ``valid`` on set to zero, in place (no-op for ``None``)."""
    if valid is not None and valid < x.shape[-1]:
        x[..., valid:] = 0
    return x


class Conv1dNHWC(nn.Conv1d):
    """A ``Conv1d`` (same parameters and state dict) run as a 2-D convolution on ``[B, C, 1, T]``
    channels-last activations: oneDNN's NHWC kernels are 1.5–2× faster on long, narrow signals."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad = cast(int, self.padding[0])
        return F.conv2d(
            x,
            self.weight.unsqueeze(2),
            self.bias,
            (1, self.stride[0]),
            (0, pad),
            (1, self.dilation[0]),
            self.groups,
        )


class ConvTranspose1dNHWC(nn.ConvTranspose1d):
    """``ConvTranspose1d`` run on ``[B, C, 1, T]`` channels-last activations.

    With ``polyphase`` set (the default), the stride-s transposed convolution runs as one
    ordinary convolution with s·C_out outputs (one group per output phase) whose channels-last
    result *is* the upsampled signal, so no shuffle copy is needed. oneDNN builds a new
    primitive for every new input length; for a deconvolution that costs up to ~50 ms (per
    sentence!), for the equivalent forward convolution under 1 ms.
    """

    polyphase = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        pad = cast(int, self.padding[0])
        if self.polyphase and self.groups == 1 and self.dilation[0] == 1:
            return self._polyphase_forward(x, pad)
        return F.conv_transpose2d(
            x,
            self.weight.unsqueeze(2),
            self.bias,
            (1, self.stride[0]),
            (0, pad),
            (0, self.output_padding[0]),
            self.groups,
            (1, self.dilation[0]),
        )

    def _phase_weights(self, pad: int) -> tuple[torch.Tensor, torch.Tensor | None, int, int]:
        """Weights ``[s·C_out, C_in, 1, taps]``: output n = q·s + r takes input q − j through
        kernel tap j·s + r + pad, for every j where that tap exists."""
        key = (self.weight.data_ptr(), self.weight.dtype, self.weight.device, pad)
        cached = getattr(self, "_phase_cache", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        stride, kernel = self.stride[0], self.kernel_size[0]
        valid = [
            (r, j)
            for r in range(stride)
            for j in range(-kernel, kernel + 1)
            if 0 <= j * stride + r + pad < kernel
        ]
        j_lo, j_hi = min(j for _, j in valid), max(j for _, j in valid)
        c_in, c_out = self.weight.shape[0], self.weight.shape[1]
        phases = self.weight.new_zeros(stride, c_out, c_in, j_hi - j_lo + 1)
        for r, j in valid:
            phases[r, :, :, j_hi - j] = self.weight[:, :, j * stride + r + pad].T
        bias = None if self.bias is None else self.bias.repeat(stride)
        result = (phases.reshape(stride * c_out, c_in, 1, -1), bias, j_lo, j_hi)
        self._phase_cache = (key, result)
        return result

    def _polyphase_forward(self, x: torch.Tensor, pad: int) -> torch.Tensor:
        stride, c_out = self.stride[0], self.weight.shape[1]
        frames = x.shape[-1]
        out_len = (frames - 1) * stride - 2 * pad + self.kernel_size[0]
        steps = -(-out_len // stride)
        weight, bias, j_lo, j_hi = self._phase_weights(pad)
        y = F.conv2d(F.pad(x, (j_hi, steps - frames - j_lo)), weight, bias)  # [B, s·C, 1, Q]
        batch = y.shape[0]
        y = y.permute(0, 2, 3, 1).reshape(batch, 1, steps * stride, c_out).permute(0, 3, 1, 2)
        return y[..., :out_len]


def _same_padding(kernel_size: int, dilation: int) -> int:
    return (kernel_size * dilation - dilation) // 2


class ResBlock1(nn.Module):
    """Per dilation d: x += conv(k, 1)(lrelu(conv(k, d)(lrelu(x))))."""

    def __init__(self, channels: int, kernel_size: int, dilations: Sequence[int]) -> None:
        super().__init__()
        self.convs1 = nn.ModuleList(
            Conv1dNHWC(
                channels, channels, kernel_size, dilation=d, padding=_same_padding(kernel_size, d)
            )
            for d in dilations
        )
        self.convs2 = nn.ModuleList(
            Conv1dNHWC(channels, channels, kernel_size, padding=_same_padding(kernel_size, 1))
            for _ in dilations
        )

    def forward(self, x: torch.Tensor, valid: int | None = None) -> torch.Tensor:
        for conv1, conv2 in zip(self.convs1, self.convs2, strict=True):
            y = _zero_tail(conv1(F.leaky_relu(x, LRELU_SLOPE)), valid)
            y = _zero_tail(conv2(F.leaky_relu_(y, LRELU_SLOPE)), valid)
            x = y.add_(x)
        return x


class ResBlock2(nn.Module):
    """Per dilation d: x += conv(k, d)(lrelu(x))."""

    def __init__(self, channels: int, kernel_size: int, dilations: Sequence[int]) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            Conv1dNHWC(
                channels, channels, kernel_size, dilation=d, padding=_same_padding(kernel_size, d)
            )
            for d in dilations
        )

    def forward(self, x: torch.Tensor, valid: int | None = None) -> torch.Tensor:
        for conv in self.convs:
            x = _zero_tail(conv(F.leaky_relu(x, LRELU_SLOPE)), valid).add_(x)
        return x


class HifiGanGenerator(nn.Module):
    """``dec``: conv_pre (+cond) → [lrelu → upsample → mean of resblocks]×n → conv_post → tanh."""

    def __init__(
        self,
        initial_channel: int,
        resblock: str,
        resblock_kernel_sizes: Sequence[int],
        resblock_dilation_sizes: Sequence[Sequence[int]],
        upsample_rates: Sequence[int],
        upsample_initial_channel: int,
        upsample_kernel_sizes: Sequence[int],
        gin_channels: int = 0,
    ) -> None:
        super().__init__()
        if resblock not in ("1", "2"):
            raise ValueError(f"unknown resblock type {resblock!r} (expected '1' or '2')")
        block = ResBlock1 if resblock == "1" else ResBlock2
        self.num_kernels = len(resblock_kernel_sizes)
        self.conv_pre = Conv1dNHWC(initial_channel, upsample_initial_channel, 7, padding=3)
        self.ups = nn.ModuleList()
        self.resblocks = nn.ModuleList()
        channels = upsample_initial_channel
        for i, (rate, kernel) in enumerate(zip(upsample_rates, upsample_kernel_sizes, strict=True)):
            channels = upsample_initial_channel // (2 ** (i + 1))
            self.ups.append(
                ConvTranspose1dNHWC(
                    channels * 2, channels, kernel, rate, padding=(kernel - rate) // 2
                )
            )
            for k, dilations in zip(resblock_kernel_sizes, resblock_dilation_sizes, strict=True):
                self.resblocks.append(block(channels, k, dilations))
        self.conv_post = Conv1dNHWC(channels, 1, 7, padding=3, bias=False)
        self.cond = Conv1dNHWC(gin_channels, upsample_initial_channel, 1) if gin_channels else None

    def forward(
        self, x: torch.Tensor, g: torch.Tensor | None = None, valid: int | None = None
    ) -> torch.Tensor:
        """``x [B, C, T]`` (and ``g [B, gin, 1]``) → audio ``[B, 1, T·hop]``. With ``valid``, the
        frames of ``x`` from ``valid`` on are zero padding and the audio is that of
        ``x[..., :valid]`` (followed by ``(T − valid)·hop`` samples to discard)."""
        x = self.conv_pre(x.unsqueeze(2).contiguous(memory_format=torch.channels_last))
        if g is not None and self.cond is not None:
            x = x + self.cond(g.unsqueeze(2))
        x = _zero_tail(x, valid)
        for i, up in enumerate(self.ups):
            if valid is not None:
                valid *= cast(ConvTranspose1dNHWC, up).stride[0]
            x = _zero_tail(up(F.leaky_relu(x, LRELU_SLOPE)), valid)
            blocks = self.resblocks[i * self.num_kernels : (i + 1) * self.num_kernels]
            total = blocks[0](x, valid)
            for block in blocks[1:]:
                total = total.add_(block(x, valid))
            x = total.div_(self.num_kernels)
        x = self.conv_post(F.leaky_relu_(x))
        return torch.tanh_(x).squeeze(2)

"""VITS text encoder (``enc_p``): symbol embedding, relative-position transformer, prior stats.

Tensors are channel-first ``[batch, channels, time]`` throughout; masks are ``[batch, 1, time]``
floats of 0/1. Attribute names follow the reference state dict (``enc_p.encoder.attn_layers.N``,
``norm_layers_1/2``, ``ffn_layers``, ``proj``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def sequence_mask(lengths: torch.Tensor, max_length: int | None = None) -> torch.Tensor:
    """``[B]`` lengths → ``[B, T]`` boolean mask (True inside each sequence)."""
    if max_length is None:
        max_length = int(lengths.max())
    positions = torch.arange(max_length, dtype=lengths.dtype, device=lengths.device)
    return positions.unsqueeze(0) < lengths.unsqueeze(1)


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channel axis of a ``[B, C, T]`` tensor (parameters gamma, beta)."""

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.channels = channels
        self.eps = eps
        self.gamma = nn.Parameter(torch.ones(channels))
        self.beta = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.layer_norm(x.transpose(1, -1), (self.channels,), self.gamma, self.beta, self.eps)
        return y.transpose(1, -1)


class RelativeSelfAttention(nn.Module):
    """Multi-head self-attention with learned relative-position keys and values (window ±w).

    Offsets outside the window use zero embeddings. Relative logits are computed for all 2t−1
    offsets and moved to absolute key positions with ``gather``.
    """

    def __init__(
        self, channels: int, n_heads: int, window_size: int = 4, heads_share: bool = True
    ) -> None:
        super().__init__()
        if channels % n_heads:
            raise ValueError(f"channels {channels} not divisible by n_heads {n_heads}")
        self.n_heads = n_heads
        self.head_channels = channels // n_heads
        self.window_size = window_size
        self.conv_q = nn.Conv1d(channels, channels, 1)
        self.conv_k = nn.Conv1d(channels, channels, 1)
        self.conv_v = nn.Conv1d(channels, channels, 1)
        self.conv_o = nn.Conv1d(channels, channels, 1)
        tables = 1 if heads_share else n_heads
        self.emb_rel_k = nn.Parameter(torch.zeros(tables, 2 * window_size + 1, self.head_channels))
        self.emb_rel_v = nn.Parameter(torch.zeros(tables, 2 * window_size + 1, self.head_channels))

    def _split_heads(self, x: torch.Tensor) -> torch.Tensor:
        b, _, t = x.shape
        return x.view(b, self.n_heads, self.head_channels, t).transpose(2, 3)

    def _relative_table(self, table: torch.Tensor, length: int) -> torch.Tensor:
        """Embeddings for offsets −(length−1)..(length−1): zero outside the window."""
        w = self.window_size
        pad = max(length - 1 - w, 0)
        start = max(w - (length - 1), 0)
        padded = F.pad(table, (0, 0, pad, pad))
        return padded[:, start : start + 2 * length - 1]

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor) -> torch.Tensor:
        b, c, t = x.shape
        query = self._split_heads(self.conv_q(x)) / math.sqrt(self.head_channels)
        key = self._split_heads(self.conv_k(x))
        value = self._split_heads(self.conv_v(x))

        # relative logits for every offset (same matrix shapes as the reference, so the BLAS
        # accumulation order and hence the rounding agree), then placed at offset k − i
        rows = torch.arange(t, device=x.device).unsqueeze(1)
        cols = torch.arange(t, device=x.device).unsqueeze(0)
        rel_logits = torch.matmul(query, self._relative_table(self.emb_rel_k, t).transpose(-2, -1))
        offsets = (cols - rows + t - 1).expand(b, self.n_heads, t, t)
        scores = torch.matmul(query, key.transpose(-2, -1)) + rel_logits.gather(-1, offsets)
        scores = scores.masked_fill(attn_mask == 0, -1e4)
        probs = torch.softmax(scores, dim=-1)

        out = torch.matmul(probs, value)
        # weight of offset j − (t−1) for query i is probs[i, i + j − (t−1)] (0 outside)
        padded = F.pad(probs, (t - 1, t - 1))
        columns = rows + torch.arange(2 * t - 1, device=x.device).unsqueeze(0)
        rel_weights = padded.gather(-1, columns.expand(b, self.n_heads, t, 2 * t - 1))
        out = out + torch.matmul(rel_weights, self._relative_table(self.emb_rel_v, t))
        out = out.transpose(2, 3).reshape(b, c, t)
        return self.conv_o(out)


class FeedForward(nn.Module):
    """Two 'same'-padded convolutions with ReLU, masked before each convolution."""

    def __init__(self, channels: int, filter_channels: int, kernel_size: int) -> None:
        super().__init__()
        self.pad = ((kernel_size - 1) // 2, kernel_size // 2)
        self.conv_1 = nn.Conv1d(channels, filter_channels, kernel_size)
        self.conv_2 = nn.Conv1d(filter_channels, channels, kernel_size)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.conv_1(F.pad(x * mask, self.pad)))
        x = self.conv_2(F.pad(x * mask, self.pad))
        return x * mask


class TransformerEncoder(nn.Module):
    """Post-norm transformer stack (``enc_p.encoder``)."""

    def __init__(
        self,
        channels: int,
        filter_channels: int,
        n_heads: int,
        n_layers: int,
        kernel_size: int,
        window_size: int,
        heads_share: bool,
    ) -> None:
        super().__init__()
        self.attn_layers = nn.ModuleList(
            RelativeSelfAttention(channels, n_heads, window_size, heads_share)
            for _ in range(n_layers)
        )
        self.norm_layers_1 = nn.ModuleList(ChannelLayerNorm(channels) for _ in range(n_layers))
        self.ffn_layers = nn.ModuleList(
            FeedForward(channels, filter_channels, kernel_size) for _ in range(n_layers)
        )
        self.norm_layers_2 = nn.ModuleList(ChannelLayerNorm(channels) for _ in range(n_layers))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        attn_mask = mask.unsqueeze(2) * mask.unsqueeze(-1)
        x = x * mask
        for attn, norm_1, ffn, norm_2 in zip(
            self.attn_layers, self.norm_layers_1, self.ffn_layers, self.norm_layers_2, strict=True
        ):
            x = norm_1(x + attn(x, attn_mask))
            x = norm_2(x + ffn(x, mask))
        return x * mask


class TextEncoder(nn.Module):
    """``enc_p``: ids ``[B, L]`` → (hidden ``[B, H, L]``, m_p, logs_p ``[B, C, L]``, mask)."""

    def __init__(
        self,
        n_vocab: int,
        out_channels: int,
        hidden_channels: int,
        filter_channels: int,
        n_heads: int,
        n_layers: int,
        kernel_size: int,
        window_size: int = 4,
        heads_share: bool = True,
    ) -> None:
        super().__init__()
        self.out_channels = out_channels
        self.hidden_channels = hidden_channels
        self.emb = nn.Embedding(n_vocab, hidden_channels)
        self.encoder = TransformerEncoder(
            hidden_channels,
            filter_channels,
            n_heads,
            n_layers,
            kernel_size,
            window_size,
            heads_share,
        )
        self.proj = nn.Conv1d(hidden_channels, out_channels * 2, 1)

    def forward(
        self, ids: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.emb(ids) * math.sqrt(self.hidden_channels)
        x = x.transpose(1, -1)
        mask = sequence_mask(lengths, ids.shape[1]).unsqueeze(1).to(x.dtype)
        x = self.encoder(x * mask, mask)
        stats = self.proj(x) * mask
        m_p, logs_p = torch.split(stats, self.out_channels, dim=1)
        return x, m_p, logs_p, mask

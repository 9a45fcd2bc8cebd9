"""The VITS generator at inference (``SynthesizerTrn.infer``) and its intermediates.

``VitsSynthesizer.infer`` follows the reference data flow: text encoder → duration predictor →
``w_ceil = ceil(exp(logw)·mask·length_scale)`` → expand the prior by durations →
``z_p = m + eps·exp(logs)·noise_scale`` → inverse flow → HiFi-GAN. Noise can be injected
(``eps_dp``, ``eps_z``); otherwise it is drawn in the reference order from the torch RNG so a
``torch.manual_seed`` before the call reproduces the reference's stochastic output.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ...device import at_most_threads
from .duration import DurationPredictor, StochasticDurationPredictor
from .flow import ResidualCouplingFlow
from .generator import HifiGanGenerator
from .hparams import VitsHParams
from .shapes import DECODER_SIZES, TileRunner, decode_fixed
from .text_encoder import TextEncoder, sequence_mask


@dataclass
class VitsOutputs:
    """Result of :meth:`VitsSynthesizer.infer`; intermediates only with ``intermediates=True``."""

    audio: torch.Tensor
    """``[B, 1, T_max·hop]`` float32 tanh audio (rows past ``y_lengths·hop`` are padding)."""
    y_lengths: torch.Tensor
    """``[B]`` int64 frames per row."""
    w_ceil: torch.Tensor
    """``[B, 1, L]`` frames per input id."""
    z_masked: torch.Tensor | None = None
    """``[B, C, T_max]`` decoder input (``z·y_mask``, float32)."""
    enc_hidden: torch.Tensor | None = None
    m_p: torch.Tensor | None = None
    logs_p: torch.Tensor | None = None
    x_mask: torch.Tensor | None = None
    g: torch.Tensor | None = None
    logw: torch.Tensor | None = None
    w: torch.Tensor | None = None
    y_mask: torch.Tensor | None = None
    attn: torch.Tensor | None = None
    m_p_expanded: torch.Tensor | None = None
    logs_p_expanded: torch.Tensor | None = None
    eps_dp: torch.Tensor | None = None
    eps_z: torch.Tensor | None = None
    z_p: torch.Tensor | None = None
    z: torch.Tensor | None = None


class VitsSynthesizer(nn.Module):
    """Inference part of ``SynthesizerTrn``: ``enc_p``, ``dp``, ``flow``, ``dec``, ``emb_g``."""

    def __init__(self, hp: VitsHParams) -> None:
        super().__init__()
        self.hp = hp
        self.enc_p = TextEncoder(
            hp.n_vocab,
            hp.inter_channels,
            hp.hidden_channels,
            hp.filter_channels,
            hp.n_heads,
            hp.n_layers,
            hp.kernel_size,
            hp.window_size,
            hp.heads_share,
        )
        self.dp: nn.Module
        if hp.use_sdp:
            self.dp = StochasticDurationPredictor(
                hp.hidden_channels,
                3,
                hp.sdp_flows,
                hp.gin_channels,
                hp.sdp_bins,
                hp.sdp_tail_bound,
                hp.sdp_dds_layers,
            )
        else:
            self.dp = DurationPredictor(
                hp.hidden_channels, hp.dp_filter_channels, hp.dp_kernel_size, hp.gin_channels
            )
        self.flow = ResidualCouplingFlow(
            hp.inter_channels,
            hp.hidden_channels,
            hp.flow_kernel_size,
            hp.flow_dilation_rate,
            hp.flow_wn_layers,
            hp.flow_count,
            hp.gin_channels,
        )
        self.dec = HifiGanGenerator(
            hp.inter_channels,
            hp.resblock,
            hp.resblock_kernel_sizes,
            hp.resblock_dilation_sizes,
            hp.upsample_rates,
            hp.upsample_initial_channel,
            hp.upsample_kernel_sizes,
            hp.gin_channels,
        )
        self.emb_g = nn.Embedding(hp.n_speakers, hp.gin_channels) if hp.n_speakers > 0 else None
        self.decoder_sizes: tuple[int, ...] | None = DECODER_SIZES

    @property
    def decoder_dtype(self) -> torch.dtype:
        return self.dec.conv_pre.weight.dtype

    def infer(
        self,
        ids: torch.Tensor,
        lengths: torch.Tensor,
        sid: torch.Tensor | None = None,
        noise_scale: float = 0.667,
        noise_scale_w: float = 0.8,
        length_scale: float = 1.0,
        eps_dp: torch.Tensor | None = None,
        eps_z: torch.Tensor | None = None,
        intermediates: bool = False,
    ) -> VitsOutputs:
        """Run the generator on ``ids [B, L]`` (int64) with ``lengths [B]``.

        ``eps_dp`` ``[B, 2, ≥L]`` and ``eps_z`` ``[B, C, ≥T]`` (a leading batch axis may be
        omitted) replace the standard-normal draws; their leading slices are used.
        """
        out = self.latent(
            ids,
            lengths,
            sid,
            noise_scale,
            noise_scale_w,
            length_scale,
            eps_dp,
            eps_z,
            intermediates,
        )
        assert out.z_masked is not None
        out.audio = self.decode(out.z_masked, out.g)
        return out

    def decode(
        self, z: torch.Tensor, g: torch.Tensor | None = None, run_tiles: TileRunner | None = None
    ) -> torch.Tensor:
        """HiFi-GAN in the decoder dtype: masked latent ``[B, C, T]`` → float32 audio. A batch
        of one runs on the lengths in ``decoder_sizes`` only (:mod:`.shapes`; ``None``: any),
        its tiles through ``run_tiles`` when given."""
        dec_dtype = self.decoder_dtype
        dec_g = None if g is None else g.to(dec_dtype)
        z = z.to(dec_dtype)
        if self.decoder_sizes and z.shape[0] == 1:
            audio = decode_fixed(self.dec, z, dec_g, self.hp, self.decoder_sizes, run_tiles)
        elif run_tiles is not None:
            audio = run_tiles([lambda: self.dec(z, g=dec_g)])[0]
        else:
            audio = self.dec(z, g=dec_g)
        return audio.float()

    @at_most_threads(1)
    def latent(
        self,
        ids: torch.Tensor,
        lengths: torch.Tensor,
        sid: torch.Tensor | None = None,
        noise_scale: float = 0.667,
        noise_scale_w: float = 0.8,
        length_scale: float = 1.0,
        eps_dp: torch.Tensor | None = None,
        eps_z: torch.Tensor | None = None,
        intermediates: bool = False,
        run_flow: bool = True,
    ) -> VitsOutputs:
        """Everything before the decoder: durations, expanded prior, inverse flow. The result's
        ``audio`` is empty; ``z_masked`` and ``g`` are what :meth:`decode` takes. With
        ``run_flow`` false the flow is left to the caller: ``z_p`` and ``y_mask`` are set,
        ``z_masked`` is None (streaming runs the flow window by window). Runs on one torch
        thread (:func:`~avatar_node.device.at_most_threads`): faster for these small layers."""
        device = ids.device
        hidden, m_p, logs_p, x_mask = self.enc_p(ids, lengths)
        g = None
        if self.emb_g is not None:
            if sid is None:
                sid = torch.zeros(ids.shape[0], dtype=torch.long, device=device)
            g = self.emb_g(sid).unsqueeze(-1)

        batch, length = ids.shape
        if isinstance(self.dp, StochasticDurationPredictor):
            if eps_dp is None:  # drawn like the reference: contiguous randn on the CPU generator
                eps_dp = torch.randn(batch, 2, length).to(device=device, dtype=hidden.dtype)
            else:
                eps_dp = _leading(eps_dp, length, device, hidden.dtype)
            logw = self.dp(hidden, x_mask, eps_dp * noise_scale_w, g=g)
        else:
            logw = self.dp(hidden, x_mask, g=g)
        w = torch.exp(logw) * x_mask * length_scale
        w_ceil = torch.ceil(w)
        y_lengths = torch.clamp_min(torch.sum(w_ceil, [1, 2]), 1).long()
        frames = int(y_lengths.max())
        y_mask = sequence_mask(y_lengths, frames).unsqueeze(1).to(x_mask.dtype)

        # token index of every frame: frames before cumsum[k] and at/after cumsum[k-1] map to k
        ends = torch.cumsum(w_ceil[:, 0], dim=-1)  # [B, L]
        positions = torch.arange(frames, device=device, dtype=ends.dtype).expand(batch, frames)
        token = torch.searchsorted(ends, positions.contiguous(), right=True).clamp_max(length - 1)
        gather_index = token.unsqueeze(1).expand(-1, m_p.shape[1], -1)
        m_p_exp = m_p.gather(2, gather_index) * y_mask
        logs_p_exp = logs_p.gather(2, gather_index) * y_mask

        channels = m_p.shape[1]
        if eps_z is None:  # the reference's randn_like of a transposed (C·T, 1, C) tensor
            eps_z = torch.empty_strided(
                (batch, channels, frames),
                (channels * frames, 1, channels),
                device=device,
                dtype=m_p.dtype,
            ).normal_()
        else:
            eps_z = _leading(eps_z, frames, device, m_p.dtype)
        z_p = m_p_exp + eps_z * torch.exp(logs_p_exp) * noise_scale
        if not run_flow:
            return VitsOutputs(
                audio=z_p.new_empty(0),
                y_lengths=y_lengths,
                w_ceil=w_ceil,
                g=g,
                z_p=z_p,
                y_mask=y_mask,
            )
        z = self.flow.reverse(z_p, y_mask, g=g)

        out = VitsOutputs(
            audio=z.new_empty(0), y_lengths=y_lengths, w_ceil=w_ceil, z_masked=z * y_mask, g=g
        )
        if intermediates:
            attn = (token.unsqueeze(-1) == torch.arange(length, device=device)).unsqueeze(1)
            out.attn = attn & y_mask.bool().unsqueeze(-1)
            out.enc_hidden, out.m_p, out.logs_p, out.x_mask = hidden, m_p, logs_p, x_mask
            out.logw, out.w, out.y_mask = logw, w, y_mask
            out.m_p_expanded, out.logs_p_expanded = m_p_exp, logs_p_exp
            out.eps_dp, out.eps_z, out.z_p, out.z = eps_dp, eps_z, z_p, z
        return out


def _leading(
    noise: torch.Tensor, size: int, device: torch.device, dtype: torch.dtype
) -> torch.Tensor:
    """Leading slice ``[..., :size]`` of an injected noise tensor, with a batch axis."""
    if noise.dim() == 2:
        noise = noise.unsqueeze(0)
    if noise.shape[-1] < size:
        raise ValueError(f"injected noise has {noise.shape[-1]} steps, {size} needed")
    return noise[..., :size].to(device=device, dtype=dtype)

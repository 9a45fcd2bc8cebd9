"""Hyper-parameters of the VITS generator (``SynthesizerTrn`` at inference).

Values come from a VITS config's ``model`` section (checkpoint voices) or are inferred from the
weight shapes and graph attributes of a Piper ONNX file (see :mod:`.piper`). Defaults are those
of the original VITS code for the parts the config never states (window 4, flow 4×WN(4, k=5)).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from avatar_node.errors import CheckpointError


@dataclass(frozen=True)
class VitsHParams:
    """Everything needed to build :class:`~.model.VitsSynthesizer` with the right shapes."""

    n_vocab: int
    """Rows of the symbol embedding ``enc_p.emb``."""
    inter_channels: int = 192
    """Channels of the latent z (prior mean/log-scale, flow, decoder input)."""
    hidden_channels: int = 192
    filter_channels: int = 768
    """Inner channels of the text-encoder FFN."""
    n_heads: int = 2
    n_layers: int = 6
    kernel_size: int = 3
    """Kernel of the text-encoder FFN convolutions."""
    window_size: int = 4
    """Relative-attention window (positions −w..w)."""
    heads_share: bool = True
    """Heads share one relative embedding table."""
    resblock: str = "1"
    resblock_kernel_sizes: tuple[int, ...] = (3, 7, 11)
    resblock_dilation_sizes: tuple[tuple[int, ...], ...] = ((1, 3, 5), (1, 3, 5), (1, 3, 5))
    upsample_rates: tuple[int, ...] = (8, 8, 2, 2)
    upsample_initial_channel: int = 512
    upsample_kernel_sizes: tuple[int, ...] = (16, 16, 4, 4)
    n_speakers: int = 0
    """Rows of ``emb_g``; 0 means the model has no speaker embedding."""
    gin_channels: int = 0
    """Speaker-conditioning channels (``cond`` layers exist when > 0)."""
    use_sdp: bool = True
    """Stochastic duration predictor (True) or the deterministic one."""
    dp_filter_channels: int = 256
    """Filter channels of the deterministic duration predictor."""
    dp_kernel_size: int = 3
    sdp_flows: int = 4
    sdp_bins: int = 10
    sdp_tail_bound: float = 5.0
    sdp_dds_layers: int = 3
    flow_count: int = 4
    """Coupling layers in the flow (each followed by a Flip)."""
    flow_wn_layers: int = 4
    flow_kernel_size: int = 5
    flow_dilation_rate: int = 1
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def hop_length(self) -> int:
        """Audio samples per latent frame (product of the upsample rates)."""
        hop = 1
        for rate in self.upsample_rates:
            hop *= rate
        return hop

    @classmethod
    def from_vits_config(cls, model: dict[str, Any], n_vocab: int, n_speakers: int) -> VitsHParams:
        """Build from a VITS / VITS-fast-fine-tuning config's ``model`` section."""
        try:
            return cls(
                n_vocab=n_vocab,
                inter_channels=int(model["inter_channels"]),
                hidden_channels=int(model["hidden_channels"]),
                filter_channels=int(model["filter_channels"]),
                n_heads=int(model["n_heads"]),
                n_layers=int(model["n_layers"]),
                kernel_size=int(model["kernel_size"]),
                resblock=str(model["resblock"]),
                resblock_kernel_sizes=tuple(int(k) for k in model["resblock_kernel_sizes"]),
                resblock_dilation_sizes=tuple(
                    tuple(int(d) for d in ds) for ds in model["resblock_dilation_sizes"]
                ),
                upsample_rates=tuple(int(r) for r in model["upsample_rates"]),
                upsample_initial_channel=int(model["upsample_initial_channel"]),
                upsample_kernel_sizes=tuple(int(k) for k in model["upsample_kernel_sizes"]),
                n_speakers=n_speakers,
                gin_channels=int(model.get("gin_channels", 0) or 0),
                use_sdp=bool(model.get("use_sdp", True)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(
                f"config 'model' section is incomplete or invalid: {exc!r}"
            ) from exc

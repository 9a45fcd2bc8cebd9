"""Import a Piper voice (``x.onnx`` + ``x.onnx.json``) into :class:`~.model.VitsSynthesizer`.

The ONNX initializers are mapped to reference state-dict keys:

* most keep their torch name (``enc_p.encoder.attn_layers.0.conv_q.weight``);
* unnamed ones (``onnx::Conv_NNNN``, or ``sid`` which the exporter gave to the first parameter)
  are named after the node consuming them: ``/flow/flows.0/enc/in_layers.1/Conv`` input 1 →
  ``flow.flows.0.enc.in_layers.1.weight`` (weight norm already folded), a ``/…/emb/Gather``
  table → ``….emb.weight``;
* ``/dp/flows.0/Exp_output_0`` is ``exp(−logs)`` constant-folded, so ``logs = −ln(value)``.

Hyper-parameters missing from the json are inferred from weight shapes, and convolution
dilations / upsample strides from the graph's node attributes.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from avatar_node.errors import CheckpointError, MissingDependency

from .hparams import VitsHParams
from .model import VitsSynthesizer
from .weights import build_model

_TOP_MODULES = ("enc_p.", "dp.", "flow.", "dec.", "emb_g.")
_KEY = re.compile(r"^[A-Za-z_]\w*(\.\w+)+$")


@dataclass
class PiperVoiceData:
    model: VitsSynthesizer
    hparams: VitsHParams
    config: dict[str, Any]
    conv_attributes: dict[str, dict[str, list[int]]] = field(default_factory=dict)


def _module_path(node_name: str) -> str:
    """``/flow/flows.0/enc/in_layers.1/Conv`` → ``flow.flows.0.enc.in_layers.1``."""
    return ".".join(node_name.strip("/").split("/")[:-1])


def onnx_state_dict(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, dict[str, list[int]]]]:
    """ONNX initializers → state dict, plus Conv/ConvTranspose attributes per module path."""
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError as exc:  # pragma: no cover - onnx is a declared dependency
        raise MissingDependency("loading Piper voices needs the 'onnx' package") from exc
    try:
        graph = onnx.load(str(path)).graph
    except Exception as exc:  # onnx raises DecodeError and friends
        raise CheckpointError(f"{path} is not a readable ONNX model: {exc}") from exc

    consumers: dict[str, list[tuple[Any, int]]] = defaultdict(list)
    attributes: dict[str, dict[str, list[int]]] = {}
    for node in graph.node:
        for index, name in enumerate(node.input):
            consumers[name].append((node, index))
        if node.op_type in ("Conv", "ConvTranspose"):
            attributes[_module_path(node.name)] = {
                a.name: list(onnx.helper.get_attribute_value(a))
                for a in node.attribute
                if a.name in ("dilations", "strides", "pads")
            }

    state: dict[str, torch.Tensor] = {}
    for init in graph.initializer:
        array = numpy_helper.to_array(init)
        key = _initializer_key(init.name, consumers.get(init.name, []), array)
        if key is None or key in state:
            continue
        if init.name.endswith("/Exp_output_0"):
            array = -np.log(array)
        state[key] = torch.from_numpy(np.array(array, dtype=np.float32))
    return state, attributes


def _initializer_key(name: str, uses: list[tuple[Any, int]], array: np.ndarray) -> str | None:
    if _KEY.match(name) and name.startswith(_TOP_MODULES):
        return name
    if name.endswith("/Exp_output_0") and name.startswith("/"):
        return _module_path(name) + ".logs"
    if array.dtype.kind != "f":
        return None
    for node, index in uses:
        module = _module_path(node.name)
        if not module.startswith(_TOP_MODULES[:-1] + ("emb_g",)):
            continue
        if node.op_type in ("Conv", "ConvTranspose") and index in (1, 2):
            return f"{module}.{'weight' if index == 1 else 'bias'}"
        if node.op_type == "Gather" and index == 0 and array.ndim == 2:
            return f"{module}.weight" if module else None
    return None


def _count(state: dict[str, torch.Tensor], pattern: str) -> int:
    regex = re.compile(pattern)
    found = {int(m.group(1)) for k in state if (m := regex.match(k))}
    return max(found) + 1 if found else 0


def infer_hparams(
    state: dict[str, torch.Tensor], attrs: dict[str, dict[str, list[int]]], n_speakers: int
) -> VitsHParams:
    """Architecture from weight shapes and conv attributes (Piper json has no model section)."""
    try:
        emb = state["enc_p.emb.weight"]
        rel = state["enc_p.encoder.attn_layers.0.emb_rel_k"]
        ffn = state["enc_p.encoder.ffn_layers.0.conv_1.weight"]
        hidden = int(emb.shape[1])
        n_ups = _count(state, r"dec\.ups\.(\d+)\.")
        n_blocks = _count(state, r"dec\.resblocks\.(\d+)\.")
        n_kernels = n_blocks // n_ups
        resblock = "1" if "dec.resblocks.0.convs1.0.weight" in state else "2"
        conv_name = "convs1" if resblock == "1" else "convs"
        kernels, dilations = [], []
        for j in range(n_kernels):
            n_dil = _count(state, rf"dec\.resblocks\.{j}\.{conv_name}\.(\d+)\.weight")
            kernels.append(int(state[f"dec.resblocks.{j}.{conv_name}.0.weight"].shape[2]))
            dilations.append(
                tuple(
                    attrs[f"dec.resblocks.{j}.{conv_name}.{i}"]["dilations"][0]
                    for i in range(n_dil)
                )
            )
        up_kernels = tuple(int(state[f"dec.ups.{i}.weight"].shape[2]) for i in range(n_ups))
        up_rates = tuple(attrs[f"dec.ups.{i}"]["strides"][0] for i in range(n_ups))
        wn_layers = _count(state, r"flow\.flows\.0\.enc\.in_layers\.(\d+)\.")
        dilation_rate = (
            attrs["flow.flows.0.enc.in_layers.1"]["dilations"][0] if wn_layers > 1 else 1
        )
        use_sdp = "dp.flows.0.m" in state
        gin = int(state["emb_g.weight"].shape[1]) if "emb_g.weight" in state else 0
        sdp_proj = state.get("dp.flows.3.proj.weight")
        return VitsHParams(
            n_vocab=int(emb.shape[0]),
            inter_channels=int(state["enc_p.proj.weight"].shape[0]) // 2,
            hidden_channels=hidden,
            filter_channels=int(ffn.shape[0]),
            n_heads=hidden // int(rel.shape[2]),
            n_layers=_count(state, r"enc_p\.encoder\.attn_layers\.(\d+)\."),
            kernel_size=int(ffn.shape[2]),
            window_size=(int(rel.shape[1]) - 1) // 2,
            heads_share=int(rel.shape[0]) == 1,
            resblock=resblock,
            resblock_kernel_sizes=tuple(kernels),
            resblock_dilation_sizes=tuple(dilations),
            upsample_rates=up_rates,
            upsample_initial_channel=int(state["dec.conv_pre.weight"].shape[0]),
            upsample_kernel_sizes=up_kernels,
            n_speakers=n_speakers if "emb_g.weight" in state else 0,
            gin_channels=gin,
            use_sdp=use_sdp,
            dp_filter_channels=int(state["dp.conv_1.weight"].shape[0]) if not use_sdp else 256,
            dp_kernel_size=int(state["dp.conv_1.weight"].shape[2]) if not use_sdp else 3,
            sdp_flows=(_count(state, r"dp\.flows\.(\d+)\.") + 1) // 2 if use_sdp else 4,
            sdp_bins=(int(sdp_proj.shape[0]) + 1) // 3 if sdp_proj is not None else 10,
            sdp_dds_layers=_count(state, r"dp\.convs\.convs_sep\.(\d+)\.") if use_sdp else 3,
            flow_count=_count(state, r"flow\.flows\.(\d+)\.") // 2 + 1,
            flow_wn_layers=wn_layers,
            flow_kernel_size=int(state["flow.flows.0.enc.in_layers.0.weight"].shape[2]),
            flow_dilation_rate=int(dilation_rate),
        )
    except (KeyError, IndexError, ZeroDivisionError) as exc:
        raise CheckpointError(f"not a Piper VITS graph: cannot infer {exc}") from exc


def load_piper_voice(
    onnx_path: str | Path, config_path: str | Path | None = None
) -> PiperVoiceData:
    """Read ``x.onnx`` and its ``x.onnx.json``; build the model (CPU, float32)."""
    onnx_path = Path(onnx_path)
    config_path = Path(config_path) if config_path else Path(f"{onnx_path}.json")
    if not onnx_path.is_file():
        raise CheckpointError(f"Piper model not found: {onnx_path}")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"cannot read the Piper voice config {config_path}: {exc}") from exc
    state, attrs = onnx_state_dict(onnx_path)
    n_speakers = int(config.get("num_speakers", 1))
    hp = infer_hparams(state, attrs, n_speakers)
    if "num_symbols" in config and int(config["num_symbols"]) != hp.n_vocab:
        raise CheckpointError(
            f"{config_path}: num_symbols={config['num_symbols']} but the model embeds "
            f"{hp.n_vocab} symbols"
        )
    if n_speakers > 1 and hp.n_speakers != n_speakers:
        raise CheckpointError(
            f"{config_path}: num_speakers={n_speakers} but the model has "
            f"{hp.n_speakers or 'no'} speaker embedding rows"
        )
    return PiperVoiceData(
        model=build_model(hp, state, {}, str(onnx_path), ignore_unexpected=True),
        hparams=hp,
        config=config,
        conv_attributes=attrs,
    )

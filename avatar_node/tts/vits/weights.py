"""State-dict preparation shared by the checkpoint and Piper loaders.

* weight norm is folded once: ``weight = g · v / ‖v‖`` (norm over all dims but 0), from either
  the legacy ``weight_g``/``weight_v`` pair or ``parametrizations.weight.original0/1``;
* keys that inference never uses are dropped (posterior encoder, SDP posterior, ``dp.flows.1``);
* everything else is checked strictly against the model: a missing, unexpected or mis-shaped
  key raises :class:`~avatar_node.errors.CheckpointError` naming the key.

The loaded tensors are assigned to the model, not copied.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from avatar_node.errors import CheckpointError

from .hparams import VitsHParams
from .model import VitsSynthesizer

UNUSED_PREFIXES = (
    "enc_q.",
    "dp.post_pre.",
    "dp.post_proj.",
    "dp.post_convs.",
    "dp.post_flows.",
    "dp.flows.1.",
)


def fold_weight_norm(v: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Effective weight of a weight-normalised layer (``dim=0``)."""
    dims = tuple(range(1, v.dim()))
    return v * (g / torch.linalg.vector_norm(v, dim=dims, keepdim=True))


def prepare_state_dict(
    state: Mapping[str, torch.Tensor],
) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Fold weight norm and drop unused keys.

    Returns the new state dict (float32) and, per resulting key, the source key(s) to name in
    error messages.
    """
    result: dict[str, torch.Tensor] = {}
    origin: dict[str, str] = {}
    pending: dict[str, dict[str, torch.Tensor]] = {}
    for key, tensor in state.items():
        if key.startswith("module."):
            key = key[len("module.") :]
        if key.startswith(UNUSED_PREFIXES):
            continue
        if not isinstance(tensor, torch.Tensor):
            raise CheckpointError(f"checkpoint entry {key!r} is not a tensor")
        for suffix, part in (
            (".weight_g", "g"),
            (".weight_v", "v"),
            (".parametrizations.weight.original0", "g"),
            (".parametrizations.weight.original1", "v"),
        ):
            if key.endswith(suffix):
                pending.setdefault(key[: -len(suffix)], {})[part] = tensor
                break
        else:
            result[key] = tensor.float()
            origin[key] = key
    for layer, parts in pending.items():
        if set(parts) != {"g", "v"}:
            missing = "weight_v" if "v" not in parts else "weight_g"
            raise CheckpointError(f"checkpoint key {layer}.{missing} is missing")
        v, g = parts["v"].float(), parts["g"].float()
        if g.numel() != v.shape[0] or g.dim() != v.dim():
            raise CheckpointError(
                f"checkpoint key {layer}.weight_g has shape {list(g.shape)}, "
                f"which does not fit {layer}.weight_v {list(v.shape)}"
            )
        result[layer + ".weight"] = fold_weight_norm(v, g)
        origin[layer + ".weight"] = f"{layer}.weight_g/weight_v"
    return result, origin


def build_model(
    hp: VitsHParams,
    state: Mapping[str, torch.Tensor],
    origin: Mapping[str, str],
    source: str,
    ignore_unexpected: bool = False,
) -> VitsSynthesizer:
    """Build the model and assign ``state`` strictly (CPU, float32, eval mode)."""
    model = VitsSynthesizer(hp)  # on the CPU: a first 'meta' build costs ~2 s of warm-up
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise CheckpointError(f"{source}: key {missing[0]} is missing{more}")
    unexpected = [k for k in state if k not in expected]
    if ignore_unexpected:
        state = {k: v for k, v in state.items() if k in expected}
    elif unexpected:
        more = f" (and {len(unexpected) - 1} more)" if len(unexpected) > 1 else ""
        raise CheckpointError(
            f"{source}: unexpected key {origin.get(unexpected[0], unexpected[0])}{more}; "
            "the config does not describe this checkpoint"
        )
    for key, ref in expected.items():
        if tuple(state[key].shape) != tuple(ref.shape):
            raise CheckpointError(
                f"{source}: key {origin.get(key, key)} has shape {list(state[key].shape)}, "
                f"the config gives {list(ref.shape)}"
            )
    model.load_state_dict({k: v.contiguous() for k, v in state.items()}, strict=True, assign=True)
    model.eval()
    model.requires_grad_(False)
    return model

"""Load Wav2Lip checkpoints in the released format (``wav2lip.pth`` / ``wav2lip_gan.pth``).

The released files are legacy (non-zip) ``torch.save`` pickles of a dict holding ``state_dict``
(keys prefixed ``module.`` by DataParallel) next to ``optimizer``, ``global_step`` and
``global_epoch``. They load with ``weights_only=True``. A bare state dict is accepted too.
Every key and shape is checked; problems raise :class:`CheckpointError` naming the key.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from ...device import resolve_device, resolve_dtype
from ...errors import CheckpointError
from ...safe_load import load_weights
from .model import Wav2Lip

log = logging.getLogger(__name__)


def _strip_prefix(key: str) -> str:
    # The reference removes every occurrence of "module."; keys never contain it elsewhere.
    return key.replace("module.", "")


def extract_state_dict(obj: Any, path: str = "checkpoint") -> dict[str, torch.Tensor]:
    """The model's state dict from a loaded checkpoint object, ``module.`` prefixes removed."""
    if not isinstance(obj, Mapping):
        raise CheckpointError(
            f"{path}: not a Wav2Lip checkpoint (top level is {type(obj).__name__})"
        )
    bare = all(isinstance(v, torch.Tensor) for v in obj.values())
    state = obj if bare and obj else obj.get("state_dict")
    if not isinstance(state, Mapping) or not state:
        keys = ", ".join(map(str, list(obj)[:5]))
        raise CheckpointError(f"{path}: not a Wav2Lip checkpoint (no 'state_dict'; has {keys})")
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(f"{path}: entry {key!r} is not a tensor")
        out[_strip_prefix(str(key))] = value
    return out


def check_state_dict(model: torch.nn.Module, state: Mapping[str, torch.Tensor], path: str) -> None:
    """Raise :class:`CheckpointError` on the first missing, unexpected or mis-shaped key."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing and len(missing) == len(expected):
        raise CheckpointError(
            f"{path}: not a Wav2Lip checkpoint (none of its keys match, e.g. {next(iter(state))!r})"
        )
    if missing:
        raise CheckpointError(f"{path}: missing key {missing[0]!r} ({len(missing)} missing)")
    if unexpected:
        raise CheckpointError(
            f"{path}: unexpected key {unexpected[0]!r} ({len(unexpected)} unexpected); "
            "is this a Wav2Lip generator checkpoint (not the expert discriminator)?"
        )
    for key, ref in expected.items():
        got = state[key]
        if ref.dim() == 0 and got.shape == (1,):
            continue  # pre-0.4 style scalar (e.g. num_batches_tracked); torch accepts it too
        if tuple(got.shape) != tuple(ref.shape):
            raise CheckpointError(
                f"{path}: key {key!r} has shape {tuple(got.shape)}, expected {tuple(ref.shape)}"
            )
        if got.is_floating_point() != ref.is_floating_point():
            raise CheckpointError(
                f"{path}: key {key!r} has dtype {got.dtype}, expected {ref.dtype}"
            )


def load_wav2lip(
    path: str | Path,
    device: str | torch.device = "cpu",
    dtype: str | torch.dtype | None = None,
) -> Wav2Lip:
    """Load a Wav2Lip generator checkpoint; returns the model in eval mode on ``device``.

    ``dtype`` (``float32`` default, ``bfloat16``, ``float16`` on CUDA) casts the weights;
    BatchNorm statistics are cast too, so keep float32 for exact parity with the reference.
    """
    path = Path(path)
    obj = load_weights(path, "Wav2Lip checkpoint")  # one-line diagnosis of corrupt/unsafe files
    state = extract_state_dict(obj, str(path))
    model = Wav2Lip()
    check_state_dict(model, state, str(path))
    model.load_state_dict(state, strict=True)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    dev = device if isinstance(device, torch.device) else resolve_device(device)
    if isinstance(dtype, torch.dtype):
        tdtype = dtype
    else:
        tdtype = resolve_dtype(dtype, dev)
    model.to(device=dev, dtype=tdtype)
    log.info("loaded Wav2Lip checkpoint %s on %s (%s)", path, dev, tdtype)
    return model

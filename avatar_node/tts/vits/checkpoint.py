"""Load a VITS / VITS-fast-fine-tuning generator checkpoint (``G_*.pth``) with its ``config.json``.

Hyper-parameters come from the config's ``model`` section, ``n_vocab = len(symbols)`` and the
speaker count from ``data.n_speakers``. The file is read with ``torch.load(weights_only=True)``;
its ``model`` entry (or ``state_dict`` / a bare state dict) is folded and checked strictly
(:mod:`.weights`). Every failure is one :class:`~avatar_node.errors.CheckpointError`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from avatar_node.errors import CheckpointError
from avatar_node.safe_load import load_weights

from .hparams import VitsHParams
from .model import VitsSynthesizer
from .weights import build_model, prepare_state_dict


@dataclass
class CheckpointVoiceData:
    """A loaded checkpoint voice: model plus what the text front-end and API need."""

    model: VitsSynthesizer
    hparams: VitsHParams
    symbols: list[str] | None
    cleaners: list[str]
    add_blank: bool
    sample_rate: int
    speakers: dict[str, int] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)


def read_config(path: str | Path) -> dict[str, Any]:
    try:
        config = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CheckpointError(f"config file not found: {path}") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"cannot read config {path}: {exc}") from exc
    if not isinstance(config, dict) or not isinstance(config.get("model"), dict):
        raise CheckpointError(f"{path} is not a VITS config (no 'model' section)")
    return config


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """``torch.load`` (weights only) and pick the generator state dict out of the container."""
    path = Path(path)
    data = load_weights(path, "checkpoint file")  # one-line diagnosis of corrupt/unsafe files
    state: Any = data
    if isinstance(data, dict):
        for entry in ("model", "state_dict"):
            if isinstance(data.get(entry), dict):
                state = data[entry]
                break
    if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
        raise CheckpointError(f"{path} holds no state dict (found {type(state).__name__})")
    keys = [k[len("module.") :] if k.startswith("module.") else k for k in state]
    if not any(k.startswith("enc_p.") for k in keys) or not any(k.startswith("dec.") for k in keys):
        sample = ", ".join(list(state)[:3])
        raise CheckpointError(
            f"{path} is not a VITS generator checkpoint: no enc_p.*/dec.* weights "
            f"(found keys like {sample})"
        )
    return state


def speaker_names(config: dict[str, Any]) -> dict[str, int]:
    """Speaker name → id from ``data.spk2id`` or a top-level ``speakers`` dict/list."""
    table = config.get("data", {}).get("spk2id") or config.get("speakers") or {}
    if isinstance(table, list):
        return {str(name): i for i, name in enumerate(table)}
    if isinstance(table, dict):
        return {str(name): int(i) for name, i in table.items()}
    return {}


def load_checkpoint_voice(
    config_path: str | Path, checkpoint_path: str | Path
) -> CheckpointVoiceData:
    """Read config and checkpoint, check they agree, build the model (CPU, float32)."""
    config = read_config(config_path)
    data = config.get("data", {})
    state, origin = prepare_state_dict(read_state_dict(checkpoint_path))
    source = str(checkpoint_path)

    emb = state.get("enc_p.emb.weight")
    if emb is None:
        raise CheckpointError(f"{source}: key enc_p.emb.weight is missing")
    symbols = config.get("symbols")
    if symbols is not None:
        symbols = [str(s) for s in symbols]
        if len(symbols) != emb.shape[0]:
            raise CheckpointError(
                f"{source}: the config lists {len(symbols)} symbols but enc_p.emb.weight has "
                f"{emb.shape[0]} rows; this checkpoint was trained with another symbol set"
            )
    n_vocab = len(symbols) if symbols is not None else int(emb.shape[0])

    n_speakers_cfg = int(data.get("n_speakers", 0) or 0)
    emb_g = state.get("emb_g.weight")
    if emb_g is not None:
        if n_speakers_cfg != emb_g.shape[0]:
            raise CheckpointError(
                f"{source}: the config says n_speakers={n_speakers_cfg} but emb_g.weight has "
                f"{emb_g.shape[0]} speakers"
            )
        n_speakers = n_speakers_cfg
    elif n_speakers_cfg > 1:
        raise CheckpointError(
            f"{source}: the config says n_speakers={n_speakers_cfg} but key emb_g.weight is missing"
        )
    else:
        n_speakers = 0
    speakers = speaker_names(config)
    bad = {name: sid for name, sid in speakers.items() if not 0 <= sid < max(n_speakers, 1)}
    if bad:
        raise CheckpointError(f"{config_path}: speaker ids out of range: {bad}")

    hp = VitsHParams.from_vits_config(config["model"], n_vocab, n_speakers)
    model = build_model(hp, state, origin, source)
    return CheckpointVoiceData(
        model=model,
        hparams=hp,
        symbols=symbols,
        cleaners=[str(c) for c in data.get("text_cleaners", [])],
        add_blank=bool(data.get("add_blank", True)),
        sample_rate=int(data.get("sampling_rate", 22050)),
        speakers=speakers if n_speakers > 1 or emb_g is not None else {},
        config=config,
    )

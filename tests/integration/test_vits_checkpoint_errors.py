"""Loading errors: every bad file gives one clear CheckpointError naming the problem."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch

from avatar_node.errors import CheckpointError, UnknownSpeaker
from avatar_node.tts import load_voice
from avatar_node.tts.vits import VitsHParams, VitsSynthesizer

pytestmark = pytest.mark.integration

# the session fixtures that rebuild the reference checkpoint once (shared with the parity tests)


def write_config(path: Path, config: dict[str, Any]) -> Path:
    path.write_text(json.dumps(config, ensure_ascii=False))
    return path


def test_truncated_checkpoint(tmp_path: Path, vits_config: Path, vits_checkpoint: Path) -> None:
    truncated = tmp_path / "G_truncated.pth"
    with vits_checkpoint.open("rb") as src, truncated.open("wb") as dst:
        dst.write(src.read(vits_checkpoint.stat().st_size // 2))
    with pytest.raises(CheckpointError, match="not a PyTorch checkpoint .*truncated") as err:
        load_voice(vits_config, truncated, device="cpu")
    assert "\n" not in str(err.value)


def test_symbol_count_disagrees(tmp_path: Path, vits_config: Path, vits_checkpoint: Path) -> None:
    config = json.loads(vits_config.read_text())
    config["symbols"] = config["symbols"][:-1]
    bad = write_config(tmp_path / "config.json", config)
    with pytest.raises(CheckpointError, match="77 symbols but enc_p.emb.weight has 78 rows"):
        load_voice(bad, vits_checkpoint, device="cpu")


def test_speaker_count_disagrees(tmp_path: Path, vits_config: Path, vits_checkpoint: Path) -> None:
    config = json.loads(vits_config.read_text())
    config["data"]["n_speakers"] = 3
    bad = write_config(tmp_path / "config.json", config)
    with pytest.raises(CheckpointError, match="n_speakers=3 but emb_g.weight has 2 speakers"):
        load_voice(bad, vits_checkpoint, device="cpu")


def test_checkpoint_of_another_model(tmp_path: Path, vits_config: Path) -> None:
    other = tmp_path / "wav2lip.pth"
    state = {"module.audio_encoder.0.conv_block.0.weight": torch.zeros(32, 1, 3, 3)}
    torch.save({"state_dict": state, "optimizer": {}, "global_step": 1}, other)
    with pytest.raises(CheckpointError, match="not a VITS generator checkpoint"):
        load_voice(vits_config, other, device="cpu")


class _Payload:
    """Unpickling this would call ``Path.touch`` on a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (Path.touch, (str(self.marker),))  # type: ignore[return-value]


def test_malicious_pickle_is_refused(tmp_path: Path, vits_config: Path) -> None:
    marker = tmp_path / "payload-ran"
    evil = tmp_path / "G_evil.pth"
    torch.save({"model": {"enc_p.emb.weight": torch.zeros(1)}, "x": _Payload(marker)}, evil)
    with pytest.raises(CheckpointError, match="contains code objects; refused") as err:
        load_voice(vits_config, evil, device="cpu")
    assert "\n" not in str(err.value)
    assert not marker.exists()


TINY_MODEL = {
    "inter_channels": 8, "hidden_channels": 8, "filter_channels": 16, "n_heads": 2,
    "n_layers": 1, "kernel_size": 3, "p_dropout": 0.1, "resblock": "1",
    "resblock_kernel_sizes": [3], "resblock_dilation_sizes": [[1, 3]],
    "upsample_rates": [4, 2], "upsample_initial_channel": 16, "upsample_kernel_sizes": [8, 4],
    "gin_channels": 4,
}  # fmt: skip


@pytest.fixture
def tiny_files(tmp_path: Path) -> tuple[Path, dict[str, torch.Tensor]]:
    """A tiny config and its matching reference-format state (with weight-norm pairs)."""
    config = {
        "data": {"text_cleaners": [], "sampling_rate": 16000, "add_blank": True, "n_speakers": 2},
        "model": TINY_MODEL,
        "symbols": list("_abcdefgh"),
        "speakers": ["ann", "bob"],
    }
    hp = VitsHParams.from_vits_config(TINY_MODEL, 9, 2)
    torch.manual_seed(0)
    state = dict(VitsSynthesizer(hp).state_dict())
    weight = state.pop("dec.ups.0.weight")  # store one layer as a weight-norm pair
    state["dec.ups.0.weight_v"] = weight
    state["dec.ups.0.weight_g"] = weight.flatten(1).norm(dim=1).reshape(-1, 1, 1)
    state["enc_q.pre.weight"] = torch.zeros(3)  # training-only keys are accepted and dropped
    return write_config(tmp_path / "config.json", config), state


def save(path: Path, state: dict[str, torch.Tensor]) -> Path:
    torch.save({"model": state, "iteration": 1, "optimizer": None, "learning_rate": 2e-4}, path)
    return path


def test_tiny_checkpoint_loads_with_named_speakers(tmp_path: Path, tiny_files) -> None:  # type: ignore[no-untyped-def]
    config, state = tiny_files
    voice = load_voice(config, save(tmp_path / "G.pth", state), device="cpu")
    assert voice.speakers == {"ann": 0, "bob": 1} and voice.sample_rate == 16000
    assert voice.resolve_speaker("bob") == 1 and voice.resolve_speaker(None) == 0
    with pytest.raises(UnknownSpeaker):
        voice.resolve_speaker("carol")
    with pytest.raises(UnknownSpeaker):
        voice.resolve_speaker(2)
    audio = voice.synthesize_ids([0, 1, 0, 2, 0], speaker="ann", noise_scale=0, noise_scale_w=0)
    assert audio.size % voice.hop_length == 0 and audio.size > 0


def test_missing_key_is_named(tmp_path: Path, tiny_files) -> None:  # type: ignore[no-untyped-def]
    config, state = tiny_files
    del state["flow.flows.2.enc.in_layers.0.weight"]
    with pytest.raises(CheckpointError, match=r"key flow\.flows\.2\.enc\.in_layers\.0\.weight"):
        load_voice(config, save(tmp_path / "G.pth", state), device="cpu")
    del state["dec.ups.0.weight_g"]
    with pytest.raises(CheckpointError, match=r"dec\.ups\.0\.weight_g is missing"):
        load_voice(config, save(tmp_path / "G2.pth", state), device="cpu")


def test_misshaped_key_is_named(tmp_path: Path, tiny_files) -> None:  # type: ignore[no-untyped-def]
    config, state = tiny_files
    state["enc_p.proj.weight"] = torch.zeros(15, 8, 1)
    with pytest.raises(CheckpointError, match=r"enc_p\.proj\.weight has shape \[15, 8, 1\]"):
        load_voice(config, save(tmp_path / "G.pth", state), device="cpu")


def test_missing_files_and_bad_config(tmp_path: Path, tiny_files) -> None:  # type: ignore[no-untyped-def]
    config, state = tiny_files
    with pytest.raises(CheckpointError, match="not found"):
        load_voice(config, tmp_path / "nope.pth", device="cpu")
    with pytest.raises(CheckpointError, match="not found"):
        load_voice(tmp_path / "nope.json", save(tmp_path / "G.pth", state), device="cpu")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="cannot read config"):
        load_voice(tmp_path / "bad.json", tmp_path / "G.pth", device="cpu")
    with pytest.raises(CheckpointError, match="together with its checkpoint"):
        load_voice(config, device="cpu")


def test_bad_piper_files(tmp_path: Path) -> None:
    from avatar_node.tts import default_voice_path

    model = tmp_path / "broken.onnx"
    model.write_bytes(b"\x00not an onnx model")
    shutil.copy(f"{default_voice_path()}.json", f"{model}.json")
    with pytest.raises(CheckpointError, match="not a readable ONNX model"):
        load_voice(model, device="cpu")
    with pytest.raises(CheckpointError, match="not found"):
        load_voice(tmp_path / "missing.onnx", device="cpu")

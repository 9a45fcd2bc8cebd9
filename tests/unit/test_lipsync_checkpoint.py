"""Wav2Lip checkpoint loading: the released layout, and clear errors for bad files."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest
import torch

from avatar_node.errors import CheckpointError
from avatar_node.lipsync.wav2lip import Wav2Lip, load_wav2lip


@pytest.fixture(scope="module")
def released_state() -> dict[str, torch.Tensor]:
    """A fresh model's state dict with DataParallel's ``module.`` prefix, like the release."""
    torch.manual_seed(0)
    state = Wav2Lip().state_dict()
    return collections.OrderedDict((f"module.{k}", v) for k, v in state.items())


def _save(path: Path, obj: object) -> Path:
    torch.save(obj, path, _use_new_zipfile_serialization=False)  # legacy format, as released
    return path


def _released(state: dict) -> dict:
    return {"state_dict": state, "optimizer": {"state": {}, "param_groups": [{"lr": 1e-4}]},
            "global_step": 3000, "global_epoch": 7}  # fmt: skip


@pytest.fixture(scope="module")
def good_file(tmp_path_factory, released_state) -> Path:
    return _save(tmp_path_factory.mktemp("w2l") / "wav2lip.pth", _released(released_state))


def test_loads_released_layout(good_file: Path, released_state) -> None:
    model = load_wav2lip(good_file)
    assert not model.training
    key = "face_encoder_blocks.0.0.conv_block.1.running_mean"
    assert torch.equal(model.state_dict()[key], released_state[f"module.{key}"])
    with torch.inference_mode():
        out = model(torch.zeros(2, 1, 80, 16), torch.rand(2, 6, 96, 96))
    assert out.shape == (2, 3, 96, 96)
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0


def test_truncated_file(tmp_path: Path, good_file: Path) -> None:
    bad = tmp_path / "cut.pth"
    bad.write_bytes(good_file.read_bytes()[:1_000_000])
    with pytest.raises(CheckpointError, match=r"cut\.pth: not a PyTorch checkpoint \(") as err:
        load_wav2lip(bad)
    assert "\n" not in str(err.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        load_wav2lip(tmp_path / "nope.pth")


def test_wrong_model(tmp_path: Path) -> None:
    other = torch.nn.Sequential(torch.nn.Conv1d(4, 4, 3)).state_dict()
    path = _save(tmp_path / "g.pth", {"model": other, "iteration": 1})
    with pytest.raises(CheckpointError, match="not a Wav2Lip checkpoint"):
        load_wav2lip(path)


def test_missing_key_is_named(tmp_path: Path, released_state) -> None:
    state = collections.OrderedDict(released_state)
    del state["module.audio_encoder.3.conv_block.0.weight"]
    with pytest.raises(CheckpointError, match=r"audio_encoder\.3\.conv_block\.0\.weight"):
        load_wav2lip(_save(tmp_path / "m.pth", _released(state)))


def test_wrong_shape_is_named(tmp_path: Path, released_state) -> None:
    state = collections.OrderedDict(released_state)
    state["module.output_block.1.weight"] = torch.zeros(4, 32, 1, 1)
    with pytest.raises(CheckpointError, match=r"output_block\.1\.weight.*shape"):
        load_wav2lip(_save(tmp_path / "s.pth", _released(state)))


def test_not_a_torch_file(tmp_path: Path) -> None:
    path = tmp_path / "x.pth"
    path.write_text("hello")
    with pytest.raises(CheckpointError):
        load_wav2lip(path)

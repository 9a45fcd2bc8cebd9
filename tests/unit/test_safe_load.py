"""The shared checkpoint reader tells a corrupt file from an unsafe pickle, in one line each."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import torch

from avatar_node.errors import CheckpointError
from avatar_node.safe_load import load_weights


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def _error(path: Path) -> str:
    with pytest.raises(CheckpointError) as err:
        load_weights(path)
    message = str(err.value)
    assert "\n" not in message and err.value.path == str(path)
    assert "weights_only" not in message, "torch's multi-line advice leaked into the message"
    return message


@pytest.mark.parametrize("legacy", [False, True])
def test_good_checkpoint_loads(tmp_path: Path, legacy: bool) -> None:
    path = tmp_path / "ok.pth"
    torch.save({"w": torch.ones(3)}, path, _use_new_zipfile_serialization=not legacy)
    assert torch.equal(load_weights(path)["w"], torch.ones(3))


@pytest.mark.parametrize("legacy", [False, True])
def test_truncated_is_not_a_checkpoint(tmp_path: Path, legacy: bool) -> None:
    path = tmp_path / "cut.pth"
    torch.save({"w": torch.ones(4096)}, path, _use_new_zipfile_serialization=not legacy)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert "not a PyTorch checkpoint (corrupt or truncated" in _error(path)


def test_random_bytes_are_not_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "random.pth"
    path.write_bytes(b"\x01" + os.urandom(4096))
    message = _error(path)
    assert "not a PyTorch checkpoint" in message and "refused" not in message


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.pth"
    path.write_bytes(b"")
    assert "not a PyTorch checkpoint (the file is empty)" in _error(path)


@pytest.mark.parametrize("legacy", [False, True])
def test_unsafe_pickle_is_refused_without_running(tmp_path: Path, legacy: bool) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "evil.pth"
    torch.save({"w": torch.ones(1), "x": _Payload(marker)}, path,
               _use_new_zipfile_serialization=not legacy)  # fmt: skip
    message = _error(path)
    assert "contains code objects; refused" in message and "system" in message
    assert not marker.exists()


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="Wav2Lip checkpoint not found"):
        load_weights(tmp_path / "absent.pth", "Wav2Lip checkpoint")

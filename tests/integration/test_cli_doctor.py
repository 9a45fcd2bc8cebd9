"""``avatar-node doctor`` loads every voice, the lip-sync checkpoint and every avatar as ``run``
does, and fails naming the option, the file and the reason."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from avatar_node.cli import main
from avatar_node.errors import EXIT_FAILED, EXIT_OK


def doctor(tmp_path: Path, broker, yaml_body: str, *flags: str, capsys) -> tuple[int, list[str]]:
    cfg = tmp_path / "node.yaml"
    cfg.write_text(f"mqtt: {{port: {broker.port}}}\n" + yaml_body)
    code = main(["doctor", "--config", str(cfg), *flags])
    out = capsys.readouterr().out.splitlines()
    return code, out


def fails(lines: list[str]) -> list[str]:
    return [ln for ln in lines if ln.startswith("FAIL")]


def test_all_good_passes(tmp_path, broker, capsys):
    code, lines = doctor(tmp_path, broker, "", capsys=capsys)
    assert code == EXIT_OK, lines
    assert fails(lines) == []
    assert any(ln.startswith("ok") and "voices.default" in ln for ln in lines)
    assert any(ln.startswith("ok") and "lipsync.engine" in ln for ln in lines)
    assert any(ln.startswith("ok") and "avatars.default" in ln for ln in lines)


def test_corrupt_voice(tmp_path, broker, capsys):
    model = tmp_path / "broken.onnx"
    model.write_bytes(os.urandom(8192))
    (tmp_path / "broken.onnx.json").write_text("{}")
    body = f"voices:\n  default: {{}}\n  broken: {{model: {model}}}\n"
    code, lines = doctor(tmp_path, broker, body, "--skip-avatars", capsys=capsys)
    assert code == EXIT_FAILED
    [line] = fails(lines)
    assert "voices.broken.model" in line and str(model) in line
    assert "not a readable ONNX model" in line


def test_missing_voice_file(tmp_path, broker, capsys):
    model = tmp_path / "gone.onnx"
    body = f"voices:\n  default: {{}}\n  gone: {{model: {model}}}\n"
    code, lines = doctor(tmp_path, broker, body, "--skip-avatars", capsys=capsys)
    assert code == EXIT_FAILED
    [line] = fails(lines)
    assert "voices.gone.model" in line and str(model) in line and "not found" in line


@pytest.mark.parametrize("content", [b"", b"\x80\x02" + os.urandom(64), os.urandom(4096)])
def test_corrupt_wav2lip_checkpoint(tmp_path, broker, capsys, content):
    ckpt = tmp_path / "wav2lip.pth"
    ckpt.write_bytes(content)
    body = f"lipsync: {{checkpoint: {ckpt}}}\n"
    code, lines = doctor(tmp_path, broker, body, "--skip-voices", capsys=capsys)
    assert code == EXIT_FAILED
    [line] = fails(lines)
    assert line.startswith("FAIL lipsync.checkpoint: ") and str(ckpt) in line
    assert "not a PyTorch checkpoint" in line
    # The avatars are still checked (for a face), not skipped.
    assert any(ln.startswith("ok") and "avatars.default" in ln for ln in lines)


def test_faceless_avatar_image(tmp_path, broker, capsys):
    image = tmp_path / "wall.jpg"
    cv2.imwrite(str(image), np.full((480, 360, 3), 128, np.uint8))
    body = f"avatars:\n  default: {{}}\n  wall: {{source: {image}}}\n"
    code, lines = doctor(tmp_path, broker, body, "--skip-voices", capsys=capsys)
    assert code == EXIT_FAILED
    [line] = fails(lines)
    assert "avatars.wall.source" in line and str(image) in line and "no face" in line

"""Every start-up failure is ONE line on stderr naming the option, then a documented exit code.

Each case runs the real ``avatar-node`` command (``python -m avatar_node``) in a subprocess, so a
traceback anywhere would show. Logs are limited to errors (``--log-level error``) so that the
failure line is all that stderr holds.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from avatar_node.errors import EXIT_BROKER, EXIT_CONFIG, EXIT_MODEL, EXIT_PORT
from tests.conftest import REPO, free_port


def avatar_node(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "AVATAR_DEMO_STATE": os.devnull + ".absent"}
    env.pop("AVATAR_CONFIG_FILE", None)
    return subprocess.run([sys.executable, "-m", "avatar_node", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip


def one_line(proc: subprocess.CompletedProcess[str], code: int, *needles: str) -> str:
    """The failure as the user sees it: exactly one line, no traceback, the given words."""
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    line = lines[0]
    assert line.startswith("avatar-node: "), line
    for needle in needles:
        assert needle in line, line
    assert proc.returncode == code, (proc.returncode, line)
    return line


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port something already listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


def write_config(tmp_path: Path, text: str) -> Path:
    cfg = tmp_path / "node.yaml"
    cfg.write_text(text)
    return cfg


def test_yaml_syntax_error(tmp_path):
    cfg = write_config(tmp_path, "mqtt:\n  port: 1883\n  host: [a\nweb: {\n")
    line = one_line(avatar_node("run", "--config", str(cfg)), EXIT_CONFIG, "--config", str(cfg),
                    "YAML syntax error at line 4, column 4")  # fmt: skip
    assert "fix the YAML" in line


def test_invalid_value_names_the_option(tmp_path):
    cfg = write_config(tmp_path, "mqtt: {port: -1}\n")
    one_line(avatar_node("run", "--config", str(cfg)), EXIT_CONFIG, "mqtt.port", str(cfg))


@pytest.mark.parametrize("command", ["run", "demo"])
def test_busy_web_port(command, tmp_path, busy_port):
    cfg = write_config(tmp_path, f"web: {{port: {busy_port}}}\nmqtt: {{port: 0}}\n")
    line = one_line(avatar_node(command, "--config", str(cfg), "--log-level", "error"),
                    EXIT_PORT, "web.port", f"127.0.0.1:{busy_port} is already in use")  # fmt: skip
    assert "AVATAR_WEB__PORT" in line


@pytest.mark.parametrize("command", [["say", "Hello"], ["listen"]])
def test_refused_broker(command):
    port = free_port()  # nothing listens there
    line = one_line(avatar_node(*command, "--port", str(port)), EXIT_BROKER, "--host/--port",
                    f"127.0.0.1:{port}", "refused")  # fmt: skip
    assert "start a broker" in line


def test_corrupt_wav2lip_checkpoint(tmp_path):
    ckpt = tmp_path / "wav2lip.pth"
    ckpt.write_bytes(os.urandom(4096))
    cfg = write_config(tmp_path, f"lipsync: {{checkpoint: {ckpt}}}\nweb: {{port: 0}}\n")
    line = one_line(avatar_node("run", "--config", str(cfg), "--log-level", "error"), EXIT_MODEL,
                    "lipsync.checkpoint", str(ckpt), "not a PyTorch checkpoint")  # fmt: skip
    assert "download wav2lip.pth again" in line


def test_missing_voice_file(tmp_path):
    model = tmp_path / "voices" / "en_US-lessac-medium.onnx"
    cfg = write_config(tmp_path, f"voices:\n  default: {{model: {model}}}\n")
    line = one_line(avatar_node("run", "--config", str(cfg)), EXIT_MODEL,
                    "voices.default.model", str(model), "not found")  # fmt: skip
    assert "bundled voice" in line


def test_corrupt_default_voice(tmp_path):
    model = tmp_path / "broken.onnx"
    model.write_bytes(os.urandom(4096))
    (tmp_path / "broken.onnx.json").write_text("{}")
    cfg = write_config(tmp_path, f"voices:\n  default: {{model: {model}}}\nweb: {{port: 0}}\n")
    proc = avatar_node("run", "--config", str(cfg), "--log-level", "critical")
    one_line(proc, EXIT_MODEL, "voices.default.model", str(model), "doctor")


def test_missing_config_file(tmp_path):
    absent = tmp_path / "absent.yaml"
    one_line(avatar_node("doctor", "--config", str(absent)), EXIT_CONFIG, "--config", str(absent))


def test_usage_error_is_one_line():
    one_line(avatar_node("run", "--no-such-flag"), EXIT_CONFIG, "--no-such-flag", "--help")

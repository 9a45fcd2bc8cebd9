"""``scripts/ensure-debs``: Debian packages for ``make test`` and ``make demo`` on a fresh machine.

A fresh machine is simulated without removing anything: ``ENSURE_DEBS_PATH`` points the program
search at an empty directory (so mosquitto and chromium look absent) and ``PATH`` holds only fake
``id`` and ``apt-get`` scripts that record how they were called.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "ensure-debs"


def _fake(bindir: Path, name: str, body: str) -> None:
    path = bindir / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)


@pytest.fixture
def machine(tmp_path: Path):
    """Run the script on a machine with the given uid and installed programs."""
    bindir, progs, log = tmp_path / "bin", tmp_path / "progs", tmp_path / "apt.log"
    bindir.mkdir()
    progs.mkdir()

    def run(*args: str, uid: int = 0, installed: tuple[str, ...] = (), apt: bool = True):
        _fake(bindir, "id", f"echo {uid}")
        if apt:
            _fake(bindir, "apt-get", f'echo "$*" >> {log}')
        for prog in installed:
            _fake(progs, prog, "exit 0")
        env = {"PATH": str(bindir), "ENSURE_DEBS_PATH": str(progs)}
        proc = subprocess.run(["/bin/bash", str(SCRIPT), *args], env=env, capture_output=True,
                              text=True, timeout=30)  # fmt: skip
        calls = log.read_text().splitlines() if log.exists() else []
        return proc, calls

    return run


def test_nothing_to_do_when_installed(machine):
    proc, calls = machine("mosquitto", "chromium", uid=1000, installed=("mosquitto", "chromium"))
    assert proc.returncode == 0 and calls == [] and proc.stderr == ""


def test_root_installs_only_what_is_missing(machine):
    proc, calls = machine("mosquitto", "chromium", "chromium-driver", installed=("chromium",))
    assert proc.returncode == 0, proc.stderr
    install = "install -y -qq --no-install-recommends mosquitto chromium-driver"
    assert calls == ["update -qq", install]


def test_non_root_stops_at_once_with_the_command(machine):
    proc, calls = machine("mosquitto", "chromium", uid=1000)
    assert proc.returncode == 1 and calls == []
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].endswith(
        "run: sudo apt-get update && sudo apt-get install -y --no-install-recommends "
        "mosquitto chromium"
    )


def test_optional_package_never_stops(machine):
    proc, calls = machine("--optional", "mosquitto", uid=1000)
    assert proc.returncode == 0 and calls == []
    assert "sudo apt-get install -y --no-install-recommends mosquitto" in proc.stderr


def test_no_apt_names_the_packages(machine):
    proc, calls = machine("mosquitto", uid=0, apt=False)
    assert proc.returncode == 1
    assert "install mosquitto with your system's package manager" in proc.stderr


def test_dry_run_prints_the_commands(machine):
    proc, calls = machine("--dry-run", "mosquitto")
    assert proc.returncode == 0 and calls == []
    assert proc.stdout.splitlines() == [
        "apt-get update",
        "apt-get install -y --no-install-recommends mosquitto",
    ]


@pytest.mark.parametrize("target, debs", [("test", "mosquitto chromium"), ("demo", "mosquitto")])
def test_make_targets_check_packages_before_anything_else(target, debs, tmp_path):
    """``make -n``: the package check is the first command, before the venv is built."""
    out = subprocess.run(["make", "-s", "-n", "-C", str(REPO), target, f"VENV={tmp_path}/venv"],
                         capture_output=True, text=True, timeout=30, check=True).stdout  # fmt: skip
    first = out.splitlines()[0]
    assert first.startswith("scripts/ensure-debs") and first.endswith(debs)
    assert "venv" in out.split(first, 1)[1]


def test_ci_only_calls_make():
    text = (REPO / ".ci" / "run").read_text()
    assert "apt-get" not in text and "make test" in text and "make lint" in text

"""Console logs: human-readable on a terminal, JSON lines otherwise or with ``json``."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

SNIPPET = """
import logging, sys
from avatar_node.log import setup_logging, get_logger
setup_logging("info", sys.argv[1])
get_logger("avatar_node.test").info("hello", answer=42)
logging.getLogger("some.library").warning("library says %s", "hi")
"""


def _stderr(fmt: str) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", SNIPPET, fmt], capture_output=True, text=True,
                          env=env, timeout=60, check=True)  # fmt: skip
    return proc.stderr.strip().splitlines()


@pytest.mark.parametrize("fmt", ["json", "auto"])  # auto: stderr is a pipe here, not a terminal
def test_json_lines(fmt):
    lines = [json.loads(line) for line in _stderr(fmt)]
    assert lines[0]["event"] == "hello" and lines[0]["answer"] == 42
    assert lines[1]["event"] == "library says hi" and lines[1]["level"] == "warning"


def test_console_lines_are_for_people():
    lines = _stderr("console")
    assert len(lines) == 2
    assert "hello" in lines[0] and "answer=42" in lines[0] and not lines[0].startswith("{")
    assert "library says hi" in lines[1] and "warning" in lines[1]

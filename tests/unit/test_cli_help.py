"""The command line explains itself: help on every option, exit codes, the README's links."""

from __future__ import annotations

import argparse
import re

import pytest

from avatar_node import errors
from avatar_node.cli import build_parser, main
from avatar_node.cli.discovery import DemoBrokerInfo, publish_demo, resolve_broker, withdraw_demo
from tests.conftest import REPO


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_option_of_every_command_has_help():
    parser = build_parser()
    missing = [
        f"{name} {'/'.join(a.option_strings) or a.dest}"
        for name, sub in {"": parser, **_subparsers(parser)}.items()
        for a in sub._actions
        if not isinstance(a, argparse._SubParsersAction) and not (a.help or "").strip()
    ]
    assert missing == []


def test_top_level_help_reads_cleanly(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "``" not in out
    for code, name in ((0, "EXIT_OK"), (2, "EXIT_CONFIG"), (3, "EXIT_MODEL"), (4, "EXIT_BROKER"),
                       (5, "EXIT_PORT")):  # fmt: skip
        assert getattr(errors, name) == code
        assert re.search(rf"^\s+{code}\s+\S", out, re.M), f"exit code {code} not documented"


def test_say_help_shows_its_timeout(capsys):
    with pytest.raises(SystemExit):
        main(["say", "--help"])
    assert "(default: 120" in capsys.readouterr().out


def test_readme_links_stay_inside_the_repo():
    text = (REPO / "README.md").read_text()
    targets = re.findall(r"\]\(([^)]+)\)", text)
    assert "docs/contract.md" in targets and "schemas/" in targets
    for target in targets:
        assert "://" not in target and not target.startswith(".."), target
        assert (REPO / target.split("#")[0]).exists(), target


def test_clients_find_a_running_demo_and_ignore_a_stale_one(tmp_path, monkeypatch, broker):
    import os

    monkeypatch.setenv("AVATAR_DEMO_STATE", str(tmp_path / "demo.json"))
    assert resolve_broker(None, None) == ("127.0.0.1", 1883, None)
    publish_demo(DemoBrokerInfo("127.0.0.1", broker.port, None, "p", "default", os.getpid()))
    host, port, demo = resolve_broker(None, None)
    assert (host, port) == ("127.0.0.1", broker.port) and demo is not None and demo.prefix == "p"
    assert resolve_broker(None, 1999)[:2] == ("127.0.0.1", 1999)  # given: used as given
    withdraw_demo()
    assert not (tmp_path / "demo.json").exists()
    dead = DemoBrokerInfo("127.0.0.1", broker.port, None, "p", "default", 2**22 + 12345)
    publish_demo(dead)  # a demo that died without cleaning up
    assert resolve_broker(None, None) == ("127.0.0.1", 1883, None)

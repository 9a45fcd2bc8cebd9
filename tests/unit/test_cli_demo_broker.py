"""Which broker the demo uses, and on which port."""

from __future__ import annotations

import argparse
import socket

import pytest

from avatar_node.broker import MosquittoBroker, port_free
from avatar_node.cli.demo import _own_broker, _pick_port
from avatar_node.settings import load_settings


@pytest.mark.parametrize(
    "broker, yaml_text, own",
    [
        ("auto", None, True),  # no config: the demo's own broker
        ("auto", "voices: {default: {}}\n", True),  # a config that names no broker
        ("auto", "mqtt: {port: 1885}\n", False),  # a config that names one
        ("auto", "mqtt: {host: broker.local}\n", False),
        ("auto", "mqtt: {port: 0}\n", True),  # port 0: "start an embedded broker"
        ("config", None, False),
        ("amqtt", "mqtt: {port: 1885}\n", True),
    ],
)
def test_own_broker_or_the_configured_one(broker, yaml_text, own, tmp_path, monkeypatch):
    for var in ("AVATAR_MQTT__HOST", "AVATAR_MQTT__PORT", "AVATAR_CONFIG_FILE"):
        monkeypatch.delenv(var, raising=False)
    cfg = None
    if yaml_text is not None:
        cfg = tmp_path / "c.yaml"
        cfg.write_text(yaml_text)
    args = argparse.Namespace(broker=broker, config=cfg)
    assert _own_broker(args, load_settings(cfg)) is own


def test_taken_port_falls_back_and_says_so(capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        taken = s.getsockname()[1]
        assert not port_free("127.0.0.1", taken)
        port = _pick_port("127.0.0.1", taken, "--mqtt-port")
    assert port != taken and port_free("127.0.0.1", port)
    assert f"port {taken} (--mqtt-port) is taken: the demo's broker uses {port}" in (
        capsys.readouterr().out
    )


def test_free_port_is_kept(capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert _pick_port("127.0.0.1", port, "--mqtt-port") == port
    assert capsys.readouterr().out == ""


def test_mosquitto_config_has_a_websocket_listener():
    conf = MosquittoBroker("127.0.0.1", 1884, 9001).config().splitlines()
    assert conf[:4] == ["listener 1884 127.0.0.1", "protocol mqtt", "listener 9001 127.0.0.1",
                        "protocol websockets"]  # fmt: skip
    assert "allow_anonymous true" in conf

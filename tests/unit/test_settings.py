"""Settings: defaults documented in config/default.yaml, env overrides, clear errors."""

from pathlib import Path

import pytest

from avatar_node.errors import ConfigError
from avatar_node.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[2]


def test_default_yaml_documents_exactly_the_defaults():
    assert load_settings(REPO / "config" / "default.yaml") == Settings()


def test_every_option_is_in_default_yaml():
    text = (REPO / "config" / "default.yaml").read_text()
    for section, model in Settings.model_fields.items():
        assert f"\n{section}:" in text
        sub = model.annotation
        for name in getattr(sub, "model_fields", {}):
            assert f" {name}:" in text, f"{section}.{name} is not documented in default.yaml"


def test_env_overrides_file(tmp_path, monkeypatch):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("mqtt: {port: 1999, topic_prefix: home}\nnode: {channels: [hall, kitchen]}\n")
    monkeypatch.setenv("AVATAR_MQTT__PORT", "2000")
    s = load_settings(cfg)
    assert s.mqtt.port == 2000
    assert s.mqtt.topic_prefix == "home"
    assert s.node.channels == ["hall", "kitchen"]
    assert s.node.node_id == "hall"
    assert s.voices["default"].speed == 1.0  # untouched defaults stay


@pytest.mark.parametrize(
    ("yaml_text", "option"),
    [
        ("mqtt: {port: 99999}", "mqtt.port"),
        ("node: {channels: ['bad channel']}", "node.channels"),
        ("voices: {default: {speed: 7}}", "voices.default.speed"),
        ("lipsync: {engine: magic}", "lipsync.engine"),
        ("mqtt: {nonsense: 1}", "mqtt.nonsense"),
        ("node: {default_voice: nope}", "default_voice"),
    ],
)
def test_invalid_config_names_the_option(tmp_path, yaml_text, option):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml_text)
    with pytest.raises(ConfigError) as err:
        load_settings(cfg)
    assert option in str(err.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "absent.yaml")


def test_cli_reports_config_error(tmp_path, capsys):
    from avatar_node.cli import main

    cfg = tmp_path / "bad.yaml"
    cfg.write_text("mqtt: {port: -1}")
    assert main(["doctor", "--config", str(cfg), "--skip-voices"]) == 2
    assert "mqtt.port" in capsys.readouterr().err

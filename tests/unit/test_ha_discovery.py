"""Home Assistant device discovery: the payload checked against rules written from HA's docs.

``check_device_discovery`` encodes what home-assistant.io documents for MQTT *device* discovery
(integrations/mqtt, "Device discovery payload", the abbreviation tables, and the notify, button,
sensor, select and image MQTT platform pages). The integration test reuses it on the real message.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from avatar_node.integrations.homeassistant import (
    HomeAssistant,
    discovery_payload,
    discovery_topic,
)
from avatar_node.settings import Settings
from avatar_node.wire.topics import Topics

# ------------------------------------------------------------------ rules from HA's docs

ID_CLASS = re.compile(r"^[a-zA-Z0-9_-]+$")
"""``<node_id>`` / ``<object_id>`` and component ids: only ``[a-zA-Z0-9_-]``."""

ABBREVIATIONS = {  # the subset of HA's table that applies to these platforms
    "avty": "availability", "avty_mode": "availability_mode", "avty_t": "availability_topic",
    "avty_tpl": "availability_template", "cmd_t": "command_topic", "cmd_tpl": "command_template",
    "cmps": "components", "cont_type": "content_type", "def_ent_id": "default_entity_id",
    "dev": "device", "dev_cla": "device_class", "dsp_prc": "display_precision", "e": "encoding",
    "en": "enabled_by_default", "ent_cat": "entity_category", "ent_pic": "entity_picture",
    "exp_aft": "expire_after", "frc_upd": "force_update", "ic": "icon", "img_e": "image_encoding",
    "img_t": "image_topic", "json_attr_t": "json_attributes_topic",
    "json_attr_tpl": "json_attributes_template", "o": "origin", "obj_id": "object_id",
    "ops": "options", "opt": "optimistic", "p": "platform", "pl_avail": "payload_available",
    "pl_not_avail": "payload_not_available", "pl_prs": "payload_press", "ret": "retain",
    "stat_cla": "state_class", "stat_t": "state_topic",
    "sug_dsp_prc": "suggested_display_precision",
    "t": "topic", "uniq_id": "unique_id", "unit_of_meas": "unit_of_measurement",
    "url_t": "url_topic", "url_tpl": "url_template", "val_tpl": "value_template",
}  # fmt: skip
DEVICE_ABBREVIATIONS = {
    "cu": "configuration_url", "cns": "connections", "ids": "identifiers", "mf": "manufacturer",
    "mdl": "model", "mdl_id": "model_id", "hw": "hw_version", "sw": "sw_version",
    "sa": "suggested_area", "sn": "serial_number",
}  # fmt: skip
ORIGIN_ABBREVIATIONS = {"sw": "sw_version", "url": "support_url"}

SHARED_ROOT = {
    "device", "origin", "components", "availability", "availability_topic", "availability_mode",
    "availability_template", "payload_available", "payload_not_available", "command_topic",
    "state_topic", "qos", "encoding", "~",
}  # fmt: skip
DEVICE_KEYS = {"name", *DEVICE_ABBREVIATIONS.values()}
ORIGIN_KEYS = {"name", "sw_version", "support_url"}
ENTITY_COMMON = {
    "platform", "unique_id", "name", "icon", "entity_category", "entity_picture",
    "enabled_by_default", "object_id", "default_entity_id", "qos", "encoding", "availability",
    "availability_topic", "availability_mode", "availability_template", "payload_available",
    "payload_not_available", "json_attributes_topic", "json_attributes_template",
}  # fmt: skip
PLATFORM_KEYS = {  # platform-specific options (HA's MQTT platform pages)
    "notify": {"command_topic", "command_template", "retain"},
    "button": {"command_topic", "command_template", "payload_press", "retain", "device_class"},
    "sensor": {"state_topic", "value_template", "device_class", "state_class", "options",
               "unit_of_measurement", "expire_after", "force_update", "last_reset_value_template",
               "suggested_display_precision"},
    "select": {"command_topic", "command_template", "options", "state_topic", "value_template",
               "optimistic", "retain"},
    "image": {"image_topic", "url_topic", "url_template", "content_type", "image_encoding"},
}  # fmt: skip
REQUIRED = {  # required per platform (command/state topics may instead be shared at the root)
    "notify": {"command_topic"}, "button": {"command_topic"}, "sensor": {"state_topic"},
    "select": {"command_topic", "options"}, "image": set(),
}  # fmt: skip


def _expand(obj: dict[str, Any], table: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in obj.items():
        full = table.get(key, key)
        assert full not in out, f"{key!r} given twice (full and abbreviated)"
        out[full] = value
    return out


def _check_topic(name: str, topic: Any, wildcards: bool = False) -> None:
    assert isinstance(topic, str) and topic, f"{name} must be a non-empty topic"
    assert "\0" not in topic and len(topic.encode()) <= 65535, name
    if not wildcards:
        assert "+" not in topic and "#" not in topic, f"{name} {topic!r} has a wildcard"


def check_device_discovery(topic: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Assert the device discovery rules; returns the payload with abbreviations expanded."""
    parts = topic.split("/")
    assert len(parts) == 4 and parts[1] == "device" and parts[3] == "config", topic
    assert ID_CLASS.match(parts[2]), f"object id {parts[2]!r} outside [a-zA-Z0-9_-]"
    root = _expand(payload, ABBREVIATIONS)
    assert set(root) <= SHARED_ROOT, f"not a shared option: {set(root) - SHARED_ROOT}"
    dev = _expand(root["device"], DEVICE_ABBREVIATIONS)  # device and origin are mandatory
    assert set(dev) <= DEVICE_KEYS, set(dev) - DEVICE_KEYS
    assert dev.get("identifiers") or dev.get("connections"), "device needs identifiers/connections"
    assert isinstance(dev.get("name"), str) and dev["name"], "device needs a name"
    origin = _expand(root["origin"], ORIGIN_ABBREVIATIONS)
    assert set(origin) <= ORIGIN_KEYS and isinstance(origin.get("name"), str), origin
    for item in root.get("availability", []):
        avty = _expand(item, ABBREVIATIONS)
        assert set(avty) <= {"topic", "payload_available", "payload_not_available",
                             "value_template"}, avty  # fmt: skip
        _check_topic("availability.topic", avty.get("topic"))
    assert root.get("qos", 0) in (0, 1, 2)
    comps = root["components"]
    assert isinstance(comps, dict) and comps, "components must be a non-empty mapping"
    expanded: dict[str, Any] = {}
    unique_ids: set[str] = set()
    for cid, raw in comps.items():
        assert ID_CLASS.match(cid), f"component id {cid!r}"
        comp = _expand(raw, ABBREVIATIONS)
        platform = comp.get("platform")
        assert platform in PLATFORM_KEYS, f"{cid}: platform {platform!r}"
        allowed = ENTITY_COMMON | PLATFORM_KEYS[platform]
        assert set(comp) <= allowed, f"{cid}: unknown options {set(comp) - allowed}"
        assert set(comp) & PLATFORM_KEYS[platform], f"{cid}: no platform-specific option"
        uid = comp.get("unique_id")
        assert isinstance(uid, str) and uid, f"{cid}: unique_id is required in device discovery"
        assert uid not in unique_ids, f"duplicate unique_id {uid}"
        unique_ids.add(uid)
        for key in REQUIRED[platform]:
            assert key in comp or key in root, f"{cid}: {key} is required for {platform}"
        for key, value in comp.items():
            if key.endswith("_topic"):
                _check_topic(f"{cid}.{key}", value, wildcards=key != "command_topic")
            if key.endswith("_template"):
                assert isinstance(value, str) and "{{" in value, f"{cid}.{key} is no template"
        assert comp.get("qos", 0) in (0, 1, 2)
        assert comp.get("entity_category") in (None, "config", "diagnostic")
        if platform == "select" or comp.get("device_class") == "enum":
            opts = comp.get("options")
            assert isinstance(opts, list) and opts and all(isinstance(o, str) for o in opts), cid
        if comp.get("device_class") == "enum":
            assert "unit_of_measurement" not in comp and "state_class" not in comp, cid
        if platform == "image":
            assert ("image_topic" in comp) != ("url_topic" in comp), f"{cid}: image_topic xor url"
            assert "content_type" not in comp or "image_topic" in comp, cid
            assert comp.get("image_encoding") in (None, "b64"), cid
        expanded[cid] = comp
    root["components"] = expanded
    return root


# ------------------------------------------------------------------ tests


def _settings(**kw: Any) -> Settings:
    return Settings(homeassistant={"enabled": True, **kw.pop("ha", {})}, **kw)


def by_platform(root: dict[str, Any], channel: str) -> dict[str, dict[str, Any]]:
    return {c["platform"]: c for cid, c in root["components"].items() if cid.startswith(channel)}


def test_default_payload_passes_the_documented_rules():
    s = _settings()
    topic = discovery_topic(s)
    assert topic == "homeassistant/device/default/config"
    root = check_device_discovery(topic, json.loads(json.dumps(discovery_payload(s))))
    comps = by_platform(root, "default")
    assert set(comps) == {"notify", "button", "sensor", "select", "image"}
    assert comps["notify"]["command_topic"] == "avatar/default/say"
    assert comps["button"]["command_topic"] == "avatar/default/control"
    assert json.loads(comps["button"]["payload_press"]) == {"action": "stop"}
    assert comps["sensor"]["state_topic"] == comps["sensor"]["json_attributes_topic"]
    assert comps["sensor"]["state_topic"] == "avatar/default/state"
    assert comps["select"]["options"] == ["default"]
    assert comps["image"] == {**comps["image"], "image_topic": "avatar/default/snapshot",
                              "content_type": "image/jpeg"}  # fmt: skip
    assert root["availability"][0]["topic"] == "avatar/default/status"


def test_abbreviated_payloads_are_understood_by_the_checker():
    short = {
        "dev": {"ids": ["x1"], "name": "X", "mf": "m"}, "o": {"name": "o", "sw": "1"},
        "avty": [{"t": "a/x/status"}], "cmps": {"say": {"p": "notify", "uniq_id": "x1_say",
                                                        "cmd_t": "a/x/say"}},
    }  # fmt: skip
    check_device_discovery("homeassistant/device/x/config", short)
    with pytest.raises(AssertionError, match="unique_id"):
        check_device_discovery("homeassistant/device/x/config",
                               {**short, "cmps": {"say": {"p": "notify", "cmd_t": "a/x/say"}}})
    with pytest.raises(AssertionError, match="platform"):
        check_device_discovery("homeassistant/device/x/config",
                               {**short, "cmps": {"s": {"uniq_id": "u", "cmd_t": "a"}}})
    with pytest.raises(KeyError):  # origin is mandatory in device discovery
        check_device_discovery("homeassistant/device/x/config",
                               {k: v for k, v in short.items() if k != "o"})


def test_unique_ids_are_stable_and_distinct_per_prefix_node_and_channel():
    a = discovery_payload(_settings(node={"channels": ["hall", "kitchen"]}))
    b = discovery_payload(_settings(node={"channels": ["hall", "kitchen"]}))
    assert a == b
    root = check_device_discovery("homeassistant/device/hall/config", a)
    assert len(root["components"]) == 10
    hall, kitchen = by_platform(root, "hall"), by_platform(root, "kitchen")
    assert hall["notify"]["command_topic"] == "avatar/hall/say"
    assert kitchen["notify"]["command_topic"] == "avatar/kitchen/say"
    assert hall["notify"]["name"] != kitchen["notify"]["name"]
    other = discovery_payload(_settings(node={"channels": ["hall", "kitchen"]},
                                        mqtt={"topic_prefix": "home/avatars"}))  # fmt: skip
    ids_a = {c["unique_id"] for c in a["components"].values()}
    ids_b = {c["unique_id"] for c in other["components"].values()}
    assert not ids_a & ids_b
    assert other["device"]["identifiers"] != a["device"]["identifiers"]


def test_node_id_and_options_flow_into_topic_and_device():
    s = _settings(node={"id": "lobby.screen 1", "channels": ["a"]},
                  ha={"discovery_prefix": "ha", "device_name": "Lobby", "suggested_area": "Hall"},
                  avatars={"default": {}, "robot": {}})  # fmt: skip
    topic = discovery_topic(s)
    assert topic == "ha/device/lobby_screen_1/config"
    root = check_device_discovery(topic, discovery_payload(s))
    assert root["device"]["name"] == "Lobby" and root["device"]["suggested_area"] == "Hall"
    assert root["availability"][0]["topic"] == "avatar/lobby.screen 1/status"
    assert by_platform(root, "a")["select"]["options"] == ["default", "robot"]


# ------------------------------------------------------------------ behaviour with a fake node


class FakeNode:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.handlers: dict[str, Any] = {}
        self.topics = Topics(settings.mqtt.topic_prefix, settings.node.node_id)
        self.on_connected_hooks: list[Any] = []
        self.published: list[tuple[str, bytes, int, bool]] = []
        self.events: list[dict[str, Any]] = []
        self.avatar: dict[str, str] = {}

    def subscribe(self, topic: str, handler: Any, qos: int = 1) -> None:
        self.handlers[topic] = handler

    def on_connected(self, hook: Any) -> None:
        self.on_connected_hooks.append(hook)

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> bool:
        self.published.append((topic, payload, qos, retain))
        return True

    def reject(self, channel: str, utt_id: str | None, exc: Any, sinks: Any = ()) -> None:
        self.events.append({"channel": channel, "type": "rejected", "utt_id": utt_id,
                            "code": exc.code, "message": exc.message})  # fmt: skip

    def submit(self, cmd: Any) -> Any:
        raise AssertionError("Home Assistant discovery never submits")

    def set_channel_avatar(self, channel: str, name: str) -> None:
        self.avatar[channel] = name


def test_publishes_retained_on_connect_and_on_ha_birth():
    node = FakeNode(_settings(ha={"republish_jitter_s": 0}))
    ha = HomeAssistant(node)  # type: ignore[arg-type]
    ha.install()
    assert set(node.handlers) == {"homeassistant/status", "avatar/default/avatar/set"}
    for hook in node.on_connected_hooks:
        hook()
    topic, payload, qos, retain = node.published[-1]
    assert (topic, qos, retain) == ("homeassistant/device/default/config", 1, True)
    check_device_discovery(topic, json.loads(payload))
    node.handlers["homeassistant/status"]("homeassistant/status", b"offline")
    assert len(node.published) == 1
    node.handlers["homeassistant/status"]("homeassistant/status", b"online")
    assert len(node.published) == 2 and node.published[1] == node.published[0]


def test_birth_republication_is_jittered_off_the_network_thread():
    node = FakeNode(_settings(ha={"republish_jitter_s": 0.2}))
    ha = HomeAssistant(node)  # type: ignore[arg-type]
    ha.install()
    node.handlers["homeassistant/status"]("homeassistant/status", b"online")
    assert ha._timer is not None
    ha._timer.join(2)
    assert len(node.published) == 1


def test_avatar_select_sets_the_channel_avatar_or_rejects():
    node = FakeNode(_settings(avatars={"default": {}, "robot": {}}))
    HomeAssistant(node).install()  # type: ignore[arg-type]
    node.handlers["avatar/default/avatar/set"]("avatar/default/avatar/set", b"robot")
    assert node.avatar == {"default": "robot"}
    node.handlers["avatar/default/avatar/set"]("avatar/default/avatar/set", b"ghost")
    assert node.avatar == {"default": "robot"}
    assert node.events == [{"channel": "default", "type": "rejected", "utt_id": None,
                            "code": "unknown_avatar",
                            "message": "avatar 'ghost' is not configured"}]  # fmt: skip

"""Home Assistant discovery through a real broker: what HA would receive and send.

The discovery message is validated with the rules in ``tests/unit/test_ha_discovery.py`` (written
from HA's docs). Then the test acts as HA: it publishes to the topics named in the message (the
notify's plain message text, the button's press payload, a select option, HA's birth message)
and checks what the node does.
"""

from __future__ import annotations

import importlib.util
import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from avatar_node.cli import main as cli_main

_spec = importlib.util.spec_from_file_location(
    "ha_rules", Path(__file__).parents[1] / "unit" / "test_ha_discovery.py"
)
assert _spec is not None and _spec.loader is not None
ha_rules = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ha_rules)


class Sniffer:
    """A bare paho subscriber that keeps (topic, payload, retain) — HA's view of the broker."""

    def __init__(self, broker: Any, *topics: str):
        self.messages: list[tuple[str, bytes, bool]] = []
        self._cond = threading.Condition()
        self._subscribed = threading.Event()
        self.c = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"ha-{uuid.uuid4().hex[:8]}")
        self.c.on_message = self._on_message
        self.c.on_subscribe = lambda *a: self._subscribed.set()
        self.c.connect(broker.host, broker.port)
        self.c.loop_start()
        for topic in topics:
            self._subscribed.clear()
            self.c.subscribe(topic, qos=1)
            assert self._subscribed.wait(5)

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        with self._cond:
            self.messages.append((msg.topic, msg.payload, bool(msg.retain)))
            self._cond.notify_all()

    def wait(self, topic: str, count: int = 1, timeout: float = 10) -> list[tuple[bytes, bool]]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                got = [(p, r) for t, p, r in self.messages if t == topic]
                if len(got) >= count:
                    return got
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"{count} message(s) on {topic} expected, got {len(got)}"
                self._cond.wait(remaining)

    def publish(self, topic: str, payload: bytes | str, retain: bool = False) -> None:
        self.c.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


def ha_sections(prefix: str, **extra: Any) -> dict[str, Any]:
    """HA settings with a discovery prefix private to the test (retained messages stay apart)."""
    return {"enabled": True, "discovery_prefix": f"{prefix}-ha", "status_topic":
            f"{prefix}-ha/status", "republish_jitter_s": 0, **extra}  # fmt: skip


def components(payload: bytes) -> dict[str, dict[str, Any]]:
    root = ha_rules.check_device_discovery("x/device/default/config", json.loads(payload))
    return {c["platform"]: c for c in root["components"].values()}


def test_discovery_is_retained_valid_and_notify_and_button_drive_the_node(
    make_node, broker, prefix, collector
):
    node = make_node(homeassistant=ha_sections(prefix))
    topic = f"{prefix}-ha/device/default/config"
    first = Sniffer(broker, topic)
    first.wait(topic)  # published (live or retained) ...
    first.close()
    ha = Sniffer(broker, topic, f"{prefix}/default/status")  # ... so a new subscriber (HA
    try:  # starting) receives it retained
        ((payload, retained),) = ha.wait(topic)
        assert retained, "discovery must be retained"
        comps = components(payload)
        root = json.loads(payload)
        avty = root["availability"][0]
        assert ha.wait(avty["topic"])[0] == (avty["payload_available"].encode(), True)
        assert comps["notify"]["command_topic"] == f"{prefix}/default/say"
        assert comps["sensor"]["state_topic"] == f"{prefix}/default/state"

        # HA's notify.send_message publishes the bare message text to the command topic.
        ha.publish(comps["notify"]["command_topic"], "Hello from Home Assistant.")
        collector.wait_for(lambda c: any(e["type"] == "finished" for e in c.all_events), 60)
        utt = collector.wait_end(collector.all_events[0]["id"])
        assert utt.audio and utt.events[-1]["type"] == "finished"
        texts = [e["detail"]["text"] for e in utt.events if e["type"] == "sentence"]
        assert texts == ["Hello from Home Assistant."]
        collector.wait_for(lambda c: c.retained.get("state", {}).get("state") == "idle", 10)
        assert collector.retained["state"]["state"] in comps["sensor"]["options"]

        # The stop button's press payload cancels what is being spoken.
        ha.publish(comps["notify"]["command_topic"], "This is a long announcement. " * 12)
        collector.wait_for(lambda c: sum(e["type"] == "started" for e in c.all_events) == 2, 30)
        ha.publish(comps["button"]["command_topic"], comps["button"]["payload_press"])
        second = [e for e in collector.all_events if e["type"] == "started"][1]["id"]
        assert collector.wait_end(second, 30).end["type"] == "cancelled"
        assert node.transport.connected.is_set()
    finally:
        ha.close()


def test_ha_birth_republishes_and_ha_remove_deletes(make_node, broker, prefix, tmp_path, capsys):
    node = make_node(homeassistant=ha_sections(prefix))
    topic = f"{prefix}-ha/device/default/config"
    ha = Sniffer(broker, topic)
    try:
        first = ha.wait(topic)[0][0]
        ha.publish(f"{prefix}-ha/status", "offline")
        ha.publish(f"{prefix}-ha/status", "online")  # HA's birth message
        again = ha.wait(topic, 2)[1]
        assert again == (first, False), "a live re-publication of the same discovery message"

        node.stop()  # ha-remove is meant for an uninstalled node; otherwise HA's next birth
        cfg = tmp_path / "node.yaml"  # would bring the device back
        cfg.write_text(json.dumps({
            "mqtt": {"host": broker.host, "port": broker.port, "topic_prefix": prefix},
            "homeassistant": {"enabled": True, "discovery_prefix": f"{prefix}-ha"},
        }))  # fmt: skip
        assert cli_main(["ha-remove", "--config", str(cfg)]) == 0
        assert topic in capsys.readouterr().out
        assert ha.wait(topic, 3)[2] == (b"", False)
    finally:
        ha.close()
    late = Sniffer(broker, topic)  # a new subscriber (HA restarting) gets nothing retained
    try:
        time.sleep(0.5)
        assert late.messages == []
    finally:
        late.close()


def test_select_switches_the_avatar_and_image_gets_snapshots(make_node, broker, prefix, collector):
    node = make_node(load_avatars=True, homeassistant=ha_sections(prefix),
                     avatars={"default": {}, "robot": {"jpeg_quality": 60}})  # fmt: skip
    topic = f"{prefix}-ha/device/default/config"
    ha = Sniffer(broker, topic)
    try:
        comps = components(ha.wait(topic)[0][0])
        select, image = comps["select"], comps["image"]
        assert select["options"] == ["default", "robot"]
        ha_view = Sniffer(broker, select["state_topic"], image["image_topic"])
        try:
            # value_template "{{ value_json.name }}" of the retained avatar message
            assert json.loads(ha_view.wait(select["state_topic"])[0][0])["name"] == "default"
            ha.publish(select["command_topic"], "robot")
            robot = json.loads(ha_view.wait(select["state_topic"], 2)[1][0])
            assert robot["name"] == "robot" and robot["idle"]
            assert node.pipeline.channel_avatar["default"] == "robot"
            ha.publish(select["command_topic"], "nobody")
            collector.wait_for(lambda c: any(e["type"] == "rejected" for e in c.all_events), 10)
            assert collector.all_events[-1]["code"] == "unknown_avatar"
            assert node.pipeline.channel_avatar["default"] == "robot"

            ha.publish(f"{prefix}/default/say", json.dumps({"text": "Look at me.", "id": "snap1"}))
            utt = collector.wait_end("snap1", 60)
            assert utt.end["type"] == "finished" and utt.frames
            snap, retained = ha_view.wait(image["image_topic"])[0]
            assert image["content_type"] == "image/jpeg" and snap[:3] == b"\xff\xd8\xff"
            assert not retained
        finally:
            ha_view.close()
    finally:
        ha.close()

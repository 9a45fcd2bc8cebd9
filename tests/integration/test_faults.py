"""Broker faults: the private mosquitto is killed or stopped mid-utterance and while idle.

An :class:`Observer` with a persistent session (fixed client id, MQTT 5 session expiry) records
everything the node publishes across the restarts, so end events the node sends after it is back
are seen. QoS 1 is at-least-once: a message in flight when the broker dies may arrive twice with
the same payload; the checks count distinct payloads.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from avatar_node.app import Node
from avatar_node.client import AvatarClient
from avatar_node.models import VoiceRegistry
from tests.conftest import Broker
from tests.integration.conftest import node_settings

END = ("finished", "cancelled", "error")
LONG = " ".join(f"Sentence {i} keeps it busy." for i in range(1, 17))


def wait(pred: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise TimeoutError(f"{what} not met within {timeout} s")


class Observer:
    """Records every message under ``{prefix}/#`` through broker restarts (persistent session)."""

    def __init__(self, broker: Broker, prefix: str):
        self.prefix = prefix
        self.lock = threading.Lock()
        self.messages: list[tuple[float, str, bytes, bool]] = []
        self.subscribed = threading.Event()
        self.client = paho.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"observer-{uuid.uuid4().hex[:8]}",
            protocol=paho.MQTTv5,
        )
        self.client.reconnect_delay_set(1, 1)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self.client.on_message = self._on_message
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 600
        self.client.connect(broker.host, broker.port, clean_start=False, properties=props)
        self.client.loop_start()
        assert self.subscribed.wait(10), "observer could not subscribe"

    def _on_connect(self, client: Any, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
        client.subscribe(f"{self.prefix}/#", qos=1)

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        with self.lock:
            self.messages.append((time.monotonic(), msg.topic, msg.payload, bool(msg.retain)))

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def events(self) -> list[dict[str, Any]]:
        """Distinct events (a QoS 1 re-delivery has the same payload, so it counts once)."""
        with self.lock:
            payloads = [p for _, t, p, _ in self.messages if t.endswith("/events")]
        return [json.loads(p) for p in dict.fromkeys(payloads)]

    def ends(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for ev in self.events():
            if ev["type"] in END:
                out[ev["id"]].append(ev["type"])
        return out

    def seen_since(self, t0: float, leaf: str) -> list[bytes]:
        with self.lock:
            return [p for t, topic, p, _ in self.messages if t >= t0 and topic.endswith("/" + leaf)]


@pytest.fixture
def fault_broker() -> Iterator[Broker]:
    """A broker of this test only (it gets killed); saves its state every second."""
    with tempfile.TemporaryDirectory(prefix="avatar-fault-") as tmp:
        b = Broker(Path(tmp), extra_conf="autosave_interval 1\n")
        yield b
        b.stop()


def wait_autosave(broker: Broker, since: float) -> None:
    """Wait until mosquitto has saved its database after wall-clock time ``since``."""
    db = broker.workdir / "mosquitto.db"
    wait(lambda: db.exists() and db.stat().st_mtime > since + 0.1, 10, "a broker autosave")


def kill(broker: Broker) -> None:
    """SIGKILL: no clean shutdown, no will processing, only the last autosave survives."""
    assert broker.proc is not None
    broker.proc.kill()
    broker.proc.wait(10)
    broker.proc = None


def start_node(broker: Broker, prefix: str, voices: VoiceRegistry, avatars: bool = False,
               **sections: Any) -> Node:  # fmt: skip
    node = Node(node_settings(broker, prefix, **sections), load_avatars=avatars, voices=voices)
    node.start(connect_timeout=15)
    assert node.transport.connected.is_set(), "node did not connect"
    return node


def test_broker_killed_mid_utterance_every_accepted_id_ends_once(
    fault_broker: Broker, prefix: str, bundled_voices: VoiceRegistry
) -> None:
    broker = fault_broker
    obs = Observer(broker, prefix)
    node = start_node(broker, prefix, bundled_voices, node={"phrase_cache_mb": 0})
    t_sessions = time.time()
    try:
        with AvatarClient(broker.host, broker.port, prefix) as c:
            c.say(LONG + " " + LONG, id="busy")
            for i in range(3):
                c.say(f"Queued number {i}.", id=f"q{i}")
        wait(lambda: any(e["type"] == "sentence" and e["id"] == "busy" for e in obs.events()),
             30, "first sentence of busy")  # fmt: skip
        wait_autosave(broker, t_sessions)  # both sessions must be on disk to survive SIGKILL
        status = node.pipeline.runners["default"].status
        assert status.current == "busy", "busy ended before the kill"
        kill(broker)
        wait(lambda: not node.transport.connected.is_set(), 10, "node noticing the broker died")
        time.sleep(1.0)  # the node keeps speaking while offline
        t_restart = time.monotonic()
        broker.start()
        with AvatarClient(broker.host, broker.port, prefix) as c:
            c.say("Sent while the node was away.", id="away1")
            c.control("stop", "q2")  # control messages are requests too
        wait(node.transport.connected.is_set, 30, "node reconnecting")
        accepted = {"busy", "q0", "q1", "q2", "away1"}
        wait(lambda: accepted <= set(obs.ends()), 60, "end events for every accepted id")
        time.sleep(0.5)
        ends = obs.ends()
        assert all(len(set(v)) == 1 for v in ends.values()), ends
        assert ends["away1"] == ["finished"] and ends["q0"][0] == "finished", ends
        assert set(ends["q2"]) <= {"finished", "cancelled"}
        assert node.transport.reconnects >= 1
        assert b"online" in obs.seen_since(t_restart, "status"), "status not re-published"
        assert obs.seen_since(t_restart, "state"), "state not re-published"
        for ev in obs.events():  # every event is well formed and from this node
            assert ev["node"] == node.node_id and ev["channel"] == "default"
    finally:
        node.stop()
        obs.close()


def test_broker_restarted_while_idle_republishes_retained_and_serves_backlog(
    fault_broker: Broker, prefix: str, bundled_voices: VoiceRegistry
) -> None:
    broker = fault_broker
    # Slow back-off so the requests below are certainly published while the node is away.
    node = start_node(broker, prefix, bundled_voices, avatars=True,
                      mqtt={"reconnect_min_s": 4, "reconnect_max_s": 4})  # fmt: skip
    try:
        broker.stop()  # SIGTERM: mosquitto saves the node's session (its subscriptions)
        wait(lambda: not node.transport.connected.is_set(), 10, "node noticing the broker left")
        broker.start()
        with AvatarClient(broker.host, broker.port, prefix) as c:
            # Wipe the retained messages: the node must publish them again itself.
            for leaf in ("default/status", "default/state", "default/avatar"):
                c.publish(f"{prefix}/{leaf}", b"", retain=True)
            ids = [c.say(f"Backlog request {i}.", id=f"b{i}") for i in range(3)]
            assert not node.transport.connected.is_set(), "node came back too early for the test"
            col = c.collector(frames=False)
            for utt_id in ids:
                assert col.wait_end(utt_id, 60).end["type"] == "finished"
            assert [e["type"] for e in col.get("b0").events][:2] == ["queued", "started"]
        with AvatarClient(broker.host, broker.port, prefix) as fresh:
            seen: dict[str, bytes] = {}
            for leaf in ("status", "state", "avatar"):
                fresh.subscribe(f"{prefix}/default/{leaf}", lambda t, p: seen.__setitem__(t, p))
            wait(lambda: len(seen) == 3, 10, "retained status/state/avatar")
            assert seen[f"{prefix}/default/status"] == b"online"
            assert json.loads(seen[f"{prefix}/default/state"])["state"] == "idle"
            assert json.loads(seen[f"{prefix}/default/avatar"])["name"] == "default"
        assert node.transport.reconnects == 1
    finally:
        node.stop()


def test_end_events_survive_a_full_outgoing_queue_while_offline(
    fault_broker: Broker, prefix: str, bundled_voices: VoiceRegistry
) -> None:
    """max_outgoing 10: audio overflows while the broker is away, end events still arrive."""
    broker = fault_broker
    obs = Observer(broker, prefix)
    node = start_node(broker, prefix, bundled_voices,
                      node={"phrase_cache_mb": 0}, mqtt={"max_outgoing": 10})  # fmt: skip
    try:
        ended: list[str] = []
        node.on_event.append(lambda ev: ev.kind in END and ended.append(str(ev.id)))
        with AvatarClient(broker.host, broker.port, prefix) as c:
            for i in range(2):
                c.say(LONG, id=f"long{i}")
        wait(lambda: any(e["type"] == "started" for e in obs.events()), 30, "start")
        broker.stop()  # SIGTERM: the observer's session is saved
        wait(lambda: "long1" in ended, 120, "the utterances ending while offline")
        assert node.transport.dropped > 0, "the test did not overflow the queue"
        assert node.transport.backlog()[1] <= 4 * 10
        broker.start()
        wait(lambda: {"long0", "long1"} <= set(obs.ends()), 60, "end events after reconnect")
        assert obs.ends() == {"long0": ["finished"], "long1": ["finished"]}
    finally:
        node.stop()
        obs.close()

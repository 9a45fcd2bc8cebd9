"""Transport against real brokers: MQTT 5 → 3.1.1 fallback (amqtt), reconnect and re-subscribe."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from avatar_node.broker import EmbeddedBroker
from avatar_node.client import AvatarClient
from avatar_node.settings import MqttSettings
from avatar_node.transport.mqtt import MqttTransport
from avatar_node.wire.topics import Topics
from tests.conftest import Broker, free_port


def _wait(pred, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return False


def test_falls_back_to_311_when_broker_refuses_mqtt5():
    port = free_port()
    broker = EmbeddedBroker("127.0.0.1", port, None)
    broker.start()
    got: list[bytes] = []
    t = MqttTransport(MqttSettings(port=port), Topics("fb", "n1"), lambda _t, p: got.append(p),
                      [("fb/+/say", 1)])  # fmt: skip
    try:
        t.start()
        assert _wait(t.connected.is_set), "no connection after fallback"
        assert t.protocol == 311
        t.publish("fb/c/say", b"hello", 1)
        assert _wait(lambda: got == [b"hello"], 5)
    finally:
        t.stop()
        broker.stop()


def test_reconnects_resubscribes_and_serves_queued_requests(prefix, bundled_voices):
    from avatar_node.app import Node
    from tests.integration.conftest import node_settings

    with tempfile.TemporaryDirectory() as tmp:
        broker = Broker(Path(tmp))
        settings = node_settings(broker, prefix)
        node = Node(settings, load_avatars=False, voices=bundled_voices)
        node.start()
        try:
            assert node.transport.connected.is_set()
            broker.stop()
            assert _wait(lambda: not node.transport.connected.is_set(), 10)
            broker.start()
            # A request published (QoS 1) before the node is back must still be served.
            with AvatarClient(broker.host, broker.port, prefix) as c:
                col = c.collector()
                c.say("Back again after the broker restart.", id="after-restart")
                assert _wait(node.transport.connected.is_set, 30), "node did not reconnect"
                assert col.wait_end("after-restart", 60).end["type"] == "finished"
                assert node.transport.reconnects >= 1
                assert col.retained["state"]["node"] == node.node_id
        finally:
            node.stop()
            broker.stop()

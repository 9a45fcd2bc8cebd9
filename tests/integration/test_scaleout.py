"""Scale-out: two nodes share channel ``default`` through MQTT 5 shared subscriptions.

Both nodes subscribe ``$share/workers/{prefix}/+/say`` (and stream/control); mosquitto hands each
request to one member. Every request must be handled exactly once (one ``queued`` and one
``started`` per id, over both nodes) and both nodes must do part of the work.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from avatar_node.client import AvatarClient


def test_two_nodes_share_a_channel_each_request_once(make_node, broker, prefix) -> None:
    shared = {"shared_group": "workers"}
    nodes = [
        make_node(
            node={"id": f"worker{i}", "phrase_cache_mb": 0},
            mqtt={**shared, "client_id": f"{prefix}-worker{i}"},
        )  # fmt: skip
        for i in range(2)
    ]
    assert {n.transport.client_id for n in nodes} == {f"{prefix}-worker0", f"{prefix}-worker1"}
    assert all(n.transport.connected.is_set() for n in nodes)  # set after the SUBACKs
    with AvatarClient(broker.host, broker.port, prefix) as c:
        col = c.collector(frames=False)
        ids = [c.say(f"Request {i}.", id=f"r{i}") for i in range(16)]
        for utt_id in ids:
            assert col.wait_end(utt_id, 60).end["type"] == "finished"
        time.sleep(0.3)  # a duplicate would show up right behind
        events: list[dict[str, Any]] = list(col.all_events)
    started = Counter(e["id"] for e in events if e["type"] == "started")
    queued = Counter(e["id"] for e in events if e["type"] == "queued")
    assert started == Counter(ids) and queued == Counter(ids), (started, queued)
    by_node = Counter(e["node"] for e in events if e["type"] == "started")
    assert set(by_node) == {"worker0", "worker1"}, by_node
    assert min(by_node.values()) >= 3, f"one node did almost nothing: {by_node}"

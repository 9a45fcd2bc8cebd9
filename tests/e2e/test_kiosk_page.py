"""The kiosk page in headless Chromium against a real mosquitto (WebSocket listener), driven by a
synthetic node with known timing: sync, idle, cancellation, bad messages, reconnect, UI options."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt
import pytest
from kiosk_driver import CHROMIUM_ARGS, Kiosk, free_port
from synthetic import MOUTH_BOX, SyntheticNode, face_jpeg

from avatar_node.broker import EmbeddedBroker
from avatar_node.web.server import WebServer

pytestmark = pytest.mark.e2e

MAX_OFFSET_MS = 40.0


@pytest.fixture
def synth(ws_broker: Any, prefix: str) -> Iterator[SyntheticNode]:
    node = SyntheticNode("127.0.0.1", ws_broker.port, prefix)
    node.avatar()
    yield node
    node.close()


def mouth_change(k: Kiosk, idle: list[float]) -> float:
    return float(np.abs(np.array(k.region(MOUTH_BOX)) - np.array(idle)).mean())


def assert_in_sync(k: Kiosk, uid: str) -> dict[str, float]:
    s = k.js("(id) => window.avatarKiosk.offsetSummary(id)", uid)
    assert s["count"] > 0, "no frame drawn"
    assert s["maxAbs"] <= MAX_OFFSET_MS, f"A/V offset out of ±{MAX_OFFSET_MS} ms: {s}"
    return s


def test_idle_avatar_then_speech_in_sync(
    open_kiosk: Callable[..., Kiosk], synth: SyntheticNode
) -> None:
    k = open_kiosk()
    k.wait_for("k.avatarReady", 10, "the idle avatar")
    assert k.js("() => window.avatarKiosk.audioState()") == "running", "AudioContext not running"
    idle = k.region(MOUTH_BOX)
    assert mouth_change(k, idle) == 0

    changes: list[float] = []
    uid = synth.utterance([1200, 800, 1000], speed=3.0)
    k.wait_for("k.state === 'speaking'", 10, "playback to start")
    while k.js("() => window.avatarKiosk.state") == "speaking":
        changes.append(mouth_change(k, idle))
        time.sleep(0.05)
    k.wait_for("k.stats.utterancesDone === 1 && k.state === 'idle'", 10, "the utterance to end")

    st = k.stats()
    assert st["audioDecoded"] == 3 and st["audioScheduled"] == 3, st
    assert st["framesReceived"] == 75, st
    assert st["framesDrawn"] >= 65, st  # a few may be skipped when two fall in one refresh
    assert st["framesLate"] == 0 and st["stalls"] == 0 and st["errors"] == 0, st
    assert max(changes) > 10, f"mouth region never changed: {changes}"
    assert_in_sync(k, uid)
    assert mouth_change(k, idle) < 1, "idle frame not shown after the utterance"
    assert k.js("() => window.avatarKiosk.liveBitmaps") == 1, "decoded frames not released"


def test_lead_buffering_when_frames_come_slower_than_real_time(
    open_kiosk: Callable[..., Kiosk], synth: SyntheticNode
) -> None:
    """Frames at 0.7× real time: once the frame rate is measured, playback waits (stalls between
    chunks) rather than let the video fall behind the sound. Before it is measured (the first
    batch) a frame or two may come too late; such frames are not drawn."""
    k = open_kiosk()
    k.wait_for("k.avatarReady", 10)
    uid = synth.utterance([1000, 1000], speed=0.7)
    k.wait_for("k.stats.utterancesDone === 1", 15)
    st = k.stats()
    assert st["stalls"] >= 1, st
    assert st["framesLate"] <= 5, st
    assert st["framesDrawn"] >= 40, st
    assert_in_sync(k, uid)


@pytest.mark.parametrize("how", ["control", "event"])
def test_stop_halts_sound_and_video(
    open_kiosk: Callable[..., Kiosk], synth: SyntheticNode, how: str
) -> None:
    k = open_kiosk()
    k.wait_for("k.avatarReady", 10)
    idle = k.region(MOUTH_BOX)
    # 1.5x real time: a burst far faster than mosquitto 2.0 relays to WebSocket clients would
    # queue the stop behind the frames still in flight (see connection.js, "the pump").
    stopper = threading.Event()
    t = threading.Thread(
        target=synth.utterance,
        args=([3000, 3000],),
        kwargs={"uid": "long-1", "speed": 1.5, "finish": False, "stop": stopper},
    )
    t.start()
    uid = "long-1"
    k.wait_for("k.state === 'speaking' && k.stats.framesDrawn > 10", 10)
    assert k.js("() => window.avatarKiosk.activeSources()") >= 1
    if how == "control":
        synth.publish("control", json.dumps({"action": "stop", "id": None}))
    else:
        synth.event(uid, "cancelled")
    k.wait_for("k.state === 'idle' && k.activeSources() === 0", 1.0, "an immediate stop")
    stopper.set()  # the node stops publishing too
    t.join()
    drawn = k.stats()["framesDrawn"]
    time.sleep(0.5)
    st = k.stats()
    assert st["framesDrawn"] == drawn, "frames still drawn after stop"
    assert st["cancelled"] == 1, st
    assert k.js("() => window.avatarKiosk.liveBitmaps") == 1, "frames not released on stop"
    assert mouth_change(k, idle) < 1, "idle frame not shown after stop"
    # Late messages of the stopped utterance are ignored; the next one plays.
    uid2 = synth.utterance([600], speed=5.0)
    k.wait_for("k.stats.utterancesDone === 1", 10, "the next utterance")
    assert_in_sync(k, uid2)


def test_back_to_back_utterances_queue_and_release_everything(
    open_kiosk: Callable[..., Kiosk], synth: SyntheticNode
) -> None:
    """Ten short utterances published faster than they play: played in order, one at a time, and
    nothing stays allocated afterwards (what a kiosk running for weeks needs)."""
    k = open_kiosk()
    k.wait_for("k.avatarReady", 10)
    ids = [synth.utterance([400], uid=f"q{i}", speed=20.0) for i in range(10)]
    k.wait_for("k.stats.utterancesDone === 10 && k.state === 'idle'", 30, "all ten utterances")
    order = k.js("() => window.avatarKiosk.trace.filter((m) => m.what === 'play').map((m) => m.id)")
    assert order == ids
    st = k.stats()
    assert st["framesLate"] == 0 and st["errors"] == 0, st
    assert k.js("() => window.avatarKiosk.liveBitmaps") == 1
    assert k.js("() => window.avatarKiosk.queueLength()") == 0
    for uid in ids:
        assert_in_sync(k, uid)


def test_bad_messages_do_not_break_playback(
    open_kiosk: Callable[..., Kiosk], synth: SyntheticNode
) -> None:
    k = open_kiosk()
    k.wait_for("k.avatarReady", 10)
    uid = "good-1"
    bad_jpeg = base64.b64encode(b"\xff\xd8\xff\xe0 this is not a jpeg").decode()

    def interfere() -> None:
        time.sleep(0.3)
        synth.publish("frames", b"{not json", qos=0)
        synth.publish("frames", b"\x00\xff\xfe binary", qos=0)
        synth.publish("audio", json.dumps({"id": uid, "seq": "x"}))
        synth.publish(
            "audio",
            json.dumps(
                {
                    "id": "ghost",
                    "seq": 2,
                    "start_ms": 0,
                    "wav": base64.b64encode(b"RIFF" + b"\0" * 60).decode(),
                }
            ),
        )
        synth.publish(
            "frames",
            json.dumps(
                {
                    "id": "ghost",
                    "seq": 0,
                    "pts_ms": 0,
                    "jpeg": base64.b64encode(face_jpeg(1)).decode(),
                }
            ),
            qos=0,
        )
        # An undecodable JPEG inside the playing utterance, far ahead so it is still buffered.
        synth.publish(
            "frames",
            json.dumps(
                {
                    "id": uid,
                    "seq": 70,
                    "pts_ms": 2800,
                    "width": 256,
                    "height": 256,
                    "jpeg": bad_jpeg,
                    "final": False,
                }
            ),
            qos=0,
        )
        synth.publish("events", b"[1, 2, 3]")

    t = threading.Thread(target=interfere)
    t.start()
    synth.utterance([1600, 1600], uid=uid, speed=1.5)
    t.join()
    k.wait_for("k.stats.utterancesDone === 1", 15, "the good utterance to finish")
    st = k.stats()
    assert st["badMessages"] >= 4, st
    assert st["badFrames"] >= 1, st
    assert st["ignored"] >= 2, st
    assert st["framesDrawn"] >= 70, st
    assert st["audioScheduled"] == 2, st
    assert_in_sync(k, uid)
    assert k.js("() => window.avatarKiosk.lastError") is not None


def test_reconnects_with_backoff_and_resumes(
    open_kiosk: Callable[..., Kiosk], ws_broker: Any, prefix: str
) -> None:
    k = open_kiosk()
    ws_broker.stop()
    try:
        k.wait_for("!k.connected", 10, "the page to notice the broker is gone")
        time.sleep(2.0)  # a few failed attempts with growing delays
    finally:
        ws_broker.start()
    k.wait_for("k.connected && k.stats.reconnects >= 1", 20, "the page to reconnect")
    node = SyntheticNode("127.0.0.1", ws_broker.port, prefix)
    try:
        node.avatar()
        k.wait_for("k.avatarReady", 10)
        uid = node.utterance([800], speed=5.0)
        k.wait_for("k.stats.utterancesDone === 1", 10)
        assert_in_sync(k, uid)
    finally:
        node.close()


def test_say_box_publishes_plain_text_and_ui_can_be_hidden(
    open_kiosk: Callable[..., Kiosk], ws_broker: Any, prefix: str
) -> None:
    got: list[bytes] = []
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    sub.on_message = lambda c, u, m: got.append(m.payload)
    sub.connect("127.0.0.1", ws_broker.port)
    sub.subscribe(f"{prefix}/default/say", 1)
    sub.loop_start()
    try:
        k = open_kiosk()
        assert k.page.is_visible("#say") and k.page.is_visible("#status")
        k.page.fill("#say-text", "Hello from the kiosk")
        k.page.click("#say button")
        deadline = time.monotonic() + 5
        while not got and time.monotonic() < deadline:
            time.sleep(0.05)
        assert got == [b"Hello from the kiosk"]
        assert k.page.input_value("#say-text") == ""

        ws = f"ws://{{host}}:{ws_broker.ws_port}"
        hidden = open_kiosk(f"?status=0&input=0&lead_ms=300&channel=default&ws={ws}")
        assert not hidden.page.is_visible("#say") and not hidden.page.is_visible("#status")
        assert hidden.js("() => window.avatarKiosk.params.leadMs") == 300
        assert (
            hidden.js("() => window.avatarKiosk.params.ws") == f"ws://127.0.0.1:{ws_broker.ws_port}"
        )
    finally:
        sub.loop_stop()
        sub.disconnect()


def test_tap_to_start_when_autoplay_is_blocked(open_kiosk: Callable[..., Kiosk]) -> None:
    args = [a for a in CHROMIUM_ARGS if not a.startswith("--autoplay-policy")]
    args.append("--autoplay-policy=document-user-activation-required")
    k = open_kiosk(args=args)
    assert k.js("() => window.avatarKiosk.audioState()") == "suspended"
    k.page.wait_for_selector("#unlock", state="visible", timeout=3000)
    k.page.click("#unlock")
    k.wait_for("k.audioState() === 'running'", 5, "audio to start after the tap")
    k.page.wait_for_selector("#unlock", state="hidden", timeout=3000)


def test_plays_through_the_demo_embedded_broker(chromium: Any, prefix: str) -> None:
    """``make demo`` without a broker: amqtt's WebSocket listener carries the page's traffic."""

    port, ws_port = free_port(), free_port()
    broker = EmbeddedBroker("127.0.0.1", port, ws_port)
    broker.start()
    web = WebServer("127.0.0.1", 0, {"ws": f"ws://127.0.0.1:{ws_port}", "prefix": prefix})
    web.start()
    node = SyntheticNode("127.0.0.1", port, prefix)
    k = chromium.kiosk(web.url)
    try:
        node.avatar()
        k.wait_for("k.connected && k.avatarReady", 15, "the page on the embedded broker")
        uid = node.utterance([1000, 600], speed=3.0)
        k.wait_for("k.stats.utterancesDone === 1 && k.state === 'idle'", 15)
        st = k.stats()
        assert st["framesDrawn"] >= 35 and st["framesLate"] == 0, st
        assert_in_sync(k, uid)
    finally:
        k.close()
        node.close()
        web.stop()
        broker.stop()

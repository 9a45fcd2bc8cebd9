"""The kiosk page's connection and UI in headless Chromium against real brokers (mosquitto's and
the demo's embedded amqtt): reconnect with back-off, the say box, hidden overlays, tap to start."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from checks import assert_accounted, assert_in_sync
from kiosk_driver import CHROMIUM_ARGS, Kiosk, free_port
from synthetic import SyntheticNode

from avatar_node.broker import EmbeddedBroker
from avatar_node.web.server import WebServer

pytestmark = pytest.mark.e2e


def test_reconnects_with_backoff_and_resumes(
    open_kiosk: Callable[..., Kiosk], ws_broker: Any, prefix: str
) -> None:
    k = open_kiosk()
    ws_broker.stop()
    try:
        k.wait_for("!k.connected", 30, "the page to notice the broker is gone")
        time.sleep(2.0)  # a few failed attempts with growing delays
    finally:
        ws_broker.start()
    k.wait_for("k.connected && k.stats.reconnects >= 1", 30, "the page to reconnect")
    node = SyntheticNode("127.0.0.1", ws_broker.port, prefix)
    try:
        node.avatar()
        k.wait_for("k.avatarReady", 30)
        uid = node.utterance([800], speed=5.0)
        k.wait_for("k.stats.utterancesDone === 1", 30)
        assert_in_sync(k, uid)
    finally:
        node.close()


def test_pump_worker_pings_on_its_own_connections_while_a_reply_streams(
    open_kiosk: Callable[..., Kiosk], synth: SyntheticNode, ws_broker: Any
) -> None:
    """The pump (connection.js) runs in a worker on connections of its own (open from the
    page's connect), pinging only while media streams; ``?pump=0`` never starts it."""
    k = open_kiosk()
    k.wait_for("k.avatarReady && k.pump && k.pump.open === 3", 30, "the pump's idle connections")
    time.sleep(0.6)  # the worker reports every 0.5 s
    idle = k.js("() => window.avatarKiosk.pump")
    assert idle["sent"] == 0 and idle["hz"] == 0, f"pumping before anything streamed: {idle}"
    uid = synth.utterance([800], speed=2.0)
    k.wait_for("k.stats.utterancesDone === 1", 30, "the utterance")
    k.wait_for("k.pump && k.pump.open === 3 && k.pump.sent > 0", 20, "the pump's pings")
    k.wait_for("k.pump.hz === 0", 30, "the pump to stop once the reply is over")
    assert_in_sync(k, uid)
    off = open_kiosk("?pump=0")
    off.wait_for("k.avatarReady", 30)
    uid2 = synth.utterance([800], speed=5.0)
    off.wait_for("k.stats.utterancesDone === 1", 30, "the utterance without a pump")
    time.sleep(1.0)  # a worker would have reported by now (it reports every 0.5 s)
    assert off.js("() => window.avatarKiosk.pump") is None
    assert_in_sync(off, uid2)


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
    k.page.wait_for_selector("#unlock", state="visible", timeout=15000)
    k.page.click("#unlock")
    k.wait_for("k.audioState() === 'running'", 30, "audio to start after the tap")
    k.page.wait_for_selector("#unlock", state="hidden", timeout=15000)


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
        k.wait_for("k.connected && k.avatarReady", 30, "the page on the embedded broker")
        uid = node.utterance([1000, 600], speed=3.0)
        k.wait_for("k.stats.utterancesDone === 1 && k.state === 'idle'", 30)
        st = k.stats()
        assert st["framesDrawn"] > 0, st
        assert_accounted(k)
        assert_in_sync(k, uid)
        # amqtt accepts a $share/ filter but delivers nothing to it: the probe never comes back
        k.wait_for("k.frameLinks().why !== null", 30, "the frame links to give up")
        links = k.js("() => window.avatarKiosk.frameLinks()")
        assert links["sharing"] is False and links["open"] == 0, links
    finally:
        k.close()
        node.close()
        web.stop()
        broker.stop()


def test_frames_come_over_links_of_their_own_on_mosquitto(
    open_kiosk: Callable[..., Kiosk], synth: SyntheticNode
) -> None:
    """frame-links.js: a shared subscription spreads the frames over three links of the page's
    own (every link carries some, none twice); ``?frame_sockets=0`` keeps them on the main one."""
    k = open_kiosk()
    k.wait_for("k.avatarReady && k.frameLinks().sharing", 30, "the shared frame subscription")
    uid = synth.utterance([1200, 800], speed=2.0)
    k.wait_for("k.stats.utterancesDone === 1 && k.state === 'idle'", 30, "the utterance")
    links = k.js("() => window.avatarKiosk.frameLinks()")
    st = k.stats()
    assert links["open"] == 3 and all(n > 0 for n in links["frames"]), links
    assert sum(links["frames"]) == st["framesReceived"], (links, st)  # none on the main one
    assert_accounted(k)
    assert_in_sync(k, uid)
    off = open_kiosk("?frame_sockets=0")
    off.wait_for("k.avatarReady", 30)
    uid2 = synth.utterance([800], speed=2.0)
    off.wait_for("k.stats.utterancesDone === 1", 30, "the utterance on one connection")
    links = off.js("() => window.avatarKiosk.frameLinks()")
    assert links["sharing"] is False and links["frames"] == [], links
    assert off.stats()["framesDrawn"] > 0
    assert_in_sync(off, uid2)

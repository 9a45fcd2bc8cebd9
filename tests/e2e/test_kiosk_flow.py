"""The kiosk page holds and plays everything paced to it, and is never blank: 30 utterances on a
CPU-throttled page, idle-life frames (contract v1.1), the idle face served with the page, and the
v1.1 fields (``AudioChunk.alignment``, ``AvatarInfo.face``)."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from checks import assert_accounted, assert_in_sync, mouth_change
from kiosk_driver import Browser, Kiosk, free_port
from synthetic import MOUTH_BOX, SyntheticNode, face_jpeg

from avatar_node.web.server import WebServer

pytestmark = pytest.mark.e2e


def test_thirty_back_to_back_utterances_on_a_throttled_page_all_play_in_order(
    open_kiosk: Callable[..., Kiosk], synth: SyntheticNode
) -> None:
    """30 short utterances published far faster than they play (no pacing at all: short ones fit
    inside the node's frame lead) to a page whose CPU runs 4× slower: every one plays, in
    order, and nothing stays allocated afterwards (what a kiosk running for weeks needs)."""
    k = open_kiosk()
    k.wait_for("k.avatarReady", 30)
    k.throttle(4)
    ids = [synth.utterance([400], uid=f"q{i}", speed=20.0) for i in range(30)]
    k.wait_for("k.held().utterances >= 5", 60, "the page to hold many utterances at once")
    k.wait_for("k.stats.utterancesDone === 30 && k.state === 'idle'", 240, "all 30 utterances")
    assert k.js("() => window.avatarKiosk.order") == ids
    st = k.stats()
    assert st["errors"] == 0 and st["framesRefused"] == 0 and st["audioRefused"] == 0, st
    assert st["audioScheduled"] == 30 and st["framesReceived"] == 30 * 10, (st, k.console[-20:])
    assert_accounted(k)
    # On a throttled page beside a busy node a short utterance may have every frame skipped as
    # late (the page keeps sync by skipping): check the sync of those that drew frames.
    drew = set(k.js("() => window.avatarKiosk.offsets.map((o) => o.id)"))
    assert drew, "no utterance drew a frame"
    for uid in ids:
        if uid in drew:
            assert_in_sync(k, uid)
    assert k.js("() => window.avatarKiosk.liveBitmaps") == 1
    assert k.js("() => window.avatarKiosk.held()") == {"bytes": 0, "frames": 0, "utterances": 0}


def test_idle_life_frames_drawn_when_idle_and_ignored_during_speech(
    open_kiosk: Callable[..., Kiosk], synth: SyntheticNode
) -> None:
    k = open_kiosk()
    k.wait_for("k.avatarReady", 30)
    idle = k.region(MOUTH_BOX)
    synth.idle_frame(0, 1.0)  # mouth wide open: easy to see in the pixels
    k.wait_for("k.stats.idleDrawn === 1", 30, "the idle-life frame to be drawn")
    assert mouth_change(k, idle) > 10, "idle-life frame not on the canvas"
    synth.idle_frame(0, 0.0)  # the same seq again: stale, not drawn
    synth.idle_frame(1, 0.0)
    k.wait_for("k.stats.idleDrawn === 2", 30, "the next idle-life frame")
    assert mouth_change(k, idle) < 1
    assert k.stats()["idleReceived"] == 2

    stop = threading.Event()
    t = threading.Thread(target=synth.utterance, args=([3000],),
                         kwargs={"uid": "talk", "speed": 1.0, "stop": stop})  # fmt: skip
    t.start()
    try:
        k.wait_for("k.state === 'speaking' && k.stats.framesDrawn > 5", 30)
        for seq in range(2, 6):
            synth.idle_frame(seq, 1.0)
        k.wait_for("k.stats.idleIgnored === 4", 30, "idle frames during speech to be ignored")
    finally:
        t.join()
    k.wait_for("k.stats.utterancesDone === 1 && k.state === 'idle'", 30)
    st = k.stats()
    assert st["idleDrawn"] == 2, st
    assert_accounted(k)
    synth.idle_frame(6, 1.0)
    k.wait_for("k.stats.idleDrawn === 3", 30, "idle life after the utterance")
    assert k.js("() => window.avatarKiosk.liveBitmaps") == 1


def test_alignment_and_face_are_tolerated_and_the_viseme_exposed(
    open_kiosk: Callable[..., Kiosk], synth: SyntheticNode
) -> None:
    synth.avatar(face=[40, 30, 216, 230])
    k = open_kiosk()
    k.wait_for("k.avatarReady && k.face", 30)
    assert k.js("() => window.avatarKiosk.face") == [40, 30, 216, 230]
    seen: set[str] = set()
    t = threading.Thread(target=synth.utterance, args=([1200, 1200],),
                         kwargs={"uid": "aligned", "speed": 2.0, "alignment": True})  # fmt: skip
    t.start()
    try:
        k.wait_for("k.state === 'speaking'", 30)
        while k.js("() => window.avatarKiosk.state") == "speaking":
            v = k.js("() => window.avatarKiosk.viseme")
            if v:
                seen.add(v)
            time.sleep(0.02)
    finally:
        t.join()
    k.wait_for("k.stats.utterancesDone === 1", 30)
    assert seen <= {"aa", "PP"} and seen, seen
    assert k.js("() => window.avatarKiosk.viseme") is None
    assert k.stats()["errors"] == 0
    assert_in_sync(k, "aligned")


def test_idle_face_is_in_the_page_before_anything_connects(chromium: Browser, prefix: str) -> None:
    """The server puts the resting frame into index.html: the face is on the first paint, even
    with no broker reachable at all."""
    jpeg = face_jpeg(1.0)
    dead = f"ws://127.0.0.1:{free_port()}"
    web = WebServer("127.0.0.1", 0, {"ws": dead, "channel": "lobby", "prefix": prefix})
    web.set_idle("lobby", jpeg)
    web.start()
    try:
        k: Any = chromium.kiosk(web.url)
        try:
            k.page.wait_for_selector("#idle-face", state="visible", timeout=15000)
            assert k.js("() => document.querySelector('#idle-face').naturalWidth") == 256
            assert not k.page.is_visible("#avatar")
            k.wait_for("k.firstPicture && k.firstPicture.what === 'server'", 30)
            assert not k.js("() => window.avatarKiosk.connected")
            src = k.js("() => document.querySelector('#idle-face').src")
            assert src == "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()
        finally:
            k.close()
        other = chromium.kiosk(web.url + "?channel=hall")  # no idle face known for this one
        try:
            other.page.wait_for_selector("#avatar", state="visible", timeout=15000)
            assert not other.page.is_visible("#idle-face")
        finally:
            other.close()
    finally:
        web.stop()


def test_canvas_takes_over_from_the_served_face(
    chromium: Browser, ws_broker: Any, synth: SyntheticNode, prefix: str
) -> None:
    ws = f"ws://127.0.0.1:{ws_broker.ws_port}"
    web = WebServer("127.0.0.1", 0, {"ws": ws, "channel": "default", "prefix": prefix},
                    idle_source=lambda ch: face_jpeg(0.0) if ch == "default" else None)  # fmt: skip
    web.start()
    try:
        k = chromium.kiosk(web.url)
        try:
            k.wait_for("k.avatarReady", 30, "the retained avatar")
            k.page.wait_for_selector("#avatar", state="visible", timeout=15000)
            assert not k.page.is_visible("#idle-face")
            assert k.js("() => window.avatarKiosk.firstPicture.what") == "server"
            synth.utterance([800], uid="after", speed=4.0)
            k.wait_for("k.stats.utterancesDone === 1", 30)
            assert_in_sync(k, "after")
        finally:
            k.close()
    finally:
        web.stop()

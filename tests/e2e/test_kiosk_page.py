"""The kiosk page in headless Chromium against a real mosquitto (WebSocket listener), driven by a
synthetic node with known timing: sync, idle, cancellation, bad messages.

No assert here depends on how busy the machine is: A/V sync is checked structurally (every frame
drawn on the AudioContext clock, never ahead of its sound and never more than the page's drop
bound behind it, every frame accounted for); how close to the due time frames are drawn is
measured by ``bench/kiosk.py``."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable

import pytest
from checks import assert_accounted, assert_in_sync, mouth_change
from kiosk_driver import Kiosk
from synthetic import MOUTH_BOX, SyntheticNode, face_jpeg

pytestmark = pytest.mark.e2e


def test_idle_avatar_then_speech_in_sync(
    open_kiosk: Callable[..., Kiosk], synth: SyntheticNode
) -> None:
    k = open_kiosk()
    k.wait_for("k.avatarReady", 30, "the idle avatar")
    assert k.js("() => window.avatarKiosk.audioState()") == "running", "AudioContext not running"
    idle = k.region(MOUTH_BOX)
    assert mouth_change(k, idle) == 0

    changes: list[float] = []
    uid = synth.utterance([1200, 800, 1000], speed=3.0)
    k.wait_for("k.state === 'speaking'", 30, "playback to start")
    while k.js("() => window.avatarKiosk.state") == "speaking":
        changes.append(mouth_change(k, idle))
        time.sleep(0.05)
    k.wait_for("k.stats.utterancesDone === 1 && k.state === 'idle'", 30, "the utterance to end")

    st = k.stats()
    assert st["audioDecoded"] == 3 and st["audioScheduled"] == 3, st
    assert st["framesReceived"] == 75, st
    assert st["framesDrawn"] > 0 and st["errors"] == 0, st
    assert_accounted(k)
    assert max(changes) > 10, f"mouth region never changed: {changes}"
    assert_in_sync(k, uid)
    assert mouth_change(k, idle) < 1, "idle frame not shown after the utterance"
    assert k.js("() => window.avatarKiosk.liveBitmaps") == 1, "decoded frames not released"


def test_lead_buffering_when_frames_come_slower_than_real_time(
    open_kiosk: Callable[..., Kiosk], synth: SyntheticNode
) -> None:
    """Frames at 0.7× real time on a fresh page: the first chunk waits until the arrival rate is
    measured (>= 300 ms of arrivals, see utterance.js) and enough of it is buffered, or a later
    chunk stalls, rather than let the video fall behind the sound."""
    k = open_kiosk()
    k.wait_for("k.avatarReady", 30)
    uid = synth.utterance([1000, 1000], speed=0.7)
    k.wait_for("k.stats.utterancesDone === 1", 30)
    st = k.stats()
    marks = k.js(
        "(id) => Object.fromEntries(window.avatarKiosk.trace.filter((m) => m.id === id)"
        ".map((m) => [m.what + (m.n ?? ''), m.at]))",
        uid,
    )
    # The page measures from the first of its audio and frames (utterance.js frameRate).
    waited = marks["play0"] - min(marks["audio0"], marks["frame00"])
    assert st["stalls"] >= 1 or waited >= 299, (st, marks)
    assert st["framesDrawn"] > 0, st
    assert_accounted(k)
    assert_in_sync(k, uid)


@pytest.mark.parametrize("how", ["control", "event"])
def test_stop_halts_sound_and_video(
    open_kiosk: Callable[..., Kiosk], synth: SyntheticNode, how: str
) -> None:
    k = open_kiosk()
    k.wait_for("k.avatarReady", 30)
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
    k.wait_for("k.state === 'speaking' && k.stats.framesDrawn > 10", 30)
    assert k.js("() => window.avatarKiosk.activeSources()") >= 1
    if how == "control":
        synth.publish("control", json.dumps({"action": "stop", "id": None}))
    else:
        synth.event(uid, "cancelled")
    k.wait_for("k.state === 'idle' && k.activeSources() === 0", 10, "the stop")
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
    k.wait_for("k.stats.utterancesDone === 1", 30, "the next utterance")
    assert_in_sync(k, uid2)


def test_bad_messages_do_not_break_playback(
    open_kiosk: Callable[..., Kiosk], synth: SyntheticNode
) -> None:
    k = open_kiosk()
    k.wait_for("k.avatarReady", 30)
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
    k.wait_for("k.stats.utterancesDone === 1", 30, "the good utterance to finish")
    st = k.stats()
    assert st["badMessages"] >= 4, st
    assert st["badFrames"] >= 1, st
    assert st["ignored"] >= 1, st  # the ghost's audio seq 2 (no seq 0)
    # The ghost's frame waits for its first audio chunk (frames may overtake it), at most 60 s.
    assert k.js("() => window.avatarKiosk.held()")["frames"] == 1
    assert st["framesDrawn"] > 0, st
    assert_accounted(k)
    assert st["audioScheduled"] == 2, st
    assert_in_sync(k, uid)
    assert k.js("() => window.avatarKiosk.lastError") is not None

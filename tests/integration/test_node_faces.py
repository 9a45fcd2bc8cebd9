"""Faces through the broker: retained avatar, frames on the audio clock, phrase cache replay."""

from __future__ import annotations

import base64
import time

import cv2
import numpy as np


def test_frames_avatar_and_phrase_cache(make_node, client, collector, tmp_path):
    make_node(load_avatars=True, lipsync={"engine": "energy", "cache_dir": str(tmp_path)})
    collector.wait_for(lambda c: "avatar" in c.retained, 30)
    info = collector.retained["avatar"]
    assert info["lipsync"] == "energy" and info["fps"] == 25
    idle = cv2.imdecode(np.frombuffer(base64.b64decode(info["idle"]), np.uint8), cv2.IMREAD_COLOR)
    assert idle.shape[:2] == (info["height"], info["width"])

    text = "The garage door is open. Please close it."
    first = collector.wait_end(client.say(text, id="garage1"), 90)
    assert first.end["type"] == "finished"
    audio_ms = sum(c["duration_ms"] for c in first.audio)
    frames = sorted(first.frames, key=lambda f: f["seq"])
    assert [f["seq"] for f in frames] == list(range(len(frames)))
    assert abs(len(frames) - audio_ms * 25 / 1000) <= 1
    assert frames[-1]["final"] and not any(f["final"] for f in frames[:-1])
    jpegs = first.jpegs()
    decoded = [cv2.imdecode(np.frombuffer(j, np.uint8), cv2.IMREAD_COLOR) for j in jpegs]
    spread = np.std(np.stack([d.astype(np.float32) for d in decoded]), axis=0).max()
    assert spread > 10, "the mouth never moved"

    second = collector.wait_end(client.say(text, id="garage2"), 30)
    assert second.end["detail"] == {"cache": "hit"}
    assert [c["wav"] for c in sorted(second.audio, key=lambda c: c["seq"])] == [
        c["wav"] for c in sorted(first.audio, key=lambda c: c["seq"])
    ]
    assert second.jpegs() == jpegs
    collector.wait_for(lambda c: c.retained["state"]["metrics"]["cache_hits"] == 1, 10)


def test_every_frame_decodes_to_the_avatar_size_and_stop_cuts_frames(make_node, client, collector,
                                                                       tmp_path):  # fmt: skip
    make_node(load_avatars=True, lipsync={"engine": "energy", "cache_dir": str(tmp_path)},
              node={"phrase_cache_mb": 0})  # fmt: skip
    collector.wait_for(lambda c: "avatar" in c.retained, 30)
    info = collector.retained["avatar"]
    text = "This is the first sentence. Here is a second one. And a third, to keep it going."
    utt = collector.wait_end(client.say(text, id="sizes"), 90)
    for jpeg in utt.jpegs():
        img = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert img.shape[:2] == (info["height"], info["width"])

    client.say(text * 3, id="cut")
    collector.wait_for(lambda c: len(c.utterances["cut"].frames) > 20, 60)
    client.control("stop", "cut")
    cut = collector.wait_end("cut", 30)
    assert cut.end["type"] == "cancelled"
    n_at_end = len(cut.frames)
    time.sleep(1.5)
    assert len(cut.frames) - n_at_end == 0, "frames published after the cancelled event"
    audio_ms = sum(c["duration_ms"] for c in cut.audio)
    assert len(cut.frames) < audio_ms * 25 / 1000, "the utterance was not cut short"


def test_avatar_without_a_face_fails_enrolment_and_the_node_keeps_speaking(
    make_node, client, collector, tmp_path
):
    blank = tmp_path / "wall.png"
    cv2.imwrite(str(blank), np.full((240, 240, 3), 128, np.uint8))
    node = make_node(load_avatars=True, avatars={"default": {"source": str(blank)}},
                     lipsync={"engine": "energy", "cache_dir": str(tmp_path)})  # fmt: skip
    assert "no face found" in node.avatars.failures["default"]
    utt = collector.wait_end(client.say("I can still talk.", id="noface"), 60)
    assert utt.end["type"] == "finished" and utt.audio and not utt.frames

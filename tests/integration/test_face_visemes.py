"""Visemes through the broker: in the frames a display decodes, the lips close on PP and open on aa.

The measure: the mouth region is the lower part of the face box that ``AvatarInfo.face`` gives
(rows 55-100 % of the box height, the middle 60 % of its width). For each frame, its mean absolute
difference (0-255, all pixels and channels) from the same region of the idle JPEG (the photo's
closed, resting mouth). Frames "during PP" have their time (``pts_ms``) inside a ``PP`` entry of
``AudioChunk.alignment``; frames "during aa" lie wholly (±half a frame) inside an ``aa`` entry.
Life is turned off so that only the mouth moves; blinks and sway have their own tests.
"""

from __future__ import annotations

import base64

import cv2
import numpy as np

TEXT = "Bob, open the map. Ah, we see you! Papa, pop the bubble."


def decode(b64_or_bytes: str | bytes) -> np.ndarray:
    data = base64.b64decode(b64_or_bytes) if isinstance(b64_or_bytes, str) else b64_or_bytes
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert img is not None, "a frame is not a decodable JPEG"
    return img


def mouth_region(face: list[int]) -> tuple[slice, slice]:
    x1, y1, x2, y2 = face
    w, h = x2 - x1, y2 - y1
    return slice(y1 + int(0.55 * h), y2), slice(x1 + int(0.2 * w), x2 - int(0.2 * w))


def test_pp_frames_stay_near_the_closed_mouth_and_aa_frames_open(make_node, client, collector,
                                                                 tmp_path):  # fmt: skip
    make_node(load_avatars=True, lipsync={"engine": "viseme", "cache_dir": str(tmp_path)},
              life={"blink": False, "idle_motion": False},
              node={"phrase_cache_mb": 0})  # fmt: skip
    collector.wait_for(lambda c: "avatar" in c.retained, 60)
    info = collector.retained["avatar"]
    assert info["lipsync"] == "viseme"
    face = info["face"]
    assert face is not None and len(face) == 4, "AvatarInfo.face is missing"
    rest = decode(info["idle"])
    region = mouth_region(face)

    utt = collector.wait_end(client.say(TEXT, id="visemes1"), 120)
    assert utt.end is not None and utt.end["type"] == "finished", utt.end
    spans = [a for chunk in sorted(utt.audio, key=lambda c: c["seq"]) for a in chunk["alignment"]]
    half = 1000.0 / info["fps"] / 2

    def inside(viseme: str, t: float, margin: float) -> bool:
        return any(a["v"] == viseme and a["start_ms"] <= t - margin and t + margin <= a["end_ms"]
                   for a in spans)  # fmt: skip

    diff: dict[str, list[float]] = {"PP": [], "aa": []}
    for frame in utt.frames:
        t = frame["pts_ms"]
        img = decode(frame["jpeg"])
        assert img.shape == rest.shape
        d = float(np.abs(img[region].astype(np.float32) - rest[region]).mean())
        if inside("PP", t, 0.0):
            diff["PP"].append(d)
        elif inside("aa", t, half):
            diff["aa"].append(d)
    pp, aa = diff["PP"], diff["aa"]
    assert len(pp) >= 3 and len(aa) >= 3, (len(pp), len(aa), [a["v"] for a in spans])
    # PP: the closed lips, as the photo (JPEG noise and the lips' slight press only)
    assert np.mean(pp) < 0.25 * np.mean(aa), (pp, aa)
    assert max(pp) < 0.5 * min(aa), (pp, aa)

"""Life while idle, through a real broker: the node streams blinks on ``{channel}/idle``.

Over a 20 s idle window (idle motion off, so only the lids move), the eye band of the decoded
idle frames departs from the retained resting face in separate episodes: blinks, every 2-6 s.
"""

from __future__ import annotations

import base64
import json
import threading
import time

import cv2
import numpy as np

WINDOW_S = 20.0


def _decode(data: bytes) -> np.ndarray:
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert img is not None
    return img.astype(np.float32)


def test_idle_stream_blinks_at_the_configured_rate(make_node, client, prefix, tmp_path):
    got: list[tuple[float, dict]] = []
    avatar: dict = {}
    lock = threading.Lock()

    def on_idle(_t: str, payload: bytes) -> None:
        with lock:
            got.append((time.monotonic(), json.loads(payload)))

    client.subscribe(f"{prefix}/default/avatar", lambda _t, p: avatar.update(json.loads(p)))
    client.subscribe(f"{prefix}/default/idle", on_idle, qos=0)
    make_node(load_avatars=True, lipsync={"engine": "viseme", "cache_dir": str(tmp_path)},
              life={"blink": True, "idle_motion": False})  # fmt: skip
    time.sleep(WINDOW_S)
    with lock:
        frames = list(got)
    assert avatar.get("face"), "the retained avatar names its face box"
    assert frames, "no idle frames were streamed"
    x1, y1, x2, y2 = avatar["face"]
    h = y2 - y1
    band = (slice(y1 + int(0.2 * h), y1 + int(0.5 * h)), slice(x1, x2))
    rest = _decode(base64.b64decode(avatar["idle"]))[band]
    # The lids cover a small part of the band: measure the share of its pixels that moved.
    diffs = [float((np.abs(_decode(base64.b64decode(f["jpeg"]))[band] - rest) > 25).mean() * 100)
             for _, f in frames]  # fmt: skip
    assert all(f["id"] == "idle" for _, f in frames)
    closed = [d > 1.0 for d in diffs]  # % of the band's pixels
    episodes = sum(1 for i, c in enumerate(closed) if c and (i == 0 or not closed[i - 1]))
    # 20 s at one blink per 2-6 s: 3 to 10 blinks (a margin of one at each end for the window).
    assert 2 <= episodes <= 11, (episodes, [round(d, 1) for d in diffs])
    assert min(diffs) < 0.2, "between blinks the eyes are the resting face's"

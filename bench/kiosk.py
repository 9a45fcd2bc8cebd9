"""Kiosk benchmark: ``say`` → first frame drawn in the browser, and the A/V offset distribution.

Starts a private mosquitto (TCP + WebSockets), the real node in-process (bundled voice and avatar
unless ``--config`` names a YAML file), the kiosk page server and headless Debian Chromium, then
speaks a 3-sentence utterance ``--runs`` times (after one warm-up) and prints:

- time from ``say`` (published by the page itself, so both ends read the same clock) to the first
  frame drawn on the canvas, cold (warm-up) and warm;
- the A/V offset of every drawn frame (drawn time on the AudioContext clock minus the frame's due
  time on that clock): median, p95 and max of |offset|, and frames late / skipped.

Target (issue 5): first frame ≤ 600 ms after ``say``; |offset| ≤ 40 ms throughout.

    python bench/kiosk.py [--runs 2] [--config FILE] [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests" / "e2e")]

from kiosk_driver import Browser, free_port, wait_port  # noqa: E402

from avatar_node.app import Node  # noqa: E402
from avatar_node.settings import load_settings  # noqa: E402
from avatar_node.web.server import WebServer  # noqa: E402

TEXT = (
    "Hello, I am the avatar node. "
    "My voice and my lips come to this page over MQTT. "
    "Thank you for watching."
)


class Mosquitto:
    """A throw-away mosquitto with a TCP and a WebSocket listener."""

    def __init__(self, workdir: Path):
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.port, self.ws_port = free_port(), free_port()
        conf = workdir / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\nprotocol mqtt\nallow_anonymous true\n"
            f"listener {self.ws_port} 127.0.0.1\nprotocol websockets\n"
        )
        self.proc = subprocess.Popen([exe, "-c", str(conf)], stderr=subprocess.DEVNULL)
        wait_port(self.port)
        wait_port(self.ws_port)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def one_run(k: Any, text: str, timeout: float = 120.0) -> dict[str, Any]:
    uid = "bench-" + uuid.uuid4().hex[:8]
    before = k.stats()
    t0 = k.js(
        "(m) => { const t = performance.now(); window.avatarKiosk.say(m); return t; }",
        json.dumps({"text": text, "id": uid}),
    )
    k.wait_for(f"k.firstFrameAt[{json.dumps(uid)}] !== undefined", timeout, "the first frame")
    first = k.js(f"() => window.avatarKiosk.firstFrameAt[{json.dumps(uid)}]") - t0
    k.wait_for("k.state === 'idle' && k.queueLength() === 0", timeout, "the utterance to end")
    offsets = k.js(
        "(id) => window.avatarKiosk.offsets.filter((o) => o.id === id).map((o) => o.offsetMs)", uid
    )
    trace = k.js(
        "(id) => window.avatarKiosk.trace.filter((m) => m.id === id)"
        ".map((m) => [m.what, m.n, Math.round(m.at)])",
        uid,
    )
    marks = {f"{w}{'' if n is None else n}": at - t0 for w, n, at in trace}
    after = k.stats()
    delta = {key: after[key] - before.get(key, 0) for key in after}
    return {"id": uid, "first_frame_ms": first, "offsets": offsets, "stats": delta, "marks": marks}


def summarize(offsets: list[float]) -> dict[str, float]:
    if not offsets:
        return {"count": 0}
    absolute = sorted(abs(x) for x in offsets)
    return {
        "count": len(offsets),
        "median_ms": statistics.median(offsets),
        "median_abs_ms": statistics.median(absolute),
        "p95_abs_ms": absolute[int(0.95 * (len(absolute) - 1))],
        "max_abs_ms": absolute[-1],
        "min_ms": min(offsets),
        "max_ms": max(offsets),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=2, help="measured runs after the warm-up")
    ap.add_argument("--config", help="node YAML config (default: bundled voice and avatar)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-kiosk-") as tmp:
        broker = Mosquitto(Path(tmp))
        prefix = "bench" + uuid.uuid4().hex[:6]
        base = load_settings(args.config)
        settings = base.model_copy(
            update={
                "mqtt": base.mqtt.model_copy(
                    update={"host": "127.0.0.1", "port": broker.port, "topic_prefix": prefix}
                ),
                "web": base.web.model_copy(update={"enabled": False}),
            }
        )
        t = time.monotonic()
        node = Node(settings)
        node.start()
        load_s = time.monotonic() - t
        web = WebServer("127.0.0.1", 0, {
            "ws": f"ws://127.0.0.1:{broker.ws_port}", "prefix": prefix, "channel": "default",
        })  # fmt: skip
        web.start()
        try:
            with Browser() as browser:
                k = browser.kiosk(web.url)
                try:
                    k.wait_for("k.connected && k.avatarReady", 30, "the page and the avatar")
                    cold = one_run(k, TEXT)
                    runs = [one_run(k, TEXT) for _ in range(args.runs)]
                finally:
                    k.close()
        finally:
            web.stop()
            node.stop()
            broker.stop()

    warm_first = [r["first_frame_ms"] for r in runs]
    offsets = [x for r in runs for x in r["offsets"]]
    late = sum(r["stats"]["framesLate"] for r in [cold, *runs])
    result = {
        "node_start_s": round(load_s, 2),
        "first_frame_cold_ms": round(cold["first_frame_ms"], 1),
        "first_frame_warm_ms": [round(x, 1) for x in warm_first],
        "offsets_warm": {k: round(v, 2) for k, v in summarize(offsets).items()},
        "offsets_cold": {k: round(v, 2) for k, v in summarize(cold["offsets"]).items()},
        "frames_late": late,
        "frames_skipped": sum(r["stats"]["framesSkipped"] for r in [cold, *runs]),
        "stalls": sum(r["stats"]["stalls"] for r in [cold, *runs]),
        "audio_chunks": cold["stats"]["audioScheduled"],
        "milestones_ms": [{k: round(v) for k, v in r["marks"].items()} for r in [cold, *runs]],
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"node start (load voice + avatar): {result['node_start_s']} s")
        print(f"say -> first frame drawn: cold {result['first_frame_cold_ms']} ms, "
              f"warm {result['first_frame_warm_ms']} ms (target <= 600 ms)")  # fmt: skip
        o = result["offsets_warm"]
        print(f"A/V offset over {o.get('count', 0)} frames: median {o.get('median_ms')} ms, "
              f"p95 |x| {o.get('p95_abs_ms')} ms, max |x| {o.get('max_abs_ms')} ms "
              f"(target <= 40 ms)")  # fmt: skip
        print(f"audio chunks per utterance {result['audio_chunks']}, frames late "
              f"{result['frames_late']}, skipped {result['frames_skipped']}, "
              f"stalls {result['stalls']}")  # fmt: skip
        for i, m in enumerate(result["milestones_ms"]):
            print(f"  run {i} ({'cold' if i == 0 else 'warm'}) ms after say:", m)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

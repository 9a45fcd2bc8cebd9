"""Kiosk soak: the page in headless Chromium under continuous speech for a long time (not in CI).

Starts a private mosquitto (TCP + WebSockets), the real node in this process (bundled voice and
avatar), the page server and headless Debian Chromium, then keeps the node speaking: a new
utterance (distinct text, so no phrase-cache hits) is sent whenever fewer than two are pending.
Every ``--report-s`` seconds it prints the page's JS heap and DOM node count (Chromium's
``Performance.getMetrics``, after a forced garbage collection), decoded bitmaps alive, what the
page holds, frames received / drawn / late, and the RSS of the node (this process) and of
Chromium. At the end: start/end figures and their growth, against the bounds below.

    .venv/bin/python bench/kiosk_soak.py                 # 20 minutes
    .venv/bin/python bench/kiosk_soak.py --minutes 2
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests" / "e2e"), str(REPO / "bench")]

from kiosk import Mosquitto, private_settings  # noqa: E402
from kiosk_driver import Browser, Kiosk  # noqa: E402

from avatar_node.app import Node  # noqa: E402
from avatar_node.web.server import WebServer  # noqa: E402

WORDS = (
    "the quick brown fox jumps over a lazy dog while seven bright kiosks say hello to "
    "every visitor who walks past the lobby desk on a rainy morning"
).split()
#: Bounds the run is checked against (JS heap after GC, DOM nodes, decoded frames alive).
HEAP_GROWTH_MB = 8.0
DOM_GROWTH = 50
LIVE_BITMAPS = 40
HEADER = (
    "t_s heap_mb dom listeners bitmaps held(frames,MB) queue done recv drawn late skipped "
    "errors node_rss chromium_rss"
)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--minutes", type=float, default=20.0, help="run time (default 20)")
    p.add_argument("--report-s", type=float, default=60.0, help="seconds between reports")
    p.add_argument("--config", help="node YAML config (default: bundled voice and avatar)")
    p.add_argument("--json", help="also write every sample to this JSON file")
    return p.parse_args()


class Ends:
    """Counts utterances that ended (finished / cancelled / error / rejected) from node events."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.by_type: dict[str, int] = {}

    def __call__(self, ev: Any) -> None:
        kind = getattr(ev.kind, "value", ev.kind)
        if kind in ("finished", "cancelled", "error", "rejected"):
            with self.lock:
                self.count += 1
                self.by_type[kind] = self.by_type.get(kind, 0) + 1


def chromium_rss_mb() -> float:
    total = 0
    for p in psutil.process_iter(["name", "memory_info"]):
        if (p.info["name"] or "").startswith("chromium") and p.info["memory_info"]:
            total += p.info["memory_info"].rss
    return total / 2**20


def sample(k: Kiosk, cdp: Any, t: float) -> dict[str, Any]:
    cdp.send("HeapProfiler.collectGarbage")
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    page = k.js(
        "() => { const k = window.avatarKiosk; return {stats: {...k.stats}, held: k.held(),"
        " liveBitmaps: k.liveBitmaps, queue: k.queueLength(), offsets: k.offsets.length,"
        " longTasks: {...k.longTasks}}; }"
    )
    st = page["stats"]
    return {
        "t_s": round(t),
        "heap_mb": round(metrics["JSHeapUsedSize"] / 2**20, 2),
        "dom_nodes": int(metrics["Nodes"]),
        "listeners": int(metrics["JSEventListeners"]),
        "live_bitmaps": page["liveBitmaps"],
        "held_frames": page["held"]["frames"],
        "held_mb": round(page["held"]["bytes"] / 2**20, 1),
        "queue": page["queue"],
        "utterances_done": st["utterancesDone"],
        "frames_received": st["framesReceived"],
        "frames_drawn": st["framesDrawn"],
        "frames_late": st["framesLate"],
        "frames_skipped": st["framesSkipped"],
        "errors": st["errors"],
        "node_rss_mb": round(psutil.Process().memory_info().rss / 2**20),
        "chromium_rss_mb": round(chromium_rss_mb()),
    }


def main() -> int:
    args = parse_args()
    rng = random.Random(11)
    samples: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="kiosk-soak-") as tmp:
        broker = Mosquitto(Path(tmp))
        prefix = "ksoak" + uuid.uuid4().hex[:6]
        settings = private_settings(args.config, broker.port, prefix)
        node = Node(settings)
        node.start()
        ends = Ends()
        node.on_event.append(ends)
        web = WebServer("127.0.0.1", 0, {
            "ws": f"ws://127.0.0.1:{broker.ws_port}", "prefix": prefix, "channel": "default",
        })  # fmt: skip
        web.start()
        sent = 0
        try:
            with Browser() as browser, browser.kiosk(web.url + "?input=0") as k:
                k.wait_for("k.connected && k.avatarReady", 60, "the page and the avatar")
                cdp = k.context.new_cdp_session(k.page)
                cdp.send("Performance.enable")
                t0 = time.monotonic()
                end = t0 + args.minutes * 60
                next_report = t0
                print(HEADER, flush=True)
                while time.monotonic() < end:
                    now = time.monotonic()
                    if now >= next_report:
                        s = sample(k, cdp, now - t0)
                        samples.append(s)
                        print(" ".join(str(s[key]) for key in (
                            "t_s", "heap_mb", "dom_nodes", "listeners", "live_bitmaps",
                            "held_frames", "held_mb", "queue", "utterances_done",
                            "frames_received", "frames_drawn", "frames_late", "frames_skipped",
                            "errors", "node_rss_mb", "chromium_rss_mb")), flush=True)  # fmt: skip
                        next_report += args.report_s
                    with ends.lock:
                        pending = sent - ends.count
                    if pending < 2:
                        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 20)))
                        text = f"{words.capitalize()}. Number {sent}."
                        k.js("(m) => window.avatarKiosk.say(m)",
                             json.dumps({"text": text, "id": f"k{sent}"}))  # fmt: skip
                        sent += 1
                    time.sleep(0.5)
                # Let the last utterances play out, then the final sample.
                k.wait_for("k.state === 'idle' && k.queueLength() === 0", 120, "the queue to drain")
                samples.append(sample(k, cdp, time.monotonic() - t0))
        finally:
            web.stop()
            node.stop()
            broker.stop()
    report(samples, sent, ends.by_type, args.json)
    return 0


def report(samples: list[dict[str, Any]], sent: int, ends: dict[str, int], out: str | None) -> None:
    if out:
        Path(out).write_text(json.dumps({"samples": samples, "sent": sent, "ends": ends}))
    if len(samples) < 2:
        return
    first, last = samples[1] if len(samples) > 2 else samples[0], samples[-1]
    heap = last["heap_mb"] - first["heap_mb"]
    dom = last["dom_nodes"] - first["dom_nodes"]
    drawn, late = last["frames_drawn"], last["frames_late"]
    recv = last["frames_received"]
    print(f"{last['t_s'] / 60:.1f} min, {sent} utterances sent, ends {ends}")
    print(f"JS heap (after GC) {first['heap_mb']} -> {last['heap_mb']} MB ({heap:+.2f} MB, "
          f"bound {HEAP_GROWTH_MB} MB); DOM nodes {first['dom_nodes']} -> {last['dom_nodes']} "
          f"({dom:+d}, bound {DOM_GROWTH}); live bitmaps at the end "
          f"{last['live_bitmaps']}")  # fmt: skip
    print(f"frames received {recv}, drawn {drawn} ({100 * drawn / max(1, recv):.1f} %), "
          f"late {late}, skipped {last['frames_skipped']}")  # fmt: skip
    print(f"node RSS {first['node_rss_mb']} -> {last['node_rss_mb']} MB (peak "
          f"{max(s['node_rss_mb'] for s in samples)}), Chromium RSS {first['chromium_rss_mb']} -> "
          f"{last['chromium_rss_mb']} MB")  # fmt: skip
    ok = heap <= HEAP_GROWTH_MB and dom <= DOM_GROWTH and last["live_bitmaps"] <= LIVE_BITMAPS
    print("within bounds" if ok else "OUT OF BOUNDS")


if __name__ == "__main__":
    sys.exit(main())

"""Kiosk benchmark: the page in headless Chromium against the real node, this page and a baseline.

Starts a private mosquitto (TCP + WebSockets), the real node in-process (bundled voice and avatar
unless ``--config`` names a YAML file), the kiosk page server and headless Debian Chromium. For each
page (this tree's, and the page of ``--baseline REV`` served from a temporary directory, in the same
run and against the same node) it opens a fresh Chromium and prints:

- time from navigation start to the first visible face (the server's inline idle image or the
  first canvas picture);
- ``say`` -> first frame drawn: cold (the first utterance of a fresh page) and warm (later ones),
  every text new to the node (no phrase-cache hits), ``say`` published by the page itself so both
  ends read the same clock;
- frames received / drawn, and how many were drawn on time, late (not drawn: more than two frame
  intervals after their due time) or skipped (a later frame was due at the same refresh), plus
  what made them late (arrival, decode, or the draw);
- the A/V offset of every drawn frame (drawn time minus due time on the AudioContext clock).

Target (issues 13 and 15): >= 98 % of frames drawn on time, |offset| <= 40 ms, first frame
<= 400 ms cold / <= 300 ms warm.

    python bench/kiosk.py [--runs 3] [--baseline REV] [--no-baseline] [--baseline-tree REV]
                          [--config FILE] [--json]

``--baseline-tree REV`` adds REV's whole chain (its node as well as its page), measured first.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests" / "e2e")]

from kiosk_driver import Browser, free_port, wait_port  # noqa: E402

from avatar_node.app import Node  # noqa: E402
from avatar_node.settings import Settings, load_settings  # noqa: E402
from avatar_node.web.server import STATIC_DIR, WebServer  # noqa: E402

TEXT = (
    "Hello, I am the avatar node. "
    "My voice and my lips come to this page over MQTT. "
    "Thank you for watching."
)
#: The page before the pump worker and the rate-aware gate (issue 15), the same-run baseline.
BASELINE = "37dbe72"
WORDS = "red green blue amber silver golden purple orange".split()


def text_for(n: int) -> str:
    """TEXT with a distinct first sentence (the node's phrase cache never answers it)."""
    return TEXT.replace("the avatar node", f"the {WORDS[n % len(WORDS)]} avatar number {n}", 1)


def static_of(rev: str, dest: Path) -> Path:
    """The page (avatar_node/web/static) as it was at revision ``rev``, extracted to ``dest``."""
    tar = subprocess.run(
        ["git", "-C", str(REPO), "archive", rev, "avatar_node/web/static"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    with tarfile.open(fileobj=io.BytesIO(tar)) as t:
        t.extractall(dest, filter="data")
    return dest / "avatar_node" / "web" / "static"


def private_settings(config: str | None, port: int, prefix: str) -> Settings:
    """The node's settings from ``config``, on a private broker and prefix, without its web server
    (the benchmarks serve the page themselves)."""
    base = load_settings(config)
    mqtt = base.mqtt.model_copy(update={"host": "127.0.0.1", "port": port, "topic_prefix": prefix})
    web = base.web.model_copy(update={"enabled": False})
    return base.model_copy(update={"mqtt": mqtt, "web": web})


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
    log = k.js("(id) => (window.avatarKiosk.frameLog || []).filter((r) => r[0] === id)", uid)
    after = k.stats()
    delta = {key: after[key] - before.get(key, 0) for key in after}
    return {
        "id": uid, "first_frame_ms": first, "offsets": offsets, "stats": delta, "marks": marks,
        "causes": causes(log),
    }  # fmt: skip


def causes(log: list[list[Any]]) -> dict[str, Any]:
    """Why frames were not drawn on time: each skipped/late frame by what came after its due time
    (its arrival, its decode, else the draw itself), and the arrival lead (due - arrival)."""
    out: dict[str, Any] = {"arrived_late": 0, "decoded_late": 0, "draw_late": 0}
    leads = []
    for _id, _seq, recv, decoded, due, _at, outcome in log:
        leads.append(due - recv)
        if outcome == "drawn":
            continue
        if recv > due:
            out["arrived_late"] += 1
        elif decoded is None or decoded > due:
            out["decoded_late"] += 1
        else:
            out["draw_late"] += 1
    if leads:
        leads.sort()
        out["lead_ms_min_med"] = [round(leads[0]), round(leads[len(leads) // 2])]
    return out


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


def page_runs(browser: Browser, url: str, runs: int, n0: int) -> dict[str, Any]:
    """A fresh Chromium on ``url``: first face, a cold utterance and ``runs`` warm ones."""
    k = browser.kiosk(url)
    try:
        k.wait_for("k.firstPicture", 30, "the first picture")
        face = k.js("() => window.avatarKiosk.firstPicture")
        k.wait_for("k.connected && k.avatarReady", 30, "the page and the avatar")
        done = [one_run(k, text_for(n0 + i)) for i in range(runs + 1)]
        long_tasks = k.js("() => window.avatarKiosk.longTasks || null")
    finally:
        k.close()
    stats = [r["stats"] for r in done]
    total = {key: sum(st.get(key, 0) for st in stats) for key in stats[0]}
    on_time = sum(1 for r in done for x in r["offsets"] if abs(x) <= 40.0)
    offsets = [x for r in done for x in r["offsets"]]
    cause_sum: dict[str, int] = {}
    for r in done:
        for key, v in r["causes"].items():
            if isinstance(v, int):
                cause_sum[key] = cause_sum.get(key, 0) + v
    return {
        "first_face_ms": round(face["at"], 1), "first_face_from": face["what"],
        "first_frame_cold_ms": round(done[0]["first_frame_ms"], 1),
        "first_frame_warm_ms": [round(r["first_frame_ms"], 1) for r in done[1:]],
        "frames_received": total["framesReceived"], "frames_drawn": total["framesDrawn"],
        "frames_on_time": on_time, "frames_late": total["framesLate"],
        "frames_skipped": total["framesSkipped"], "stalls": total["stalls"],
        "on_time_pct": round(100 * on_time / max(1, total["framesReceived"]), 1),
        "late_causes": cause_sum,
        "offsets": {k: round(v, 2) for k, v in summarize(offsets).items()},
        "long_tasks": long_tasks,
        "milestones_ms": [{k: round(v) for k, v in r["marks"].items()} for r in done],
    }  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3, help="warm runs per page after the cold one")
    ap.add_argument(
        "--baseline",
        default=BASELINE,
        help=f"git revision of the baseline page "
        f"(default {BASELINE}: the page before the worker pump)",
    )
    ap.add_argument("--no-baseline", action="store_true", help="measure this page only")
    ap.add_argument(
        "--baseline-tree",
        metavar="REV",
        help="also measure the whole node and page of REV (its own bench, in a git worktree), "
        "first, in the same run",
    )
    ap.add_argument("--config", help="node YAML config (default: bundled voice and avatar)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()

    tree = {}
    if args.baseline_tree:
        tree = {f"node + page of {args.baseline_tree}": tree_run(args.baseline_tree, args.runs)}
    with tempfile.TemporaryDirectory(prefix="bench-kiosk-") as tmp:
        pages = {"this page": STATIC_DIR}
        if not args.no_baseline:
            old = static_of(args.baseline, Path(tmp) / "old")
            pages = {f"baseline ({args.baseline})": old, **pages}
        broker = Mosquitto(Path(tmp))
        prefix = "bench" + uuid.uuid4().hex[:6]
        settings = private_settings(args.config, broker.port, prefix)
        t = time.monotonic()
        node = Node(settings)
        node.start()
        load_s = time.monotonic() - t
        ws = f"ws://127.0.0.1:{broker.ws_port}"
        defaults = {"ws": ws, "prefix": prefix, "channel": "default"}
        idle = node_idle_jpeg(node)
        servers = []
        results: dict[str, Any] = {"node_start_s": round(load_s, 2)}
        try:
            with Browser() as browser:
                for i, (name, static) in enumerate(pages.items()):
                    web = WebServer("127.0.0.1", 0, defaults, static_dir=static)
                    web.set_idle("default", idle)
                    web.start()
                    servers.append(web)
                    results[name] = page_runs(browser, web.url, args.runs, 100 * i)
        finally:
            for web in servers:
                web.stop()
            node.stop()
            broker.stop()

    results.update(tree)
    if args.json:
        print(json.dumps(results))
        return 0
    print(f"node start (load voice + avatar): {results['node_start_s']} s")
    for name in [*tree, *pages]:
        r = results[name]
        o = r["offsets"]
        print(f"{name}:")
        face = f"{r['first_face_ms']} ms after navigation ({r['first_face_from']})"
        print(f"  first visible face {face}")
        print(f"  say -> first frame drawn: cold {r['first_frame_cold_ms']} ms, "
              f"warm {r['first_frame_warm_ms']} ms")  # fmt: skip
        print(f"  frames received {r['frames_received']}, drawn {r['frames_drawn']}, on time "
              f"{r['frames_on_time']} ({r['on_time_pct']} %), late {r['frames_late']}, skipped "
              f"{r['frames_skipped']}, stalls {r['stalls']}")  # fmt: skip
        print(f"  A/V offset: median {o.get('median_ms')} ms, p95 |x| {o.get('p95_abs_ms')} ms, "
              f"max |x| {o.get('max_abs_ms')} ms")  # fmt: skip
        print(f"  not on time, by cause: {r['late_causes']}")
        for j, m in enumerate(r["milestones_ms"]):
            print(f"    run {j} ({'cold' if j == 0 else 'warm'}) ms after say:", m)
    return 0


def tree_run(rev: str, runs: int) -> dict[str, Any]:
    """``this page`` of REV's own ``bench/kiosk.py --json``, run in a temporary git worktree
    (REV's node, voice settings and page; this venv)."""
    with tempfile.TemporaryDirectory(prefix="bench-kiosk-tree-") as tmp:
        wt = Path(tmp) / "tree"
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "-q", "--detach", str(wt), rev], check=True
        )
        try:
            out = subprocess.run(
                [sys.executable, str(wt / "bench" / "kiosk.py"), "--no-baseline", "--json",
                 "--runs", str(runs)],
                cwd=wt, check=True, capture_output=True, text=True,
            ).stdout  # fmt: skip
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(wt)])
    return dict(json.loads(out.strip().splitlines()[-1])["this page"])


def node_idle_jpeg(node: Any) -> bytes | None:
    """The default channel's resting frame, as the node's own web server would serve it."""
    try:
        return node.idle_jpeg("default")
    except Exception:  # noqa: BLE001 - older or newer node: the page then waits for MQTT
        return None


if __name__ == "__main__":
    raise SystemExit(main())

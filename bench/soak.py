"""Soak: a node under steady load for a long time, printing its RSS over time (not run in CI).

Starts a private mosquitto and a node (4 channels, the bundled voice and avatar) in this process,
then keeps every channel speaking: by default each channel gets its next request ``--think-s``
after its previous one ended (closed loop, so the load is what the machine sustains and nothing
is refused), or, with ``--rate``, requests at a fixed rate round-robin (open loop, which can
overload a small machine: refusals show as ``queue_full``). Texts are distinct (no phrase cache
hits), every 25th request is stopped, and a slow display subscribes to frames and audio. Every
``--report-s`` seconds it prints elapsed time, RSS, requests sent, end events by type, the node's
outgoing backlog and dropped count. At the end: RSS over the second half of the run (the part
that shows a leak rather than warm-up) as first -> last and as a least-squares slope in MB/min.

    .venv/bin/python bench/soak.py                      # 30 minutes, closed loop
    .venv/bin/python bench/soak.py --minutes 2 --rate 4 # open loop at 4 requests/s
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from avatar_node.app import Node  # noqa: E402
from avatar_node.client import AvatarClient  # noqa: E402
from avatar_node.models import VoiceRegistry  # noqa: E402
from avatar_node.settings import Settings, VoiceSettings  # noqa: E402
from tests.conftest import Broker  # noqa: E402

CHANNELS = ["c0", "c1", "c2", "c3"]
WORDS = "the quick brown fox jumps over a lazy dog while seven bright kiosks say hello".split()


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--minutes", type=float, default=30.0, help="run time (default 30)")
    p.add_argument("--rate", type=float, default=0.0, help="open loop: requests/s (0: closed)")
    p.add_argument("--think-s", type=float, default=0.5, help="closed loop: pause between requests")
    p.add_argument("--report-s", type=float, default=30.0, help="seconds between reports")
    p.add_argument("--no-avatars", action="store_true", help="audio only (no lip sync, no frames)")
    return p.parse_args()


class Tally:
    """End events by type, and when each channel's last request ended, from the node's hook."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.ended_at: dict[str, float] = {}
        self.waiting: dict[str, str] = {}  # channel -> id of its request in flight

    def __call__(self, ev: Any) -> None:
        if ev.kind in ("finished", "cancelled", "error", "rejected"):
            with self.lock:
                self.counts[ev.code or ev.kind.value] += 1
                if self.waiting.get(ev.channel) == ev.id:
                    del self.waiting[ev.channel]
                    self.ended_at[ev.channel] = time.monotonic()

    def due(self, think_s: float) -> list[str]:
        """Closed loop: the channels whose last request ended at least ``think_s`` ago."""
        now = time.monotonic()
        with self.lock:
            return [
                c
                for c in CHANNELS
                if c not in self.waiting and now - self.ended_at.get(c, 0.0) >= think_s
            ]


def slope_mb_per_min(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of RSS over time."""
    t = np.array([s[0] for s in samples]) / 60
    rss = np.array([s[1] for s in samples])
    return float(np.polyfit(t, rss, 1)[0])


def main() -> int:
    args = parse_args()
    rng = random.Random(7)
    voices = VoiceRegistry({"default": VoiceSettings()})
    voices.load_all()
    proc = psutil.Process()
    samples: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory(prefix="avatar-soak-") as tmp:
        broker = Broker(Path(tmp), extra_conf="set_tcp_nodelay true\n")
        settings = Settings(
            node={"channels": CHANNELS, "queue_depth": 16},
            mqtt={"host": broker.host, "port": broker.port, "topic_prefix": "soak"},
            web={"enabled": False},
        )
        node = Node(settings, load_avatars=not args.no_avatars, voices=voices)
        node.start()
        tally = Tally()
        node.on_event.append(tally)
        chatbot = AvatarClient(broker.host, broker.port, "soak")
        display = AvatarClient(broker.host, broker.port, "soak")
        received = Counter[str]()

        def slow(topic: str, _payload: bytes) -> None:
            received[topic.rsplit("/", 1)[-1]] += 1
            time.sleep(0.002)

        display.subscribe("soak/+/frames", slow, qos=0)
        display.subscribe("soak/+/audio", slow)
        t0 = time.monotonic()
        end = t0 + args.minutes * 60
        next_report = t0
        sent = 0
        print("elapsed_s  rss_mb  sent  ends  backlog(q0,q1)  dropped", flush=True)
        try:
            while time.monotonic() < end:
                now = time.monotonic()
                if now >= next_report:
                    rss = proc.memory_info().rss / 2**20
                    samples.append((now - t0, rss))
                    with tally.lock:
                        ends = dict(tally.counts)
                    backlog, dropped = node.transport.backlog(), node.transport.dropped
                    print(f"{now - t0:9.0f}  {rss:6.0f}  {sent:4d}  {ends}  {backlog}  {dropped}")
                    sys.stdout.flush()
                    next_report += args.report_s
                if args.rate:
                    channels = [CHANNELS[sent % len(CHANNELS)]]
                else:
                    channels = tally.due(args.think_s)
                for channel in channels:
                    text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 14))) + "."
                    with tally.lock:
                        tally.waiting[channel] = f"s{sent}"
                    chatbot.say(text.capitalize(), channel=channel, id=f"s{sent}")
                    if sent % 25 == 24:
                        chatbot.control("stop", channel=channel)
                    sent += 1
                pause = 1.0 / args.rate if args.rate else 0.05
                time.sleep(max(0.0, pause - (time.monotonic() - now)))
        finally:
            chatbot.close()
            display.close()
            node.stop()
            broker.stop()
    if len(samples) >= 4:
        half = samples[len(samples) // 2 :]
        growth = half[-1][1] - half[0][1]
        minutes = (half[-1][0] - half[0][0]) / 60
        peak = max(s for _, s in samples)
        first, last = half[0][1], half[-1][1]
        print(
            f"RSS second half: {first:.0f} -> {last:.0f} MB ({growth:+.0f} MB over "
            f"{minutes:.1f} min, slope {slope_mb_per_min(half):+.2f} MB/min); peak {peak:.0f} MB"
        )
        with tally.lock:
            print(f"requests sent {sent}; ends {dict(tally.counts)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Soak: a node under steady load for a long time, printing its RSS over time (not run in CI).

Starts a private mosquitto and a node (4 channels, the bundled voice and avatar) in this process,
then sends requests at a fixed rate, round-robin over the channels, with distinct texts (no phrase
cache hits), a ``stop`` now and then and a slow display subscribed to frames and audio. Every
``--report-s`` seconds it prints elapsed time, RSS, requests sent / finished / rejected, the
node's outgoing backlog and dropped count. At the end: RSS growth over the second half of the run
(the part that shows a leak rather than warm-up).

    .venv/bin/python bench/soak.py                      # 30 minutes
    .venv/bin/python bench/soak.py --minutes 2 --rate 4
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
    p.add_argument("--rate", type=float, default=3.0, help="requests per second (default 3)")
    p.add_argument("--report-s", type=float, default=30.0, help="seconds between reports")
    p.add_argument("--no-avatars", action="store_true", help="audio only (no lip sync, no frames)")
    return p.parse_args()


class Tally:
    """End events by type, from the node's own event hook."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()

    def __call__(self, ev: Any) -> None:
        if ev.kind in ("finished", "cancelled", "error", "rejected"):
            with self.lock:
                self.counts[ev.code or ev.kind.value] += 1


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
                    print(f"{now - t0:9.0f}  {rss:6.0f}  {sent:4d}  {ends}  "
                          f"{node.transport.backlog()}  {node.transport.dropped}",
                          flush=True)  # fmt: skip
                    next_report += args.report_s
                channel = CHANNELS[sent % len(CHANNELS)]
                text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 14))) + "."
                chatbot.say(text.capitalize(), channel=channel, id=f"s{sent}")
                if sent % 25 == 24:
                    chatbot.control("stop", channel=channel)
                sent += 1
                time.sleep(max(0.0, 1.0 / args.rate - (time.monotonic() - now)))
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
        print(f"RSS second half: {half[0][1]:.0f} -> {half[-1][1]:.0f} MB "
              f"({growth:+.0f} MB over {minutes:.1f} min); peak {peak:.0f} MB")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""TTS benchmark: real-time factor vs piper-tts (bench/tts_rtf.py), then time to first audio.

Time to first audio: publish ``say`` → the first ``audio`` message at a subscriber, through a
private mosquitto, median of runs. Baselines measured in the same run: an MQTT round trip on the
same broker (transport floor) and the in-process synthesis time of the same first sentence
(model floor), so the figure reads as "floor + overhead".

    .venv/bin/python bench/tts.py [--runs 5] [--skip-rtf]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PARAGRAPH = (
    "Welcome to the museum. Our new exhibition opens today, with paintings from twelve artists "
    "who lived by the sea. Please keep your ticket with you, and ask any guide if you need help "
    "finding your way."
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_broker(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = free_port()
    conf = workdir / "m.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n")
    proc = subprocess.Popen([exe, "-c", str(conf)], stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    return proc, port


def mqtt_round_trip_ms(port: int, runs: int) -> float:
    from avatar_node.client import AvatarClient

    got = threading.Event()
    with AvatarClient("127.0.0.1", port, "rt") as c:
        c.subscribe("rt/echo", lambda t, p: got.set())
        times = []
        for _ in range(runs):
            got.clear()
            t0 = time.perf_counter()
            c.publish("rt/echo", b"x")
            got.wait(5)
            times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def first_audio(port: int, runs: int) -> tuple[float, float]:
    from avatar_node.client import AvatarClient
    from avatar_node.node import Node
    from avatar_node.settings import Settings

    settings = Settings(mqtt={"port": port, "topic_prefix": "bench"}, web={"enabled": False},
                        node={"phrase_cache_mb": 0})  # fmt: skip
    node = Node(settings, load_avatars=False)
    node.start()
    voice = node.voices.get("default").voice
    first_sentence = PARAGRAPH.split(". ")[0] + "."
    direct = []
    for _ in range(runs):
        t0 = time.perf_counter()
        for ids in voice.text_to_ids(first_sentence):
            voice.synthesize_ids(ids)
        direct.append((time.perf_counter() - t0) * 1000)
    latencies = []
    with AvatarClient("127.0.0.1", port, "bench") as c:
        col = c.collector(frames=False)
        c.say("Warm up.", id="warm")
        col.wait_end("warm")
        for i in range(runs):
            t0 = time.monotonic()
            utt_id = c.say(PARAGRAPH, id=f"b{i}")
            utt = col.wait_end(utt_id, 120)
            assert utt.t_first_audio is not None
            latencies.append((utt.t_first_audio - t0) * 1000)
    node.stop()
    return statistics.median(latencies), statistics.median(direct)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-rtf", action="store_true")
    args = parser.parse_args()
    if not args.skip_rtf:
        import tts_rtf

        tts_rtf.main()
    with tempfile.TemporaryDirectory() as tmp:
        proc, port = start_broker(Path(tmp))
        try:
            rt = mqtt_round_trip_ms(port, 20)
            first, direct = first_audio(port, args.runs)
        finally:
            proc.terminate()
    print("\nTime to first audio (publish say -> first audio message at a subscriber)")
    print(f"  MQTT round trip (baseline)          {rt:8.1f} ms")
    print(f"  first sentence, in-process (floor)  {direct:8.1f} ms")
    print(f"  first audio through the broker      {first:8.1f} ms  "
          f"= {first / direct:.2f} x the in-process floor  (target <= 250 ms)")  # fmt: skip


if __name__ == "__main__":
    main()

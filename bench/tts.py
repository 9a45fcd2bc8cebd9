"""TTS benchmark, in one run, each figure with its baseline from the same run:

1. **RTF vs piper-tts** (bench/tts_rtf.py): torch (default settings, streaming, float32) vs
   onnxruntime on the same 40-word paragraph, 2 threads and 1 thread, and their ratio.
2. **Time to first audio in process** (this file): for the paragraph's first sentence, text →
   the first streamed piece (``Voice.stream_aligned``, first window) vs text → the whole
   sentence (``Voice.synthesize_aligned``, the baseline), median of ``--runs``, runs
   interleaved, default voice settings, 2 threads and 1 thread.
3. **VITS checkpoint RTF** (bench/tts_vits.py): reference-style eager baseline, float32, bf16.
4. **Time to first audio through mosquitto** (``--latency``; needs the node): publish ``say``
   → the first ``audio`` message at a subscriber; baselines: an MQTT round trip on the same
   broker and the in-process synthesis of the first sentence.

    python bench/tts.py [--runs 5] [--skip-rtf] [--skip-ttfa] [--skip-vits] [--latency]
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
sys.path.insert(0, str(REPO / "bench"))

import avatar_node.tts  # noqa: E402, F401  (before torch: OpenMP settings, as in the node)

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


def first_audio(port: int, runs: int) -> tuple[float, float, float]:
    """Median ms from ``say`` to the first ``audio`` message with ``voice.stream`` on (the
    default) and off (the first sentence whole, the baseline), runs interleaved on one broker,
    and the in-process synthesis of the whole first sentence."""
    from avatar_node.app import Node
    from avatar_node.client import AvatarClient
    from avatar_node.settings import Settings

    nodes = {}
    for stream in (True, False):
        prefix = f"bench{int(stream)}"
        settings = Settings(mqtt={"port": port, "topic_prefix": prefix,
                                  "client_id": f"bench-node-{prefix}"},
                            web={"enabled": False}, node={"phrase_cache_mb": 0},
                            voices={"default": {"stream": stream}})  # fmt: skip
        nodes[stream] = Node(settings, load_avatars=False)
        nodes[stream].start()
    voice = nodes[True].voices.get("default").voice
    first_sentence = PARAGRAPH.split(". ")[0] + "."
    direct = []
    for _ in range(runs):
        t0 = time.perf_counter()
        for ids in voice.text_to_ids(first_sentence):
            voice.synthesize_ids(ids)
        direct.append((time.perf_counter() - t0) * 1000)
    latencies: dict[bool, list[float]] = {True: [], False: []}
    clients = {s: AvatarClient("127.0.0.1", port, f"bench{int(s)}") for s in nodes}
    collectors = {s: c.collector(frames=False) for s, c in clients.items()}
    for s, c in clients.items():
        collectors[s].wait_end(c.say("Warm up.", id="warm"))
    for i in range(runs):
        for s, c in clients.items():
            t0 = time.monotonic()
            utt = collectors[s].wait_end(c.say(PARAGRAPH, id=f"b{i}"), 120)
            assert utt.t_first_audio is not None
            latencies[s].append((utt.t_first_audio - t0) * 1000)
    for s in nodes:
        clients[s].close()
        nodes[s].stop()
    on, off = (statistics.median(latencies[s]) for s in (True, False))
    return on, off, statistics.median(direct)


def first_piece_ms(runs: int, threads: int) -> tuple[float, float, float, int]:
    """Median ms to the first streamed piece and to the whole first sentence, the sentence's
    audio ms and the first piece's samples."""
    import torch
    from tts_rtf import PARAGRAPH as TEXT

    from avatar_node.tts import load_voice

    torch.set_num_threads(threads)
    voice = load_voice(device="cpu")
    sentence = TEXT.split(". ")[0] + "."
    options = voice.options()

    def first() -> tuple[float, int]:
        t0 = time.perf_counter()
        pieces = voice.stream_aligned(voice.text_to_ids(sentence)[0], options)
        piece = next(iter(pieces))
        elapsed = (time.perf_counter() - t0) * 1000
        pieces.close()  # type: ignore[attr-defined]
        return elapsed, piece.audio.size

    def whole() -> tuple[float, int]:
        t0 = time.perf_counter()
        out = voice.synthesize_aligned(voice.text_to_ids(sentence)[0], options)
        return (time.perf_counter() - t0) * 1000, out.audio.size

    first(), whole()  # warm-up
    firsts, wholes, sizes = [], [], []
    for _ in range(runs):
        ms, size = first()
        firsts.append(ms)
        ms, n = whole()
        wholes.append(ms)
        sizes.append(n)
    audio_ms = statistics.median(sizes) * 1000 / voice.sample_rate
    return statistics.median(firsts), statistics.median(wholes), audio_ms, size


def print_first_piece(runs: int) -> None:
    print("\nTime to first audio in process (text -> first samples of the first sentence)")
    for threads in (2, 1):
        first, whole, audio_ms, size = first_piece_ms(runs, threads)
        print(f"  {threads} thread(s): first window {first:6.1f} ms ({size} samples) vs whole "
              f"sentence {whole:6.1f} ms (baseline; {audio_ms:.0f} ms of audio): "
              f"{whole / first:.2f}x sooner")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-rtf", action="store_true")
    parser.add_argument("--skip-ttfa", action="store_true")
    parser.add_argument("--skip-vits", action="store_true")
    parser.add_argument("--latency", action="store_true", help="through mosquitto (node)")
    parser.add_argument("--vits-runs", type=int, default=7)
    args = parser.parse_args()
    if not args.skip_rtf:
        import tts_rtf

        tts_rtf.main(["--runs", str(args.runs)])
    if not args.skip_ttfa:
        print_first_piece(args.runs)
    if not args.skip_vits:
        from tts_vits import vits_rtf

        vits_rtf(max(5, args.vits_runs))
    if not args.latency:
        return
    with tempfile.TemporaryDirectory() as tmp:
        proc, port = start_broker(Path(tmp))
        try:
            rt = mqtt_round_trip_ms(port, 20)
            on, off, direct = first_audio(port, args.runs)
        finally:
            proc.terminate()
    print("\nTime to first audio (publish say -> first audio message at a subscriber)")
    print(f"  MQTT round trip (baseline)                 {rt:8.1f} ms")
    print(f"  whole first sentence, in process           {direct:8.1f} ms")
    print(f"  through the broker, voice.stream: false    {off:8.1f} ms  (baseline)")
    print(f"  through the broker, voice.stream: true     {on:8.1f} ms  "
          f"= {on / off:.2f} x the baseline")  # fmt: skip


if __name__ == "__main__":
    main()

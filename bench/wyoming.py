"""Wyoming and audio-in latency: what Home Assistant and a TTS-owning chatbot wait for.

A real node (bundled voice, default lip-sync engine and avatar) on a private mosquitto, with the
``play`` door and the Wyoming server on its pipeline. Medians of ``--runs`` after one warm-up:

- **Wyoming first audio**: the real ``wyoming`` client writes ``synthesize`` (legacy, one
  paragraph) → its first ``audio-chunk`` arrives; and the same for a stream (``synthesize-start``,
  the paragraph in one ``synthesize-chunk``, the ignored ``synthesize``, ``synthesize-stop``),
  timed from the ``synthesize-chunk``. Baseline in the same run: the in-process synthesis time
  of exactly the text the node spoke first (its first ``sentence`` event), ``text_to_ids`` +
  ``synthesize_ids`` on the same loaded voice, so the figure reads as "model floor + overhead".
- **play/stream first frame**: publish ``start``, then the first ``chunk`` (250 ms of 16 kHz
  PCM, over the 200 ms that start lip sync) → the first ``frames`` message of that id at a
  subscriber. Baseline in the same run: an MQTT publish → receive round trip on the same broker.

    .venv/bin/python bench/wyoming.py [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
# This file is named like the `wyoming` package: its folder must not shadow it on sys.path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]
sys.path.insert(0, str(REPO))

from bench.tts import PARAGRAPH, free_port, mqtt_round_trip_ms, start_broker  # noqa: E402


async def wyoming_first_chunk(port: int, streaming: bool) -> float:
    from wyoming.client import AsyncTcpClient
    from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop

    async with AsyncTcpClient("127.0.0.1", port) as client:
        if streaming:
            await client.write_event(SynthesizeStart().event())
            t0 = time.perf_counter()
            await client.write_event(SynthesizeChunk(text=PARAGRAPH).event())
            await client.write_event(Synthesize(text=PARAGRAPH).event())
            await client.write_event(SynthesizeStop().event())
        else:
            t0 = time.perf_counter()
            await client.write_event(Synthesize(text=PARAGRAPH).event())
        first = None
        end = "synthesize-stopped" if streaming else "audio-stop"
        while True:
            event = await asyncio.wait_for(client.read_event(), 120)
            assert event is not None and event.type != "error", event
            if event.type == "audio-chunk" and first is None:
                first = (time.perf_counter() - t0) * 1000
            if event.type == end:
                assert first is not None
                return first


def first_spoken_text(col, door: str = "wyoming") -> str:  # type: ignore[no-untyped-def]
    queued = [
        e["id"]
        for e in col.all_events
        if e["type"] == "queued" and (e.get("meta") or {}).get("door") == door
    ]
    utt = col.wait_end(queued[-1], 120)
    return next(e["detail"]["text"] for e in utt.events if e["type"] == "sentence")


def play_stream_first_frame(client, col, utt_id: str, pcm: bytes) -> float:  # type: ignore[no-untyped-def]
    topic = client.topic("default", "play/stream")
    client.publish(
        topic, json.dumps({"type": "start", "id": utt_id, "rate": 16000, "width": 2, "channels": 1})
    )
    step = 8000  # 250 ms of 16 kHz 16-bit mono
    t0 = time.monotonic()
    for i in range(0, len(pcm), step):
        part = base64.b64encode(pcm[i : i + step]).decode()
        client.publish(topic, json.dumps({"type": "chunk", "id": utt_id, "pcm": part}))
    client.publish(topic, json.dumps({"type": "stop", "id": utt_id}))
    utt = col.wait_end(utt_id, 120)
    assert utt.end["type"] == "finished" and utt.t_first_frame is not None, utt.end
    return (utt.t_first_frame - t0) * 1000


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args()

    from avatar_node.app import Node
    from avatar_node.client import AvatarClient
    from avatar_node.media.pcm import float_to_s16
    from avatar_node.settings import Settings
    from avatar_node.transport.play_door import PlayDoor
    from avatar_node.wyoming import WyomingSettings, serve

    with tempfile.TemporaryDirectory() as tmp:
        broker, port = start_broker(Path(tmp))
        try:
            settings = Settings(
                mqtt={"port": port, "topic_prefix": "bench"},
                web={"enabled": False},
                node={"phrase_cache_mb": 0},
            )
            node = Node(settings)
            node.load()
            PlayDoor(node).install()
            node.start()
            wy = serve(
                node.pipeline,
                WyomingSettings(enabled=True, host="127.0.0.1", port=free_port()),
                settings.node,
            )
            assert wy.port is not None
            voice = node.voices.get("default").voice
            t = np.arange(16000 * 3) / 16000
            tone = 0.3 * np.sin(2 * np.pi * 180 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))
            pcm = float_to_s16(tone.astype(np.float32))
            rtt = mqtt_round_trip_ms(port, max(args.runs, 5))
            with AvatarClient("127.0.0.1", port, "bench") as client:
                col = client.collector(frames=True)
                asyncio.run(wyoming_first_chunk(wy.port, False))  # warm-up
                play_stream_first_frame(client, col, "warm", pcm)
                legacy, streamed, frames, direct = [], [], [], []
                for i in range(args.runs):
                    legacy.append(asyncio.run(wyoming_first_chunk(wy.port, False)))
                    text = first_spoken_text(col)
                    streamed.append(asyncio.run(wyoming_first_chunk(wy.port, True)))
                    first_spoken_text(col)
                    t0 = time.perf_counter()
                    for ids in voice.text_to_ids(text):
                        voice.synthesize_ids(ids)
                    direct.append((time.perf_counter() - t0) * 1000)
                    frames.append(play_stream_first_frame(client, col, f"ps{i}", pcm))
            wy.stop()
            node.stop()
        finally:
            broker.terminate()
    med = statistics.median
    print(
        f"runs: {args.runs} (medians), engine: {node.avatars.engine.name if node.avatars else '-'}"
    )
    print(f"first chunk spoken: {text!r}")
    print(f"wyoming synthesize -> first audio-chunk      {med(legacy):8.1f} ms")
    print(f"wyoming synthesize-chunk -> first audio-chunk {med(streamed):7.1f} ms")
    print(f"  baseline: in-process synthesis of that text  {med(direct):7.1f} ms")
    print(f"play/stream first chunk -> first frame         {med(frames):7.1f} ms")
    print(f"  baseline: MQTT round trip                    {rtt:7.1f} ms")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""My chatbot has its own TTS: give its WAV to the avatar, which lip-syncs and re-publishes it.

The node takes a complete WAV on ``{prefix}/{channel}/play`` (raw RIFF bytes, or JSON with the
file in base64 plus an id, transcript, mode, priority and meta), or streamed PCM on
``{prefix}/{channel}/play/stream`` (``start`` / ``chunk``... / ``stop``, lip sync starts with the
first ~200 ms). PCM 16/24/32-bit or float 32-bit, 8-48 kHz, mono or stereo.

    python examples/play_wav.py reply.wav --text "Here is your answer."
    python examples/play_wav.py reply.wav --stream           # as if the TTS were still talking
    python examples/play_wav.py reply.wav --raw --host 192.168.1.20

Waits for the utterance's end event and prints it (``finished``, ``cancelled`` or a
``rejected`` naming what is wrong with the file).
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import time
import uuid
import wave
from pathlib import Path

from avatar_node.client import AvatarClient


def stream_wav(avatar: AvatarClient, channel: str, utt_id: str, blob: Path, text: str) -> None:
    """Publish a 16-bit PCM WAV as ``play/stream`` messages of 100 ms, at the pace of speech."""
    topic = avatar.topic(channel, "play/stream")
    with wave.open(str(blob)) as w:
        rate, width, channels = w.getframerate(), w.getsampwidth(), w.getnchannels()
        start = {
            "type": "start",
            "id": utt_id,
            "rate": rate,
            "width": width,
            "channels": channels,
            "text": text,
        }
        avatar.publish(topic, json.dumps(start))
        while frames := w.readframes(rate // 10):
            pcm = base64.b64encode(frames).decode()
            avatar.publish(topic, json.dumps({"type": "chunk", "id": utt_id, "pcm": pcm}))
            time.sleep(0.1)  # a live TTS would hand out audio about this fast
    avatar.publish(topic, json.dumps({"type": "stop", "id": utt_id}))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    p.add_argument("wav", type=Path, help="the WAV file your TTS produced")
    p.add_argument("--text", default="", help="what it says (transcript for events only)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=1883)
    p.add_argument("--prefix", default="avatar")
    p.add_argument("--channel", default="default")
    p.add_argument("--mode", choices=["queue", "interrupt", "replace"], default="queue")
    p.add_argument("--raw", action="store_true", help="publish the file's bytes as they are")
    p.add_argument("--stream", action="store_true", help="stream it on play/stream (16-bit PCM)")
    args = p.parse_args()

    with AvatarClient(args.host, args.port, args.prefix) as avatar:
        events = avatar.collector(args.channel, frames=False)  # subscribe before asking
        utt_id = uuid.uuid4().hex
        if args.stream:
            stream_wav(avatar, args.channel, utt_id, args.wav, args.text)
        elif args.raw:
            avatar.publish(avatar.topic(args.channel, "play"), args.wav.read_bytes())
            utt_id = ""  # a raw WAV carries no id: take the first one that ends
        else:
            msg = {
                "wav": base64.b64encode(args.wav.read_bytes()).decode(),
                "id": utt_id,
                "text": args.text,
                "mode": args.mode,
            }
            avatar.publish(avatar.topic(args.channel, "play"), json.dumps(msg))
        if not utt_id:
            first = events.events.get(timeout=60)
            utt_id = str(first["id"])
        end = events.wait_end(utt_id, timeout=600).end
        print(json.dumps(end, indent=2))
        return 0 if end and end["type"] == "finished" else 1


if __name__ == "__main__":
    sys.exit(main())

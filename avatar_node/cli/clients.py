"""Client commands: ``say``, ``listen`` (find a running demo's broker) and ``ha-remove``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import EXIT_BROKER, EXIT_FAILED, EXIT_OK
from .discovery import resolve_broker
from .serve import load, wait_for_signal


def _client(args: argparse.Namespace) -> Any:
    """A connected client: the broker given, else a running demo's, else 127.0.0.1:1883."""
    from ..client import AvatarClient

    host, port, demo = resolve_broker(args.host, args.port)
    prefix = args.prefix or (demo.prefix if demo else "avatar")
    if demo is not None:
        print(f"avatar-node: using the demo's broker at {host}:{port}", file=sys.stderr)
    return AvatarClient(
        host,
        port,
        prefix,
        username=args.username,
        password=args.password,
        protocol=demo.protocol if demo else 5,
    )


def cmd_say(args: argparse.Namespace) -> int:
    options: dict[str, Any] = {
        k: v
        for k in ("voice", "speaker", "language", "speed", "avatar", "mode", "priority")
        if (v := getattr(args, k)) is not None
    }
    with _client(args) as c:
        col = c.collector(args.channel, frames=False)
        utt_id = c.say(args.text, channel=args.channel, **options)
        utt = col.wait_end(utt_id, timeout=args.timeout)
    end = utt.end or {}
    print(
        json.dumps(
            {
                "id": utt_id,
                "end": end.get("type"),
                "code": end.get("code"),
                "message": end.get("message"),
                "chunks": len(utt.audio),
            }
        )
    )
    if args.out and utt.audio:
        from ..media.wav import encode_wav

        audio, rate = utt.waveform()
        Path(args.out).write_bytes(encode_wav(audio, rate))
        print(f"saved {args.out}")
    return EXIT_OK if end.get("type") == "finished" else EXIT_FAILED


def cmd_listen(args: argparse.Namespace) -> int:
    from ..media.wav import decode_wav_base64, encode_wav

    out = Path(args.save) if args.save else None
    if out:
        out.mkdir(parents=True, exist_ok=True)

    def show(topic: str, payload: bytes) -> None:
        leaf = topic.rsplit("/", 1)[-1]
        try:
            msg = json.loads(payload)
        except ValueError:
            msg = {"payload": payload.decode("utf-8", "replace")}
        if leaf == "audio" and isinstance(msg, dict) and "wav" in msg:
            if out:
                audio, rate = decode_wav_base64(msg["wav"])
                (out / f"{msg['id']}_{msg['seq']:03d}.wav").write_bytes(encode_wav(audio, rate))
            msg = {k: v for k, v in msg.items() if k != "wav"}
        body = msg if isinstance(msg, dict) else {"value": msg}
        print(json.dumps({"topic": leaf, **body}, ensure_ascii=False), flush=True)

    with _client(args) as c:
        for leaf in ("events", "audio", "state"):
            c.subscribe(c.topic(args.channel, leaf), show)
        print(
            f"avatar-node: listening on {c.topic(args.channel, '#')}; Ctrl-C to stop",
            file=sys.stderr,
            flush=True,
        )
        wait_for_signal()
    return EXIT_OK


def cmd_ha_remove(args: argparse.Namespace) -> int:
    from ..client import AvatarClient
    from ..integrations.homeassistant import discovery_topic

    settings = load(args)
    topic = discovery_topic(settings)
    try:
        with AvatarClient.from_settings(settings.mqtt) as c:
            c.publish(topic, b"", qos=1, retain=True)
    except (ConnectionError, OSError) as exc:
        print(
            " ".join(
                f"avatar-node: mqtt.host/mqtt.port: cannot reach the broker: {exc}; "
                "start it or correct the option".split()
            ),
            file=sys.stderr,
        )
        return EXIT_BROKER
    print(f"removed the Home Assistant device: empty retained message on {topic}")
    return EXIT_OK

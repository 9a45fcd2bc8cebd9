"""The ``avatar-node`` command: run, demo, say, listen, doctor, schema, ha-remove."""

from __future__ import annotations

import argparse
import json
import signal
import socket
import sys
import threading
from pathlib import Path
from typing import Any

from . import __version__
from .errors import AvatarError, ConfigError
from .log import get_logger, setup_logging
from .settings import Settings, load_settings

log = get_logger("avatar_node.cli")


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(getattr(args, "config", None))


def _wait_for_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.is_set():
        stop.wait(0.5)


def _start_web(settings: Settings, node: Any = None) -> Any:
    if not settings.web.enabled:
        return None
    try:
        from .web.server import WebServer
    except ImportError:
        log.warning("web display not available in this install")
        return None
    # {host}: the page substitutes the host it was loaded from (kiosks on other machines).
    ws = settings.web.ws_url or "ws://{host}:9001"
    server = WebServer(settings.web.host, settings.web.port, {
        "ws": ws, "channel": settings.node.channels[0], "prefix": settings.mqtt.topic_prefix,
    }, idle_source=None if node is None else node.idle_jpeg)  # fmt: skip
    server.start()
    log.info("web display", url=server.url)
    return server


def cmd_run(args: argparse.Namespace) -> int:
    from .app import Node

    settings = _settings(args)
    setup_logging(settings.node.log_level, settings.node.log_format)
    node = Node(settings)
    node.load()
    web = _start_web(settings, node)
    node.start()
    _wait_for_signal()
    node.stop()
    if web is not None:
        web.stop()
    return 0


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def cmd_demo(args: argparse.Namespace) -> int:
    from .app import Node
    from .client import AvatarClient

    settings = _settings(args)
    setup_logging(settings.node.log_level, settings.node.log_format)
    broker = _demo_broker(settings, args.ws_port, configured=args.config is not None)
    node = Node(settings)
    node.load()
    web = _start_web(settings, node)
    node.start()
    channel = settings.node.channels[0]
    prefix = settings.mqtt.topic_prefix
    with AvatarClient(
        settings.mqtt.host, settings.mqtt.port, prefix, protocol=node.transport.protocol
    ) as c:
        col = c.collector(channel, frames=True)
        utt_id = c.say(args.text, channel=channel)
        utt = col.wait_end(utt_id, timeout=120)
    audio, rate = utt.waveform()
    end = utt.end["type"] if utt.end else "no end"
    seconds = len(audio) / max(rate, 1)
    print(f"\navatar-node {__version__} demo: spoke {seconds:.1f} s of audio in "
          f"{len(utt.audio)} chunks and {len(utt.frames)} frames ({end}).")  # fmt: skip
    print(f"  broker:  mqtt://{settings.mqtt.host}:{settings.mqtt.port}"
          + (" (embedded)" if broker else ""))  # fmt: skip
    if web is not None:
        print(f"  display: {web.url}")
    if not args.once:  # the embedded broker stops with --once: nothing to try against
        print(f"  try:     mosquitto_pub -p {settings.mqtt.port} -t {prefix}/{channel}/say -m 'Hi'")
    print(f"  topics:  {prefix}/{channel}/say -> {prefix}/{channel}/audio, frames, events\n")
    if args.once:
        code = 0 if utt.end and utt.end["type"] == "finished" else 1
    else:
        print("Ctrl-C to stop.")
        _wait_for_signal()
        code = 0
    node.stop()
    if web is not None:
        web.stop()
    if broker is not None:
        broker.stop()
    return code


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _demo_broker(settings: Settings, ws_port: int, configured: bool) -> Any:
    """Use the configured broker; else one that is running with a WebSocket listener (for the
    page); else start an embedded one (on free ports if 1883 is taken by a broker without one)."""
    m = settings.mqtt
    running = _port_open(m.host, m.port)
    if configured and running:
        return None
    if running and _port_open(m.host, ws_port):
        settings.web.ws_url = settings.web.ws_url or "ws://{host}:" + str(ws_port)
        return None
    from .broker import EmbeddedBroker

    if running:  # a broker without WebSockets: the page could not connect to it
        m.port, ws_port = _free_port(), _free_port()
        log.warning("broker on 1883 has no WebSocket listener; demo uses its own", port=m.port)
    broker = EmbeddedBroker(m.host, m.port, ws_port)
    broker.start()
    m.protocol = 311  # amqtt speaks 3.1.1 only; skip the fallback's wait
    settings.web.ws_url = "ws://{host}:" + str(ws_port)
    return broker


def _client(args: argparse.Namespace) -> Any:
    from .client import AvatarClient

    return AvatarClient(args.host, args.port, args.prefix, username=args.username,
                        password=args.password)  # fmt: skip


def cmd_say(args: argparse.Namespace) -> int:
    options: dict[str, Any] = {
        k: v for k in ("voice", "speaker", "language", "speed", "avatar", "mode", "priority")
        if (v := getattr(args, k)) is not None
    }  # fmt: skip
    with _client(args) as c:
        col = c.collector(args.channel, frames=False)
        utt_id = c.say(args.text, channel=args.channel, **options)
        utt = col.wait_end(utt_id, timeout=args.timeout)
    end = utt.end or {}
    print(json.dumps({"id": utt_id, "end": end.get("type"), "code": end.get("code"),
                      "message": end.get("message"), "chunks": len(utt.audio)}))  # fmt: skip
    if args.out and utt.audio:
        from .media.wav import encode_wav

        audio, rate = utt.waveform()
        Path(args.out).write_bytes(encode_wav(audio, rate))
        print(f"saved {args.out}")
    return 0 if end.get("type") == "finished" else 1


def cmd_listen(args: argparse.Namespace) -> int:
    from .media.wav import decode_wav_base64, encode_wav

    out = Path(args.save) if args.save else None
    if out:
        out.mkdir(parents=True, exist_ok=True)

    def show(topic: str, payload: bytes) -> None:
        leaf = topic.rsplit("/", 1)[-1]
        msg = json.loads(payload)
        if leaf == "audio":
            if out:
                audio, rate = decode_wav_base64(msg["wav"])
                (out / f"{msg['id']}_{msg['seq']:03d}.wav").write_bytes(encode_wav(audio, rate))
            msg = {k: v for k, v in msg.items() if k != "wav"}
        print(json.dumps({"topic": leaf, **msg}, ensure_ascii=False), flush=True)

    with _client(args) as c:
        for leaf in ("events", "audio", "state"):
            c.subscribe(c.topic(args.channel, leaf), show)
        _wait_for_signal()
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    import torch

    ok = True

    def check(name: str, fn: Any) -> None:
        nonlocal ok
        try:
            detail = fn()
            print(f"ok    {name}: {detail}")
        except Exception as exc:  # report every failing check
            ok = False
            print(f"FAIL  {name}: {exc}")

    settings = _settings(args)
    check("config", lambda: f"{len(settings.voices)} voice(s), channels {settings.node.channels}")
    check("torch", lambda: f"{torch.__version__}, cuda={torch.cuda.is_available()}, "
          f"threads={torch.get_num_threads()}")  # fmt: skip
    check("broker", lambda: _check_broker(settings))
    check("espeak-ng", _check_espeak)
    from .models import VoiceRegistry

    def voices() -> str:
        reg = VoiceRegistry(settings.voices)
        reg.load_all()
        if reg.failures:
            raise RuntimeError("; ".join(f"{k}: {v}" for k, v in reg.failures.items()))
        return ", ".join(f"{k} ({v.voice.sample_rate} Hz)" for k, v in reg.voices.items())

    if not args.skip_voices:
        check("voices", voices)
    return 0 if ok else 1


def _check_broker(settings: Settings) -> str:
    m = settings.mqtt
    if not _port_open(m.host, m.port):
        raise ConnectionError(f"nothing listens on {m.host}:{m.port}")
    return f"{m.host}:{m.port} reachable"


def _check_espeak() -> str:
    from piper import espeakbridge  # noqa: F401

    return "piper's bundled espeak-ng loads"


def cmd_schema(args: argparse.Namespace) -> int:
    from .wire.schema import write

    for path in write(Path(args.out)):
        print(path)
    return 0


def cmd_ha_remove(args: argparse.Namespace) -> int:
    from .client import AvatarClient
    from .integrations.homeassistant import discovery_topic

    settings = _settings(args)
    topic = discovery_topic(settings)
    try:
        with AvatarClient.from_settings(settings.mqtt) as c:
            c.publish(topic, b"", qos=1, retain=True)
    except (ConnectionError, OSError) as exc:
        print(f"avatar-node: cannot reach the broker: {exc}", file=sys.stderr)
        return 1
    print(f"removed the Home Assistant device: empty retained message on {topic}")
    return 0


def _add_client_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=1883)
    p.add_argument("--prefix", default="avatar")
    p.add_argument("--channel", default="default")
    p.add_argument("--username")
    p.add_argument("--password")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="avatar-node",
        description="Give a chatbot a talking face over MQTT: run the node, try it (demo, say, "
        "listen), check a set-up (doctor) or write the message schemas (schema).",
    )
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="run the node")
    p.add_argument("--config", help="YAML config file (see config/default.yaml)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("demo", help="embedded broker if needed + node + a welcome line")
    p.add_argument("--config")
    p.add_argument("--text", default="Hello! I am your avatar. Send me text over MQTT and I "
                   "will say it, with a face to match.")  # fmt: skip
    p.add_argument("--ws-port", type=int, default=9001)
    p.add_argument("--once", action="store_true", help="exit after the welcome line")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("say", help="publish text and wait until it was spoken")
    p.add_argument("text")
    _add_client_args(p)
    for opt in ("voice", "speaker", "language", "avatar"):
        p.add_argument(f"--{opt}")
    p.add_argument("--speed", type=float)
    p.add_argument("--priority", type=int)
    p.add_argument("--mode", choices=["queue", "interrupt", "replace"])
    p.add_argument("--out", help="save the whole utterance as a WAV file")
    p.add_argument("--timeout", type=float, default=120,
                   help="seconds to wait for the end event (default: %(default)s)")
    p.set_defaults(func=cmd_say)

    p = sub.add_parser("listen", help="print a channel's events and audio; optionally save WAVs")
    _add_client_args(p)
    p.add_argument("--save", help="directory for the audio chunks")
    p.set_defaults(func=cmd_listen)

    p = sub.add_parser("doctor", help="check config, broker, espeak-ng, voices and device")
    p.add_argument("--config")
    p.add_argument("--skip-voices", action="store_true")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser(
        "ha-remove",
        help="remove the node's Home Assistant device (empty "
        "retained discovery message); stop the node or disable homeassistant first",
    )
    p.add_argument("--config", help="the node's YAML config (broker, node id, discovery prefix)")
    p.set_defaults(func=cmd_ha_remove)

    p = sub.add_parser("schema", help="write schemas/*.schema.json and asyncapi.yaml")
    p.add_argument("--out", default="schemas")
    p.set_defaults(func=cmd_schema)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"avatar-node: configuration error: {exc.message}", file=sys.stderr)
        return 2
    except AvatarError as exc:
        print(f"avatar-node: {exc.code}: {exc.message}", file=sys.stderr)
        return 1
    except TimeoutError as exc:
        print(f"avatar-node: timed out: {exc}", file=sys.stderr)
        return 1

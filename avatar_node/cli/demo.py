"""``avatar-node demo``: the demo's own broker, the node and the web page; one welcome line.

The broker: Debian's mosquitto when installed (MQTT 5 and 3.1.1, what users run in production,
started from a generated config with a WebSocket listener for the page), else amqtt embedded in
this process (pure Python, 3.1.1 only). It listens on the fixed ports ``--mqtt-port`` (1884) and
``--ws-port`` (9001), or free ones when those are taken (the demo says so). Its address is
published for ``say`` and ``listen`` (:mod:`.discovery`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from contextlib import ExitStack
from typing import Any

from .. import __version__
from ..broker import DemoBroker, demo_broker, free_port, mosquitto_path, port_free
from ..errors import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, EXIT_PORT, StartupError
from ..log import get_logger, json_logs
from ..settings import Settings
from .discovery import DemoBrokerInfo, publish_demo, withdraw_demo
from .serve import load, preflight, setup_logs, start_node, start_web, wait_for_signal

log = get_logger("avatar_node.cli.demo")


def _own_broker(args: argparse.Namespace, settings: Settings) -> bool:
    """``auto``: the demo's own broker unless the configuration (file or ``AVATAR_MQTT__*``)
    names one: sets ``mqtt.host`` or ``mqtt.port``, and the port is not 0."""
    if args.broker == "config":
        return False
    if args.broker == "auto":
        named = settings.mqtt.model_fields_set & {"host", "port"}
        return not named or settings.mqtt.port == 0
    return True


def _pick_port(host: str, wanted: int, what: str) -> int:
    if wanted and port_free(host, wanted):
        return wanted
    port = free_port(host)
    if wanted:
        note(
            f"port {wanted} ({what}) is taken: the demo's broker uses {port} instead",
            event="port taken",
            wanted=wanted,
            port=port,
        )
    return port


def note(text: str, **fields: Any) -> None:
    """A line for the user: plain text, or one JSON object when logs are JSON lines."""
    if json_logs():
        print(json.dumps(fields, ensure_ascii=False), flush=True)
    else:
        print(text, flush=True)


def _start_broker(args: argparse.Namespace, settings: Settings) -> DemoBroker:
    kind = args.broker if args.broker in ("mosquitto", "amqtt") else "auto"
    if kind == "mosquitto" and mosquitto_path() is None:
        raise StartupError(
            "--broker",
            "mosquitto is not installed",
            "apt-get install mosquitto, or use --broker amqtt",
            EXIT_CONFIG,
        )
    host = "127.0.0.1"
    port = _pick_port(host, args.mqtt_port, "--mqtt-port")
    ws_port = _pick_port(host, args.ws_port, "--ws-port")
    broker = demo_broker(kind, host, port, ws_port)
    try:
        broker.start()
    except (RuntimeError, OSError) as exc:
        if kind != "auto" or broker.kind != "mosquitto":
            raise StartupError(
                "--mqtt-port",
                f"the demo's broker did not start: {exc}",
                "free the port or pass another --mqtt-port",
                EXIT_PORT,
            ) from exc
        log.warning("mosquitto did not start; using the embedded broker", error=str(exc))
        broker = demo_broker("amqtt", host, port, ws_port)
        broker.start()
    m = settings.mqtt
    m.host, m.port, m.transport, m.tls.enabled = host, port, "tcp", False
    m.username = m.password = None
    if broker.kind == "amqtt":
        m.protocol = 311  # amqtt speaks 3.1.1 only; skip the fallback's wait
    settings.web.ws_url = "ws://{host}:" + str(ws_port)
    return broker


def _welcome(args: argparse.Namespace, settings: Settings, protocol: int) -> tuple[Any, float]:
    from ..client import AvatarClient

    m, channel = settings.mqtt, settings.node.channels[0]
    with AvatarClient(m.host, m.port, m.topic_prefix, protocol=protocol) as c:
        col = c.collector(channel, frames=True)
        t0 = time.monotonic()
        utt = col.wait_end(c.say(args.text, channel=channel), timeout=args.timeout)
    return utt, t0


def _since(t: float | None, t0: float) -> float | None:
    return None if t is None else round(t - t0, 3)


def _report(
    args: argparse.Namespace,
    settings: Settings,
    utt: Any,
    t0: float,
    broker: DemoBroker | None,
    web: Any,
) -> None:
    audio, rate = utt.waveform()
    end = utt.end["type"] if utt.end else "no end"
    m, prefix, channel = settings.mqtt, settings.mqtt.topic_prefix, settings.node.channels[0]
    first_audio, first_frame = _since(utt.t_first_audio, t0), _since(utt.t_first_frame, t0)
    kind = f" ({broker.kind}, the demo's own)" if broker else ""
    fields = {
        "event": "demo spoke",
        "version": __version__,
        "end": end,
        "audio_s": round(len(audio) / max(rate, 1), 2),
        "chunks": len(utt.audio),
        "frames": len(utt.frames),
        "first_audio_s": first_audio,
        "first_frame_s": first_frame,
        "broker": f"mqtt://{m.host}:{m.port}",
        "broker_kind": broker.kind if broker else "configured",
        "display": web.url if web is not None else None,
    }
    if json_logs():
        note("", **fields)
        return

    def secs(v: float | None) -> str:
        return "none" if v is None else f"{v:.2f} s"

    lines = [
        f"\navatar-node {__version__} demo: spoke {fields['audio_s']:.1f} s of audio in "
        f"{fields['chunks']} chunks and {fields['frames']} frames ({end}).",
        f"  first audio after {secs(first_audio)}, first frame after {secs(first_frame)}",
        f"  broker:  mqtt://{m.host}:{m.port}{kind}",
    ]
    if web is not None:
        lines.append(f"  display: {web.url}")
    if not args.once:  # with --once the broker stops now: nothing to try against
        lines += [
            '  try:     avatar-node say "Hello"   (finds this broker by itself)',
            f"           mosquitto_pub -p {m.port} -q 1 -t {prefix}/{channel}/say -m 'Hi'",
        ]
    lines.append(f"  topics:  {prefix}/{channel}/say -> {prefix}/{channel}/audio, frames, events\n")
    print("\n".join(lines), flush=True)


def cmd_demo(args: argparse.Namespace) -> int:
    settings = load(args)
    preflight(settings)
    setup_logs(args, settings)
    with ExitStack() as stack:
        broker = None
        if _own_broker(args, settings):
            broker = _start_broker(args, settings)
            stack.callback(broker.stop)
            m = settings.mqtt
            publish_demo(
                DemoBrokerInfo(
                    m.host,
                    m.port,
                    broker.ws_port,
                    m.topic_prefix,
                    settings.node.channels[0],
                    os.getpid(),
                    m.protocol,
                )
            )
            stack.callback(withdraw_demo)
        node = start_node(settings)
        stack.callback(node.stop)
        web = start_web(settings, node)
        if web is not None:
            stack.callback(web.stop)
        node.start()
        utt, t0 = _welcome(args, settings, node.transport.protocol)
        _report(args, settings, utt, t0, broker, web)
        if args.once:
            return EXIT_OK if utt.end and utt.end["type"] == "finished" else EXIT_FAILED
        if not json_logs():
            print("Ctrl-C to stop.", flush=True)
        sys.stdout.flush()
        wait_for_signal()
    return EXIT_OK

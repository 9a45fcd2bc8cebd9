"""The command line: every sub-command and option, each with its help text."""

from __future__ import annotations

import argparse
from typing import NoReturn

from .. import __version__
from ..broker import DEMO_PORT, DEMO_WS_PORT
from ..errors import EXIT_CONFIG

DEFAULT_TEXT = (
    "Hello! I am your avatar. Send me text over MQTT and I will say it, with a face to match."
)

EPILOG = """exit codes:
  0  success
  1  the request did not finish, a doctor check failed, or a wait timed out
  2  invalid command line or configuration (YAML syntax, option value, missing config file)
  3  a model file (voice, lip-sync checkpoint, avatar image) cannot be loaded
  4  the MQTT broker refused the connection or cannot be reached
  5  a port the command must listen on (web.port, the demo's broker) is taken
Every start-up failure is one line on stderr: the option, the problem (with the file), the fix."""


class Parser(argparse.ArgumentParser):
    """Usage errors on one line too: the problem and where to read more."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_CONFIG, f"{self.prog}: {message}; see '{self.prog} --help'\n")


def _config(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config",
        metavar="FILE",
        help="YAML config file (config/default.yaml documents every option; "
        "AVATAR_* environment variables override it)",
    )


def _logs(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--log-format",
        choices=["auto", "console", "json"],
        help="console log lines: human-readable, or one JSON object per line; "
        "default node.log_format (auto: console on a terminal, JSON otherwise)",
    )
    p.add_argument(
        "--log-level",
        choices=["debug", "info", "warning", "error", "critical"],
        help="least severe log level shown (default node.log_level: info)",
    )


def _client(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", help="broker host (default: a running demo's broker, else 127.0.0.1)")
    p.add_argument(
        "--port", type=int, help="broker MQTT port (default: a running demo's broker, else 1883)"
    )
    p.add_argument(
        "--prefix", help="topic prefix of the node (default: a running demo's, else avatar)"
    )
    p.add_argument("--channel", default="default", help="channel to talk to (default: %(default)s)")
    p.add_argument("--username", help="broker user name")
    p.add_argument("--password", help="broker password")


def _run(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser(
        "run",
        help="run the node (the service)",
        description="Run the node: load voices and avatars, serve MQTT requests "
        "and the web display until Ctrl-C or SIGTERM.",
    )
    _config(p)
    _logs(p)


def _demo(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser(
        "demo",
        help="start a broker, the node and the web page; say hello",
        description="Start the demo's own broker (Debian's mosquitto when "
        "installed, else the embedded amqtt), the node and the web display, "
        "speak a welcome line and report the times to first audio and frame. "
        "'avatar-node say' and 'listen' find this broker by themselves.",
    )
    _config(p)
    _logs(p)
    p.add_argument("--text", default=DEFAULT_TEXT, help="the welcome line to speak")
    p.add_argument(
        "--broker",
        choices=["auto", "mosquitto", "amqtt", "config"],
        default="auto",
        help="auto: the demo's own broker (mosquitto if installed, "
        "else amqtt), unless the configuration sets mqtt.host or mqtt.port (not 0); "
        "config: the configured broker (default: %(default)s)",
    )
    p.add_argument(
        "--mqtt-port",
        type=int,
        default=DEMO_PORT,
        help="MQTT port of the demo's own broker; a free one if taken (the demo "
        "says so) (default: %(default)s)",
    )
    p.add_argument(
        "--ws-port",
        type=int,
        default=DEMO_WS_PORT,
        help="its WebSocket port, for the web page; a free one if taken (default: %(default)s)",
    )
    p.add_argument(
        "--once",
        action="store_true",
        help="exit after the welcome line (exit code 1 if it did not finish)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=120,
        help="seconds to wait for the welcome line (default: %(default)s)",
    )


def _say(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser(
        "say",
        help="publish text and wait until it was spoken",
        description="Publish a SayRequest, wait for its end event and print "
        "it as JSON; optionally save the audio.",
    )
    p.add_argument("text", help="the text to speak")
    _client(p)
    p.add_argument("--voice", help="voice name (default: the node's node.default_voice)")
    p.add_argument("--speaker", help="speaker name or id of a multi-speaker voice")
    p.add_argument("--language", help="language mark of a VITS voice (zh, ja, en, ko, mix)")
    p.add_argument("--avatar", help="avatar name (default: the channel's avatar)")
    p.add_argument("--speed", type=float, help="speaking rate, 0.5-2.0 (default: the voice's)")
    p.add_argument("--priority", type=int, help="queue priority, higher first (default: 0)")
    p.add_argument(
        "--mode",
        choices=["queue", "interrupt", "replace"],
        help="queue after the current one (default), interrupt it, or replace everything queued",
    )
    p.add_argument("--out", metavar="WAV", help="save the whole utterance as a WAV file")
    p.add_argument(
        "--timeout",
        type=float,
        default=120,
        help="seconds to wait for the end event (default: %(default)s)",
    )


def _listen(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser(
        "listen",
        help="print a channel's events and audio; optionally save WAVs",
        description="Print every event, audio chunk (without its WAV) and "
        "state message of a channel as JSON lines until Ctrl-C.",
    )
    _client(p)
    p.add_argument("--save", metavar="DIR", help="also write each audio chunk to DIR as a WAV")


def _tools(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser(
        "doctor",
        help="check the config, broker, espeak-ng, every voice, the "
        "lip-sync checkpoint and every avatar",
        description="Load every voice, the lip-sync engine and every avatar "
        "exactly as 'run' does; print one line per check; exit 1 if any fails.",
    )
    _config(p)
    p.add_argument("--skip-voices", action="store_true", help="do not load the voices")
    p.add_argument(
        "--skip-avatars",
        action="store_true",
        help="do not load the lip-sync engine and the avatars",
    )

    p = sub.add_parser(
        "ha-remove",
        help="remove the node's Home Assistant device (empty "
        "retained discovery message); stop the node or disable homeassistant "
        "first",
    )
    p.add_argument(
        "--config",
        metavar="FILE",
        help="the node's YAML config (broker, node id, discovery prefix)",
    )

    p = sub.add_parser("schema", help="write schemas/*.schema.json and asyncapi.yaml")
    p.add_argument(
        "--out", default="schemas", metavar="DIR", help="output directory (default: %(default)s)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="avatar-node",
        description="Give a chatbot a talking face over MQTT: run the node, try it (demo, say, "
        "listen), check a set-up (doctor) or write the message schemas (schema).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version", action="version", version=__version__, help="print the version and exit"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _run(sub)
    _demo(sub)
    _say(sub)
    _listen(sub)
    _tools(sub)
    return parser

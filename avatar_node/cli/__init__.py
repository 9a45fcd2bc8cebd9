"""The avatar-node command: run, demo, say, listen, doctor, ha-remove, schema.

Each sub-command lives in a module of this package; :func:`main` turns every start-up failure
into one line on stderr and a documented exit code (see ``avatar-node --help``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from ..errors import (
    EXIT_BROKER,
    EXIT_FAILED,
    AvatarError,
    BrokerUnavailable,
    CheckpointError,
    ConfigError,
    StartupError,
)
from . import failures
from .parser import build_parser

__all__ = ["build_parser", "main"]


def _commands() -> dict[str, Callable[[argparse.Namespace], int]]:
    from . import checks, clients, demo, serve

    return {
        "run": serve.cmd_run,
        "demo": demo.cmd_demo,
        "say": clients.cmd_say,
        "listen": clients.cmd_listen,
        "ha-remove": clients.cmd_ha_remove,
        "doctor": checks.cmd_doctor,
        "schema": checks.cmd_schema,
    }


def _as_startup_error(args: argparse.Namespace, exc: BaseException) -> StartupError | None:
    settings = getattr(args, "settings", None)
    if isinstance(exc, StartupError):
        return exc
    if isinstance(exc, ConfigError):
        return failures.from_config(exc, settings)
    if isinstance(exc, CheckpointError):
        return failures.from_checkpoint(exc, settings)
    if isinstance(exc, BrokerUnavailable):
        option = "--host/--port" if args.command in ("say", "listen") else "mqtt.host/mqtt.port"
        return failures.from_broker(exc, option)
    return None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(_commands()[args.command](args))
    except (StartupError, ConfigError, CheckpointError, BrokerUnavailable) as exc:
        err = _as_startup_error(args, exc)
        assert err is not None
        print(err.line(), file=sys.stderr)
        return err.exit_code
    except AvatarError as exc:
        print(" ".join(f"avatar-node: {exc.code}: {exc.message}".split()), file=sys.stderr)
        return EXIT_FAILED
    except ConnectionError as exc:  # the broker went away after the start
        print(" ".join(f"avatar-node: broker: {exc}".split()), file=sys.stderr)
        return EXIT_BROKER
    except TimeoutError as exc:
        print(f"avatar-node: timed out: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130

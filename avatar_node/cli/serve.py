"""``avatar-node run``, and what ``run`` and ``demo`` share: settings, logs, the web display."""

from __future__ import annotations

import argparse
import signal
import threading
from typing import Any

from ..broker import port_free
from ..log import get_logger, setup_logging
from ..settings import Settings, load_settings
from . import failures

log = get_logger("avatar_node.cli")


def load(args: argparse.Namespace) -> Settings:
    """The settings of ``--config``; kept on ``args`` so a later failure can name its option."""
    settings = load_settings(getattr(args, "config", None))
    args.settings = settings
    return settings


def setup_logs(args: argparse.Namespace, settings: Settings) -> None:
    setup_logging(
        getattr(args, "log_level", None) or settings.node.log_level,
        getattr(args, "log_format", None) or settings.node.log_format,
    )


def wait_for_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.is_set():
        stop.wait(0.5)


def check_ports(settings: Settings) -> None:
    """Fail at once, before anything slow loads, when a port the node must listen on is taken."""
    web, metrics = settings.web, settings.metrics
    if web.enabled and web.port and not port_free(web.host, web.port):
        raise failures.port_taken("web.port", web.host, web.port, "AVATAR_WEB__PORT")
    if metrics.enabled and metrics.port and not port_free(metrics.host, metrics.port):
        raise failures.port_taken(
            "metrics.port", metrics.host, metrics.port, "AVATAR_METRICS__PORT"
        )
    wy = settings.wyoming
    for option, port in (("wyoming.port", wy.port), ("wyoming.snd_port", wy.snd_port)):
        if wy.enabled and port and not port_free(wy.host, port):
            env = "AVATAR_WYOMING__" + option.split(".")[1].upper()
            raise failures.port_taken(option, wy.host, port, env)


def preflight(settings: Settings) -> None:
    check_ports(settings)
    missing = failures.fatal_missing_files(settings)
    if missing is not None:
        raise missing


def start_web(settings: Settings, node: Any = None) -> Any:
    if not settings.web.enabled:
        return None
    try:
        from ..web.server import WebServer
    except ImportError:
        log.warning("web display not available in this install")
        return None
    # {host}: the page substitutes the host it was loaded from (kiosks on other machines).
    ws = settings.web.ws_url or "ws://{host}:9001"
    idle = None if node is None else getattr(node, "idle_jpeg", None)
    defaults = {
        "ws": ws,
        "channel": settings.node.channels[0],
        "prefix": settings.mqtt.topic_prefix,
    }
    server = WebServer(settings.web.host, settings.web.port, defaults, idle_source=idle)
    try:
        server.start()
    except OSError as exc:  # taken between the check and now
        if failures.is_address_in_use(exc):
            raise failures.port_taken(
                "web.port", settings.web.host, settings.web.port, "AVATAR_WEB__PORT"
            ) from exc
        raise
    log.info("web display", url=server.url)
    return server


def start_node(settings: Settings) -> Any:
    """The node, loaded and connected (as ``run`` has always built it)."""
    from ..app import Node

    node = Node(settings)
    node.load()
    return node


def cmd_run(args: argparse.Namespace) -> int:
    settings = load(args)
    preflight(settings)
    setup_logs(args, settings)
    node = start_node(settings)
    web = start_web(settings, node)
    node.start()
    wait_for_signal()
    node.stop()
    if web is not None:
        web.stop()
    return 0

"""How ``say`` and ``listen`` find a running demo's broker without being told its port.

``avatar-node demo`` writes where its broker listens to a small JSON file (``demo_state_path``)
and removes it when it stops. ``say`` and ``listen`` given neither ``--host`` nor ``--port`` use
that broker while the demo process is alive and its port answers; otherwise 127.0.0.1:1883.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 1883


@dataclass
class DemoBrokerInfo:
    host: str
    port: int
    ws_port: int | None
    prefix: str
    channel: str
    pid: int
    protocol: int = 5
    """The MQTT version the broker speaks (311 for amqtt): clients skip the MQTT 5 attempt."""


def demo_state_path() -> Path:
    """``$AVATAR_DEMO_STATE``, else ``$XDG_RUNTIME_DIR/avatar-node/demo.json``, else a per-user
    file in the temporary directory."""
    explicit = os.environ.get("AVATAR_DEMO_STATE")
    if explicit:
        return Path(explicit)
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return Path(runtime) / "avatar-node" / "demo.json"
    return Path(tempfile.gettempdir()) / f"avatar-node-{os.getuid()}" / "demo.json"


def publish_demo(info: DemoBrokerInfo) -> Path:
    path = demo_state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(info)))
    tmp.replace(path)
    return path


def withdraw_demo() -> None:
    path = demo_state_path()
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def running_demo() -> DemoBrokerInfo | None:
    """The broker of a demo that is running now, or None."""
    try:
        info = DemoBrokerInfo(**json.loads(demo_state_path().read_text()))
        os.kill(info.pid, 0)  # alive?
        with socket.create_connection((info.host, info.port), timeout=0.5):
            return info
    except (OSError, ValueError, TypeError):
        return None


def resolve_broker(host: str | None, port: int | None) -> tuple[str, int, DemoBrokerInfo | None]:
    """The broker a client command talks to: as given, else a running demo's, else the default."""
    if host is None and port is None:
        demo = running_demo()
        if demo is not None:
            return demo.host, demo.port, demo
    return host or DEFAULT_HOST, DEFAULT_PORT if port is None else port, None

"""The demo's own MQTT broker, with a TCP and a WebSocket listener (the page connects over WS).

``avatar-node demo`` starts Debian's ``mosquitto`` when it is installed: a real broker that speaks
MQTT 5 and 3.1.1, the one users run in production. Without it the demo falls back to
:class:`EmbeddedBroker` (amqtt, pure Python, MQTT 3.1.1 only; clients and the node fall back to
3.1.1 by themselves). Neither is meant for production use by the node: point ``mqtt.*`` at a
real broker there.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Protocol

from .log import get_logger

log = get_logger(__name__)

DEMO_PORT = 1884
"""The demo's own broker listens here for MQTT (a free port if taken; the demo says so)."""
DEMO_WS_PORT = 9001
"""... and here for MQTT over WebSockets (the kiosk page)."""


class DemoBroker(Protocol):
    kind: str
    host: str
    port: int
    ws_port: int | None

    def start(self, timeout: float = 10.0) -> None: ...

    def stop(self, timeout: float = 5.0) -> None: ...


def mosquitto_path() -> str | None:
    """Debian's mosquitto (``/usr/sbin`` is often not on a user's PATH), or None."""
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    return exe if Path(exe).is_file() else None


def port_free(host: str, port: int) -> bool:
    """True when ``host:port`` can be bound now (nothing listens there)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind (TIME_WAIT ok)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _wait_port(host: str, port: int, deadline: float, alive: Any) -> bool:
    while time.monotonic() < deadline and alive():
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class MosquittoBroker:
    """``mosquitto -c`` a generated config: anonymous TCP and WebSocket listeners on ``host``."""

    kind = "mosquitto"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = DEMO_PORT,
        ws_port: int | None = DEMO_WS_PORT,
        exe: str | None = None,
    ):
        self.host, self.port, self.ws_port = host, port, ws_port
        self.exe = exe or mosquitto_path() or "mosquitto"
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    def config(self) -> str:
        lines = [f"listener {self.port} {self.host}", "protocol mqtt"]
        if self.ws_port:
            lines += [f"listener {self.ws_port} {self.host}", "protocol websockets"]
        lines += [
            "allow_anonymous true",
            "persistence false",
            "set_tcp_nodelay true",
            "max_queued_messages 10000",
        ]
        return "\n".join(lines) + "\n"

    def start(self, timeout: float = 10.0) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="avatar-demo-broker-")
        conf = Path(self._dir.name) / "mosquitto.conf"
        conf.write_text(self.config())
        errors = Path(self._dir.name) / "mosquitto.log"
        with errors.open("wb") as err:
            self._proc = subprocess.Popen(
                [self.exe, "-c", str(conf)],
                stdout=subprocess.DEVNULL,
                stderr=err,
                stdin=subprocess.DEVNULL,
            )
        proc = self._proc
        deadline = time.monotonic() + timeout
        ports = [self.port] + ([self.ws_port] if self.ws_port else [])
        if all(_wait_port(self.host, p, deadline, lambda: proc.poll() is None) for p in ports):
            log.info("demo broker started", kind=self.kind, port=self.port, ws_port=self.ws_port)
            return
        last = (errors.read_text(errors="replace").strip().splitlines() or ["no output"])[-1]
        self.stop()
        raise RuntimeError(f"mosquitto did not start: {last}")

    def stop(self, timeout: float = 5.0) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout)
        self._proc = None
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None


class EmbeddedBroker:
    """amqtt in a thread of this process (MQTT 3.1.1 only)."""

    kind = "amqtt"

    def __init__(self, host: str = "127.0.0.1", port: int = 1883, ws_port: int | None = 9001):
        self.host, self.port, self.ws_port = host, port, ws_port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="broker", daemon=True)
        self._broker: Any = None

    def _config(self) -> dict[str, Any]:
        listeners: dict[str, Any] = {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}}
        if self.ws_port:
            listeners["ws"] = {"type": "ws", "bind": f"{self.host}:{self.ws_port}"}
        return {
            "listeners": listeners,
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
            },
        }

    def start(self, timeout: float = 10.0) -> None:
        try:
            from amqtt.broker import Broker
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise RuntimeError("the demo's embedded broker needs amqtt: pip install amqtt") from exc
        # amqtt logs every MQTT 5 CONNECT it refuses (clients then fall back) as an error.
        for name in ("amqtt", "transitions"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        self._thread.start()

        async def boot() -> None:
            self._broker = Broker(self._config(), loop=self._loop)
            await self._broker.start()

        asyncio.run_coroutine_threadsafe(boot(), self._loop).result(timeout)
        log.info("demo broker started", kind=self.kind, port=self.port, ws_port=self.ws_port)

    def stop(self, timeout: float = 5.0) -> None:
        if self._broker is not None:
            fut = asyncio.run_coroutine_threadsafe(self._broker.shutdown(), self._loop)
            try:
                fut.result(timeout)
            except Exception:  # shutting down anyway
                pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)


def demo_broker(kind: str, host: str, port: int, ws_port: int | None) -> DemoBroker:
    """``kind``: ``mosquitto``, ``amqtt`` or ``auto`` (mosquitto when installed, else amqtt)."""
    if kind == "auto":
        kind = "mosquitto" if mosquitto_path() else "amqtt"
    if kind == "mosquitto":
        return MosquittoBroker(host, port, ws_port)
    return EmbeddedBroker(host, port, ws_port)

"""Embedded MQTT broker for the demo (amqtt, MQTT 3.1.1 only) with TCP and WebSocket listeners.

Only for ``avatar-node demo`` on a machine without a broker; production uses Mosquitto, EMQX or
another real broker. amqtt refuses MQTT 5, so the node falls back to 3.1.1 (logged).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from .log import get_logger

log = get_logger(__name__)


class EmbeddedBroker:
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
        for name in ("amqtt", "transitions"):
            logging.getLogger(name).setLevel(logging.WARNING)
        self._thread.start()

        async def boot() -> None:
            self._broker = Broker(self._config(), loop=self._loop)
            await self._broker.start()

        asyncio.run_coroutine_threadsafe(boot(), self._loop).result(timeout)
        log.info("embedded broker started", port=self.port, ws_port=self.ws_port)

    def stop(self, timeout: float = 5.0) -> None:
        if self._broker is not None:
            fut = asyncio.run_coroutine_threadsafe(self._broker.shutdown(), self._loop)
            try:
                fut.result(timeout)
            except Exception:  # shutting down anyway
                pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)

"""Keeps the page server's idle faces in step with the retained ``{prefix}/{channel}/avatar``.

The node can call :meth:`WebServer.set_idle` itself whenever it publishes ``AvatarInfo``; where it
does not (a page server next to someone else's node, the benchmarks), :func:`follow_avatars`
subscribes to the retained messages with any client that has ``subscribe(topic, handler)`` (an
:class:`avatar_node.client.AvatarClient`) and feeds the server from them.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from typing import Any, Protocol

from avatar_node.log import get_logger

log = get_logger(__name__)


class _IdleSink(Protocol):
    def set_idle(self, channel: str, jpeg: bytes | None) -> None: ...


def idle_from_avatar(payload: bytes) -> bytes | None:
    """The idle JPEG of an ``AvatarInfo`` payload; None for an empty (cleared) or bad one."""
    if not payload:
        return None
    try:
        msg = json.loads(payload)
        idle = msg.get("idle") if isinstance(msg, dict) else None
        jpeg = base64.b64decode(idle, validate=True) if isinstance(idle, str) else None
    except (ValueError, binascii.Error, RecursionError):
        return None
    return jpeg if jpeg and jpeg[:2] == b"\xff\xd8" else None


def follow_avatars(sink: _IdleSink, client: Any, prefix: str, channels: Iterable[str]) -> None:
    """Subscribes ``{prefix}/{channel}/avatar`` for each channel; each message updates ``sink``."""
    for channel in channels:

        def on_avatar(topic: str, payload: bytes, channel: str = channel) -> None:
            jpeg = idle_from_avatar(payload)
            sink.set_idle(channel, jpeg)
            log.debug("idle face", channel=channel, bytes=len(jpeg or b""))

        client.subscribe(f"{prefix}/{channel}/avatar", on_avatar, qos=1)

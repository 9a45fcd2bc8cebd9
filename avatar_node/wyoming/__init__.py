"""(v1.1) The Wyoming door: a TTS server (own voices or an upstream proxy) and a ``snd`` sink for
Home Assistant Assist and wyoming-satellite, every answer lip-synced on the mapped channel.

Only :class:`WyomingSettings` is imported eagerly: the settings model must load without the
optional ``wyoming`` package (``pip install 'avatar-node[wyoming]'``), which the server needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .settings import WyomingSettings

if TYPE_CHECKING:
    from .server import Door, WyomingServer, serve

__all__ = ["Door", "WyomingServer", "WyomingSettings", "serve"]


def __getattr__(name: str) -> Any:
    if name not in ("Door", "WyomingServer", "serve"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        from . import server
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] != "wyoming":
            raise
        from ..errors import MissingDependency

        raise MissingDependency(
            "wyoming.enabled needs the wyoming package: pip install 'avatar-node[wyoming]'"
        ) from exc
    return getattr(server, name)

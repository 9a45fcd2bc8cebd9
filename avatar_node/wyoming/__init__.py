"""(v1.1) The Wyoming door: a TTS server (own voices or an upstream proxy) and a ``snd`` sink for
Home Assistant Assist and wyoming-satellite, every answer lip-synced on the mapped channel."""

from .server import Door, WyomingServer, serve
from .settings import WyomingSettings

__all__ = ["Door", "WyomingServer", "WyomingSettings", "serve"]

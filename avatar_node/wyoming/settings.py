"""(v1.1) The Wyoming door's settings: the ``wyoming:`` section of the node's configuration."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, field_validator


class WyomingSettings(BaseModel):
    """A Wyoming TTS server (and ``snd`` sink) for Home Assistant Assist and wyoming-satellite."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    """Serve the Wyoming protocol (opt-in)."""
    host: str = "0.0.0.0"
    """Bind address of the Wyoming server."""
    port: int = Field(10200, ge=0, le=65535)
    """TCP port of the TTS service (and of ``snd`` unless ``snd_port`` is set); 0 picks one."""
    channel: str = "default"
    """The channel whose avatar speaks what Wyoming clients hear."""
    upstream_tts: str | None = None
    """``tcp://host:port`` of another Wyoming TTS (e.g. wyoming-piper): its voices are offered,
    its audio passed back unchanged and lip-synced here. None: our own voices speak."""
    snd_port: int | None = Field(None, ge=0, le=65535)
    """A separate port for the ``snd`` service only (a satellite's ``--snd-uri``); None: the
    TTS port serves ``snd`` too."""
    mode: Literal["queue", "interrupt", "replace"] = "queue"
    """How Wyoming requests enter the channel's queue."""
    priority: int = Field(5, ge=0, le=9)
    """Queue priority of Wyoming requests (0..9, higher first)."""
    connect_timeout_s: float = Field(5.0, gt=0)
    """Connecting to ``upstream_tts`` gives up after this many seconds."""
    idle_timeout_s: float = Field(30.0, gt=0)
    """A streamed ``synthesize`` whose text pauses this long ends there (what came is spoken;
    HA's LLM may pause for a tool call, so longer than ``node.stream_idle_timeout_s``). Audio
    from the upstream or a ``snd`` client that stops this long ends with a Wyoming ``error``."""

    @field_validator("upstream_tts")
    @classmethod
    def _uri(cls, v: str | None) -> str | None:
        if v is None:
            return v
        url = urlparse(v)
        if url.scheme != "tcp" or not url.hostname or url.port is None:
            raise ValueError(f"upstream_tts must look like tcp://host:10200, got {v!r}")
        return v

"""The configuration sections of the node's doors: web page, metrics, Hermes, Home Assistant.

Part of :mod:`avatar_node.settings` (which re-exports them); kept apart to keep modules short.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WebSettings(_Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    ws_url: str | None = None
    """Broker WebSocket URL for the page; default ``ws://{host}:9001`` ({host}: the page's host)."""


class MetricsSettings(_Section):
    enabled: bool = False
    """Serve Prometheus metrics (needs ``prometheus-client``) at ``http://{host}:{port}/metrics``."""
    host: str = "127.0.0.1"
    """Bind address of the metrics endpoint (``0.0.0.0`` to let a remote Prometheus scrape)."""
    port: int = Field(9464, ge=0, le=65535)
    """Port of the metrics endpoint; 0 picks a free port."""


class HermesSettings(_Section):
    enabled: bool = False
    site_id: str = "default"
    """Only ``hermes/tts/say`` requests for this ``siteId`` are spoken."""
    channel: str = "default"
    """The channel that speaks them."""


class HomeAssistantSettings(_Section):
    enabled: bool = False
    discovery_prefix: str = "homeassistant"
    """HA's discovery prefix; the device goes to ``{discovery_prefix}/device/{node_id}/config``."""
    status_topic: str = "homeassistant/status"
    """HA's birth/will topic; ``online`` there makes the node re-publish discovery."""
    device_name: str | None = None
    """Name of the HA device; default ``Avatar {node_id}``."""
    suggested_area: str | None = None
    """Area HA suggests for the device (e.g. ``Hall``)."""
    republish_jitter_s: float = Field(1.0, ge=0, le=60)
    """After HA's birth message, re-publish after a random 0..this many seconds (spreads load)."""

"""Rhasspy Hermes TTS messages (camelCase on the wire)."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from .base import Inbound, Outbound


class HermesSay(Inbound):
    """Rhasspy Hermes ``hermes/tts/say``."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    text: str
    site_id: str = Field("default", alias="siteId")
    id: str | None = None
    session_id: str | None = Field(None, alias="sessionId")
    lang: str | None = None
    volume: float | None = Field(None, ge=0, le=1)


class _HermesOutbound(Outbound):
    """Hermes messages use camelCase keys on the wire."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    site_id: str = Field("default", alias="siteId")
    session_id: str | None = Field(None, alias="sessionId")

    def to_json(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()


class HermesSayFinished(_HermesOutbound):
    """Rhasspy Hermes ``hermes/tts/sayFinished``."""

    id: str | None = None


class HermesError(_HermesOutbound):
    """Rhasspy Hermes ``hermes/error/tts``."""

    error: str
    context: str | None = None

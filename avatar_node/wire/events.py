"""Outbound events and the retained channel state."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from .base import Outbound

EventType = Literal["queued", "started", "sentence", "finished", "cancelled", "rejected", "error"]
ErrorCode = Literal[
    "bad_request",
    "text_too_long",
    "payload_too_large",
    "unknown_voice",
    "unknown_speaker",
    "unknown_avatar",
    "queue_full",
    "engine_error",
]


class Event(Outbound):
    """``{prefix}/{channel}/events``: the life of a request."""

    id: str | None = Field(..., description="Utterance id; null when a malformed payload had none.")
    type: EventType
    ts: float = Field(..., description="Unix time, seconds.")
    node: str
    channel: str
    code: ErrorCode | None = Field(None, description="Error code for rejected/error events.")
    message: str | None = Field(None, description="Human-readable explanation.")
    meta: dict[str, Any] | None = Field(None, description="The request's meta, echoed.")
    detail: dict[str, Any] | None = Field(None, description="Type-specific extras.")


class Metrics(Outbound):
    """Figures of the last utterance."""

    first_audio_ms: float | None = Field(
        None, description="Request received → first audio published, ms."
    )
    first_frame_ms: float | None = Field(
        None, description="Request received → first frame published, ms."
    )
    lipsync_fps: float | None = Field(None, description="Frames rendered per second of work.")
    rtf: float | None = Field(None, description="TTS real-time factor (compute time / audio time).")
    utterances: int = Field(0, description="Utterances finished since start.")
    errors: int = Field(0, description="Requests that ended in error or were rejected since start.")
    cache_hits: int = Field(0, description="Requests replayed from the phrase cache since start.")
    cache_misses: int = Field(0, description="Cacheable requests that had to be rendered.")


class ChannelState(Outbound):
    """``{prefix}/{channel}/state`` (retained)."""

    channel: str
    node: str
    state: Literal["idle", "speaking"]
    current: str | None = Field(None, description="Id of the utterance being spoken.")
    queued: int = Field(..., ge=0, description="Requests waiting.")
    voices: list[str]
    avatars: list[str]
    fps: float = Field(..., description="Frame rate of the channel's avatar.")
    version: str = Field(..., description="avatar-node version.")
    metrics: Metrics

"""The wire: pydantic models of the MQTT contract, topics and schema export.

The only place JSON and base64 exist. Doors (``transport.adapter``, integrations, Wyoming) convert
between these models and the pipeline's plain items.
"""

from __future__ import annotations

from pydantic import BaseModel

from .base import CONTRACT_VERSION, ID_PATTERN, Inbound, Outbound, new_id
from .events import ChannelState, Event, Metrics
from .hermes import HermesError, HermesSay, HermesSayFinished
from .media import AudioChunk, AvatarInfo, PhoneSpan, VideoFrame
from .play import AudioStreamChunk, AudioStreamStart, AudioStreamStop, PlayRequest
from .requests import Control, SayOptions, SayRequest, TextDelta

ALL_MESSAGES: dict[str, type[BaseModel]] = {
    "SayRequest": SayRequest,
    "TextDelta": TextDelta,
    "Control": Control,
    "AudioChunk": AudioChunk,
    "VideoFrame": VideoFrame,
    "Event": Event,
    "ChannelState": ChannelState,
    "AvatarInfo": AvatarInfo,
    "HermesSay": HermesSay,
    "HermesSayFinished": HermesSayFinished,
    "HermesError": HermesError,
    "PlayRequest": PlayRequest,
    "AudioStreamStart": AudioStreamStart,
    "AudioStreamChunk": AudioStreamChunk,
    "AudioStreamStop": AudioStreamStop,
}
"""Every model of the contract by name: ``schemas/`` is generated from these."""

__all__ = [
    "ALL_MESSAGES",
    "CONTRACT_VERSION",
    "ID_PATTERN",
    "AudioChunk",
    "AvatarInfo",
    "ChannelState",
    "Control",
    "Event",
    "HermesError",
    "HermesSay",
    "HermesSayFinished",
    "Inbound",
    "Metrics",
    "Outbound",
    "PhoneSpan",
    "SayOptions",
    "SayRequest",
    "TextDelta",
    "VideoFrame",
    "new_id",
]

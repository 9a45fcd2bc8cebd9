"""Wire models of the MQTT contract (CONTRACT.md v1). The only place JSON is parsed or built.

Inbound models ignore unknown keys (forward compatibility) and reject wrong types or values;
outbound models are strict. ``schemas/`` is generated from these classes (``avatar-node schema``).
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import BadRequest, PayloadTooLarge, TextTooLong

ID_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"
_ID_RE = re.compile(ID_PATTERN)
META_MAX_BYTES = 4096
CONTRACT_VERSION = "1"


class Inbound(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Outbound(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def to_json(self) -> bytes:
        return self.model_dump_json(exclude_none=False).encode()


def new_id() -> str:
    return uuid.uuid4().hex


class SayOptions(Inbound):
    """Optional fields of a say request (also allowed on the first delta of a stream)."""

    voice: str | None = Field(None, description="A configured voice name; node default if unset.")
    speaker: str | int | None = Field(
        None, description="Speaker name or id inside a multi-speaker voice."
    )
    language: str | None = Field(
        None, description="Language mark, e.g. en, zh, ja, ko, mix (VITS-fast-fine-tuning)."
    )
    speed: float = Field(1.0, ge=0.5, le=2.0, description="Speaking rate; length_scale = 1/speed.")
    avatar: str | None = Field(
        None, description="A configured avatar name; channel default if unset."
    )
    mode: Literal["queue", "interrupt", "replace"] = Field(
        "queue",
        description="queue: wait in line; interrupt: stop the current utterance, speak this next, "
        "keeping the queue; replace: stop the current one and clear the queue.",
    )
    priority: int = Field(5, ge=0, le=9, description="0..9, higher first; FIFO within a priority.")
    meta: dict[str, Any] | None = Field(
        None, description="Opaque object (<= 4 KiB serialized) echoed in every event."
    )

    @field_validator("meta")
    @classmethod
    def _meta_size(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        if v is not None and len(json.dumps(v, ensure_ascii=False).encode()) > META_MAX_BYTES:
            raise ValueError(f"meta is larger than {META_MAX_BYTES} bytes serialized")
        return v


class SayRequest(SayOptions):
    """``{prefix}/{channel}/say``: speak ``text``."""

    text: str = Field(..., description="Text to speak; 1..max_text_chars after trimming.")
    id: str = Field(
        default_factory=new_id, pattern=ID_PATTERN, description="Utterance id; uuid4 hex if unset."
    )


class TextDelta(SayOptions):
    """``{prefix}/{channel}/say/stream``: incremental text of a streaming chatbot reply."""

    id: str = Field(..., pattern=ID_PATTERN, description="Utterance id shared by all deltas.")
    delta: str = Field("", description="Text appended to the utterance.")
    final: bool = Field(False, description="True on the last delta: flush and finish.")


class Control(Inbound):
    """``{prefix}/{channel}/control``: stop or clear."""

    action: Literal["stop", "clear"] = Field(
        ...,
        description="stop: cancel one utterance (id) or the current one; clear: drop the queue.",
    )
    id: str | None = Field(None, pattern=ID_PATTERN, description="Utterance to stop.")


class PhoneSpan(Outbound):
    """(v1.1) One phoneme of an audio chunk and its viseme, on the utterance clock."""

    p: str = Field(..., description="Phoneme or symbol as the voice's front-end spells it.")
    v: str = Field(
        ..., description="Oculus/OVR viseme: sil PP FF TH DD kk CH SS nn RR aa E ih oh ou."
    )
    start_ms: float = Field(..., ge=0, description="Start on the utterance clock, ms.")
    end_ms: float = Field(..., ge=0, description="End on the utterance clock, ms.")


class AudioChunk(Outbound):
    """``{prefix}/{channel}/audio``: one sentence (or clause) of speech as a complete WAV file."""

    id: str = Field(..., description="Utterance id.")
    seq: int = Field(..., ge=0, description="Chunk index within the utterance, from 0, no gaps.")
    text: str = Field(..., description="What this chunk says.")
    start_ms: float = Field(
        ..., ge=0, description="Offset of the first sample from the utterance start, ms."
    )
    duration_ms: float = Field(..., ge=0, description="Length of the chunk, ms.")
    sample_rate: int = Field(..., gt=0, description="Samples per second (the voice's real rate).")
    channels: int = Field(1, description="Always 1 (mono).")
    sample_format: Literal["pcm_s16le", "f32le"] = Field(
        ..., description="Sample encoding in the WAV."
    )
    wav: str = Field(..., description="Base64 of a complete RIFF/WAVE file.")
    final: bool = Field(..., description="True on the last chunk of the utterance.")
    alignment: list[PhoneSpan] | None = Field(
        None,
        description="(v1.1) Phonemes and visemes covering start_ms .. start_ms + duration_ms, "
        "ordered and contiguous, from the voice's own durations; null when unknown.",
    )


class VideoFrame(Outbound):
    """``{prefix}/{channel}/frames``: one video frame on the audio clock."""

    id: str = Field(..., description="Utterance id.")
    seq: int = Field(..., ge=0, description="Frame index within the utterance, from 0, no gaps.")
    pts_ms: float = Field(..., ge=0, description="Presentation time, seq*1000/fps ms, audio clock.")
    width: int = Field(..., gt=0, description="Pixels.")
    height: int = Field(..., gt=0, description="Pixels.")
    jpeg: str = Field(..., description="Base64 JPEG.")
    final: bool = Field(..., description="True on the last frame of the utterance.")


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


class AvatarInfo(Outbound):
    """``{prefix}/{channel}/avatar`` (retained): the face a display shows when idle."""

    name: str
    width: int
    height: int
    fps: float
    idle: str = Field(..., description="Base64 JPEG of the resting frame.")
    lipsync: Literal["viseme", "wav2lip", "energy", "none"] = Field(
        ..., description="Engine in use."
    )
    face: list[int] | None = Field(
        None, description="(v1.1) [x1, y1, x2, y2] of the enrolled face in frame pixels, or null."
    )


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


# ---------------------------------------------------------------- decoding at the edge


def decode_text(payload: bytes, max_bytes: int) -> str:
    """Payload size and UTF-8 checks shared by every inbound topic."""
    if len(payload) > max_bytes:
        raise PayloadTooLarge(
            f"payload of {len(payload)} bytes exceeds max_payload_bytes {max_bytes}"
        )
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"payload is not valid UTF-8 ({exc.reason} at byte {exc.start})") from exc


def parse_json_object(text: str) -> dict[str, Any] | None:
    """The object if ``text`` parses as a JSON object, else None."""
    stripped = text.lstrip()
    if not stripped.startswith("{"):
        return None
    try:
        value = json.loads(stripped)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def peek_id(obj: dict[str, Any] | None) -> str | None:
    """The request id if it is readable and valid, for error events of invalid requests."""
    if obj is None:
        return None
    value = obj.get("id")
    return value if isinstance(value, str) and _ID_RE.match(value) else None


def validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "payload"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def parse_say(payload: bytes, max_bytes: int, max_chars: int) -> SayRequest:
    """Plain text or a JSON SayRequest → validated request with trimmed text."""
    text = decode_text(payload, max_bytes)
    obj = parse_json_object(text)
    if obj is None:
        req = SayRequest(text=text)
    else:
        try:
            req = SayRequest.model_validate(obj)
        except ValidationError as exc:
            raise BadRequest(validation_message(exc)) from exc
    req.text = check_text(req.text, max_chars)
    return req


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def strip_control(text: str) -> str:
    """Control characters (NUL, BEL, escape sequences' ESC, ...) become spaces; they are never
    spoken and some engines (espeak-ng) reject them."""
    return _CONTROL.sub(" ", text)


def check_text(text: str, max_chars: int) -> str:
    trimmed = strip_control(text).strip()
    if not trimmed:
        raise BadRequest("text is empty or whitespace only")
    if len(trimmed) > max_chars:
        raise TextTooLong(
            f"text has {len(trimmed)} characters, more than max_text_chars {max_chars}"
        )
    return trimmed


def parse_model(payload: bytes, max_bytes: int, model: type[Inbound]) -> Inbound:
    """A JSON object payload validated as ``model`` (for stream, control and Hermes topics)."""
    text = decode_text(payload, max_bytes)
    obj = parse_json_object(text)
    if obj is None:
        raise BadRequest(f"payload must be a JSON object ({model.__name__})")
    try:
        return model.model_validate(obj)
    except ValidationError as exc:
        raise BadRequest(validation_message(exc)) from exc


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
}

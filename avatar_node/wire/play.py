"""(v1.1) Audio in over MQTT: ``{prefix}/{channel}/play`` and ``{prefix}/{channel}/play/stream``.

``play`` takes a complete WAV file, as raw RIFF bytes or as a JSON :class:`PlayRequest` with the
file in base64. ``play/stream`` takes :class:`AudioStreamStart`, then any number of
:class:`AudioStreamChunk`, then :class:`AudioStreamStop` (framed like Wyoming audio). Types are
strict: ``"16000"`` is not a rate and ``5.0`` is not a priority. What the audio itself holds is
checked by ``media.pcm`` when it is parsed.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field, TypeAdapter, ValidationError

from ..errors import BadRequest, PayloadTooLarge
from .base import ID_PATTERN, Inbound, new_id
from .parse import decode_text, parse_json_object, validation_message
from .requests import RequestOptions

StreamSampleFormat = Literal["pcm_s16le", "pcm_s24le", "pcm_s32le", "f32le"]
_WIDTH_FORMAT: dict[int, StreamSampleFormat] = {2: "pcm_s16le", 3: "pcm_s24le", 4: "pcm_s32le"}
FORMAT_WIDTH = {"pcm_s16le": 2, "pcm_s24le": 3, "pcm_s32le": 4, "f32le": 4}


class PlayOptions(RequestOptions):
    """Optional fields of ``play`` and of a ``play/stream`` start (as in SayRequest)."""

    text: str | None = Field(
        None, description="What the audio says: a transcript for events only, never spoken."
    )


class PlayRequest(PlayOptions):
    """``{prefix}/{channel}/play`` as JSON: a complete WAV file to lip-sync and re-publish."""

    wav: str = Field(
        ...,
        description="Base64 of a complete RIFF/WAVE file: PCM 16/24/32-bit or float 32-bit, "
        "8-48 kHz, mono or stereo.",
    )
    id: str = Field(
        default_factory=new_id, pattern=ID_PATTERN, description="Utterance id; uuid4 hex if unset."
    )


class AudioStreamStart(PlayOptions):
    """``play/stream`` ``start``: the format of the PCM that follows (Wyoming ``audio-start``)."""

    type: Literal["start"]
    id: str = Field(..., pattern=ID_PATTERN, description="Utterance id shared by the stream.")
    rate: int = Field(..., ge=8000, le=48000, description="Samples per second per channel, Hz.")
    width: Literal[2, 3, 4] = Field(..., description="Bytes per sample.")
    channels: Literal[1, 2] = Field(..., description="1 mono, 2 stereo (interleaved).")
    sample_format: StreamSampleFormat | None = Field(
        None,
        description="Sample encoding; default signed little-endian PCM of `width` bytes. "
        "`f32le` (width 4) for IEEE float.",
    )

    def resolved_format(self) -> StreamSampleFormat:
        if self.sample_format is None:
            return _WIDTH_FORMAT[self.width]
        expected = FORMAT_WIDTH[self.sample_format]
        if expected != self.width:
            raise BadRequest(
                f"sample_format {self.sample_format} needs width {expected}, got {self.width}"
            )
        return self.sample_format


class AudioStreamChunk(Inbound):
    """``play/stream`` ``chunk``: raw interleaved frames (Wyoming ``audio-chunk``)."""

    type: Literal["chunk"]
    id: str = Field(..., pattern=ID_PATTERN, description="Utterance id of an open stream.")
    pcm: str = Field(..., description="Base64 of raw PCM frames in the start's format.")


class AudioStreamStop(Inbound):
    """``play/stream`` ``stop``: the stream is complete (Wyoming ``audio-stop``)."""

    type: Literal["stop"]
    id: str = Field(..., pattern=ID_PATTERN, description="Utterance id of an open stream.")


AudioStreamPart = Annotated[
    AudioStreamStart | AudioStreamChunk | AudioStreamStop, Field(discriminator="type")
]
_PART = TypeAdapter(AudioStreamPart)


@dataclass(frozen=True)
class PlayInput:
    """A decoded ``play`` message: its options and the WAV file's bytes (not yet parsed)."""

    request: PlayRequest
    wav: bytes


def decode_base64(value: str, field: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadRequest(f"{field}: not valid base64 ({exc})") from exc


def _check_size(payload: bytes, max_bytes: int, setting: str) -> None:
    if len(payload) > max_bytes:
        raise PayloadTooLarge(f"payload of {len(payload)} bytes exceeds {setting} {max_bytes}")


def parse_play(payload: bytes, max_bytes: int) -> PlayInput:
    """Raw RIFF bytes or a JSON :class:`PlayRequest` (``max_bytes``: ``node.max_play_bytes``)."""
    _check_size(payload, max_bytes, "max_play_bytes")
    if payload[:4] == b"RIFF":
        return PlayInput(PlayRequest(wav=""), payload)
    obj = parse_json_object(decode_text(payload, max_bytes))
    if obj is None:
        raise BadRequest(
            "play payload must be a WAV file (RIFF bytes) or a JSON object with base64 `wav`"
        )
    try:
        req = PlayRequest.model_validate(obj)
    except ValidationError as exc:
        raise BadRequest(validation_message(exc)) from exc
    return PlayInput(req, decode_base64(req.wav, "wav"))


def parse_stream_part(
    payload: bytes, max_bytes: int
) -> AudioStreamStart | AudioStreamChunk | AudioStreamStop:
    """One ``play/stream`` message (``max_bytes``: ``node.max_payload_bytes``)."""
    _check_size(payload, max_bytes, "max_payload_bytes")
    obj = parse_json_object(decode_text(payload, max_bytes))
    if obj is None:
        raise BadRequest("play/stream payload must be a JSON object (AudioStreamPart)")
    try:
        return _PART.validate_python(obj)
    except ValidationError as exc:
        raise BadRequest(validation_message(exc)) from exc

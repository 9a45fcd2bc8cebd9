"""Outbound media of a channel: audio chunks, video frames and the avatar."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import Outbound


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
    channels: int = Field(
        1, description="1 (mono); (v1.1) 2 for stereo audio handed in on play, re-published as is."
    )
    sample_format: Literal["pcm_s16le", "f32le", "pcm_s24le", "pcm_s32le"] = Field(
        ...,
        description="Sample encoding in the WAV; (v1.1) audio from play keeps its own "
        "(24/32-bit PCM too).",
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

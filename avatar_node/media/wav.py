"""RIFF/WAVE in memory: float32 mono audio <-> complete WAV bytes, and base64 for the wire.

PCM 16-bit (``pcm_s16le``, default) or IEEE float 32-bit (``f32le``, with the ``fact`` chunk that
non-PCM WAV files carry). Nothing touches the disk.
"""

from __future__ import annotations

import base64
import struct

import numpy as np

_PCM = 1
_IEEE_FLOAT = 3


def encode_wav(audio: np.ndarray, sample_rate: int, sample_format: str = "pcm_s16le") -> bytes:
    """A complete mono WAV file of ``audio`` (float, nominally in [-1, 1])."""
    samples = np.asarray(audio, dtype=np.float32).reshape(-1)
    if sample_format == "pcm_s16le":
        data = (np.clip(samples, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()
        fmt_tag, bits, extra = _PCM, 16, b""
        fmt_body = struct.pack("<HHIIHH", fmt_tag, 1, sample_rate, sample_rate * 2, 2, bits)
    elif sample_format == "f32le":
        data = samples.astype("<f4").tobytes()
        fmt_tag, bits = _IEEE_FLOAT, 32
        # Non-PCM formats carry cbSize (0) in fmt and a fact chunk with the sample count.
        fmt_body = struct.pack("<HHIIHHH", fmt_tag, 1, sample_rate, sample_rate * 4, 4, bits, 0)
        extra = b"fact" + struct.pack("<II", 4, samples.size)
    else:
        raise ValueError(f"unknown sample_format {sample_format!r}")
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt_body)) + fmt_body + extra
    body += b"data" + struct.pack("<I", len(data)) + data
    if len(data) % 2:
        body += b"\0"
    return b"RIFF" + struct.pack("<I", len(body)) + body


def decode_wav(blob: bytes) -> tuple[np.ndarray, int]:
    """(float32 mono samples, sample_rate) of a PCM 16-bit or IEEE float 32-bit WAV file."""
    if len(blob) < 12 or blob[:4] != b"RIFF" or blob[8:12] != b"WAVE":
        raise ValueError("not a RIFF/WAVE file")
    pos, fmt, data = 12, None, None
    while pos + 8 <= len(blob):
        cid, size = blob[pos : pos + 4], struct.unpack("<I", blob[pos + 4 : pos + 8])[0]
        body = blob[pos + 8 : pos + 8 + size]
        if cid == b"fmt ":
            fmt = struct.unpack("<HHIIHH", body[:16])
        elif cid == b"data":
            data = body
        pos += 8 + size + (size % 2)
    if fmt is None or data is None:
        raise ValueError("WAV file lacks a fmt or data chunk")
    tag, channels, rate, _, _, bits = fmt
    if tag == _PCM and bits == 16:
        samples = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32767.0
    elif tag == _IEEE_FLOAT and bits == 32:
        samples = np.frombuffer(data, dtype="<f4").astype(np.float32)
    else:
        raise ValueError(f"unsupported WAV format tag {tag} with {bits} bits")
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1)
    return samples, rate


def wav_base64(audio: np.ndarray, sample_rate: int, sample_format: str = "pcm_s16le") -> str:
    return base64.b64encode(encode_wav(audio, sample_rate, sample_format)).decode("ascii")


def decode_wav_base64(text: str) -> tuple[np.ndarray, int]:
    return decode_wav(base64.b64decode(text))

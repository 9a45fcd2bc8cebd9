"""Raw PCM in any format a door accepts -> float32 mono for lip sync, and WAV files around raw PCM.

Accepted: signed 16/24/32-bit little-endian integers or IEEE float 32-bit, 8-48 kHz, mono or
stereo (stereo is averaged for lip sync; the bytes themselves are re-published unchanged).
:func:`parse_wav` reads a complete RIFF/WAVE file (``WAVE_FORMAT_PCM``, ``IEEE_FLOAT`` or
``EXTENSIBLE`` with either sub-format) and says exactly what is wrong with one it cannot use.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from ..errors import BadAudio, UnsupportedAudio

MIN_RATE, MAX_RATE = 8000, 48000
_PCM, _IEEE_FLOAT, _EXTENSIBLE = 1, 3, 0xFFFE
_INT_FORMATS = {2: "pcm_s16le", 3: "pcm_s24le", 4: "pcm_s32le"}
SAMPLE_FORMATS = ("pcm_s16le", "pcm_s24le", "pcm_s32le", "f32le")
_UNKNOWN_SIZES = (0, 0xFFFFFFFF)  # streaming writers leave the data size unset


@dataclass(frozen=True)
class PcmFormat:
    """How raw audio bytes are laid out (interleaved frames, little-endian)."""

    rate: int
    """Samples per second per channel, Hz."""
    width: int
    """Bytes per sample: 2, 3 or 4."""
    channels: int
    """1 (mono) or 2 (stereo, interleaved)."""
    is_float: bool = False
    """IEEE float 32-bit samples (width 4) instead of signed integers."""

    @classmethod
    def named(cls, sample_format: str, rate: int, channels: int) -> PcmFormat:
        """The format called ``sample_format`` (one of :data:`SAMPLE_FORMATS`)."""
        if sample_format == "f32le":
            return cls(rate, 4, channels, True).checked()
        for width, name in _INT_FORMATS.items():
            if name == sample_format:
                return cls(rate, width, channels).checked()
        raise UnsupportedAudio(
            f"sample format {sample_format!r} is not supported; use one of "
            f"{', '.join(SAMPLE_FORMATS)}"
        )

    @property
    def sample_format(self) -> str:
        return "f32le" if self.is_float else _INT_FORMATS[self.width]

    @property
    def frame_bytes(self) -> int:
        """Bytes per frame (one sample of every channel)."""
        return self.width * self.channels

    def frames(self, n_bytes: int) -> int:
        return n_bytes // self.frame_bytes

    def duration_ms(self, n_bytes: int) -> float:
        return self.frames(n_bytes) * 1000.0 / self.rate

    def checked(self) -> PcmFormat:
        """Itself, or :class:`UnsupportedAudio` naming what is outside the accepted range."""
        if not MIN_RATE <= self.rate <= MAX_RATE:
            raise UnsupportedAudio(
                f"sample rate {self.rate} Hz is not supported; use {MIN_RATE}-{MAX_RATE} Hz"
            )
        if self.channels not in (1, 2):
            raise UnsupportedAudio(
                f"{self.channels} channels are not supported; use mono (1) or stereo (2)"
            )
        if self.is_float and self.width != 4:
            raise UnsupportedAudio(f"float samples of {self.width * 8} bits are not supported")
        if not self.is_float and self.width not in _INT_FORMATS:
            raise UnsupportedAudio(
                f"{self.width * 8}-bit samples are not supported; use 16, 24 or 32-bit PCM "
                "or 32-bit float"
            )
        return self


def to_float_mono(data: bytes, fmt: PcmFormat) -> np.ndarray:
    """float32 mono samples in [-1, 1] of whole frames in ``data`` (a trailing partial frame is
    ignored); stereo is averaged."""
    usable = len(data) - len(data) % fmt.frame_bytes
    raw = memoryview(data)[:usable]
    if fmt.is_float:
        samples = np.frombuffer(raw, dtype="<f4").astype(np.float32)
        samples = np.nan_to_num(samples, nan=0.0, posinf=1.0, neginf=-1.0)
    elif fmt.width == 2:
        samples = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    elif fmt.width == 4:
        samples = (np.frombuffer(raw, dtype="<i4").astype(np.float64) / 2147483648.0).astype(
            np.float32
        )
    else:  # 24-bit: widen each 3-byte sample to the top of an int32
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        ints = (b[:, 0] << 8) | (b[:, 1] << 16) | (b[:, 2] << 24)
        samples = (ints.astype(np.float64) / 2147483648.0).astype(np.float32)
    if fmt.channels > 1:
        samples = samples.reshape(-1, fmt.channels).mean(axis=1, dtype=np.float32)
    return np.ascontiguousarray(samples, dtype=np.float32)


def float_to_s16(audio: np.ndarray) -> bytes:
    """float audio in [-1, 1] as signed 16-bit little-endian PCM bytes."""
    x = np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0)
    return (x * 32767.0).round().astype("<i2").tobytes()


def wrap_pcm(data: bytes, fmt: PcmFormat) -> bytes:
    """A complete RIFF/WAVE file holding ``data`` unchanged (whole frames) in format ``fmt``."""
    data = data[: len(data) - len(data) % fmt.frame_bytes]
    tag = _IEEE_FLOAT if fmt.is_float else _PCM
    block = fmt.frame_bytes
    fmt_body = struct.pack(
        "<HHIIHH", tag, fmt.channels, fmt.rate, fmt.rate * block, block, fmt.width * 8
    )
    extra = b""
    if fmt.is_float:  # non-PCM formats carry cbSize and a fact chunk (sample frames)
        fmt_body += b"\0\0"
        extra = b"fact" + struct.pack("<II", 4, fmt.frames(len(data)))
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt_body)) + fmt_body + extra
    body += b"data" + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")
    return b"RIFF" + struct.pack("<I", len(body)) + body


@dataclass(frozen=True)
class WavData:
    """A parsed WAV file: its format and its sample bytes (whole frames)."""

    fmt: PcmFormat
    pcm: bytes

    @property
    def duration_ms(self) -> float:
        return self.fmt.duration_ms(len(self.pcm))


def _read_fmt(body: bytes) -> PcmFormat:
    if len(body) < 16:
        raise BadAudio(f"WAV fmt chunk is truncated ({len(body)} of 16 bytes)")
    tag, channels, rate, _, block, bits = struct.unpack("<HHIIHH", body[:16])
    if tag == _EXTENSIBLE:
        if len(body) < 26:
            raise BadAudio("WAV fmt chunk of WAVE_FORMAT_EXTENSIBLE is truncated")
        tag = struct.unpack("<H", body[24:26])[0]  # first field of the sub-format GUID
    if tag not in (_PCM, _IEEE_FLOAT):
        raise UnsupportedAudio(
            f"WAV format tag {tag:#06x} is not supported; use PCM (1) or IEEE float (3)"
        )
    if bits % 8 or bits == 0:
        raise UnsupportedAudio(f"{bits}-bit samples are not supported")
    fmt = PcmFormat(rate, bits // 8, channels, tag == _IEEE_FLOAT).checked()
    if block != fmt.frame_bytes:
        raise BadAudio(f"WAV block align {block} does not match {channels} x {bits}-bit samples")
    return fmt


def parse_wav(blob: bytes) -> WavData:
    """The format and samples of a complete WAV file.

    :class:`BadAudio` when it is not RIFF/WAVE, lacks a chunk or is cut short;
    :class:`UnsupportedAudio` when its format is outside what the node accepts.
    """
    if len(blob) < 12 or blob[:4] != b"RIFF" or blob[8:12] != b"WAVE":
        head = bytes(blob[:4])
        raise BadAudio(f"not a RIFF/WAVE file (starts with {head!r}, {len(blob)} bytes)")
    pos, fmt, data = 12, None, None
    while pos + 8 <= len(blob):
        cid = bytes(blob[pos : pos + 4])
        size = struct.unpack("<I", blob[pos + 4 : pos + 8])[0]
        start = pos + 8
        if cid == b"data":
            present = len(blob) - start
            if size in _UNKNOWN_SIZES:
                size = present
            elif size > present:
                raise BadAudio(
                    f"WAV file is truncated: its data chunk declares {size} bytes, {present} "
                    "are present"
                )
            data = bytes(blob[start : start + size])
            break
        if start + size > len(blob):
            raise BadAudio(f"WAV file is truncated inside its {cid!r} chunk")
        if cid == b"fmt ":
            fmt = _read_fmt(bytes(blob[start : start + size]))
        pos = start + size + (size % 2)
    if fmt is None:
        raise BadAudio("WAV file has no fmt chunk before its data")
    if data is None:
        raise BadAudio("WAV file has no data chunk (truncated?)")
    if len(data) % fmt.frame_bytes:
        raise BadAudio(
            f"WAV file is truncated: {len(data)} data bytes are not whole frames of "
            f"{fmt.frame_bytes} bytes"
        )
    if not data:
        raise BadAudio("WAV file holds no samples")
    return WavData(fmt, data)

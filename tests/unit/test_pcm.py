"""PCM decoding and WAV parsing, checked against libsndfile (soundfile) and Python's wave module."""

from __future__ import annotations

import io
import struct
import wave

import numpy as np
import pytest
import soundfile as sf

from avatar_node.errors import BadAudio, BadRequest, UnsupportedAudio
from avatar_node.media.pcm import PcmFormat, float_to_s16, parse_wav, to_float_mono, wrap_pcm

SUBTYPES = {"pcm_s16le": "PCM_16", "pcm_s24le": "PCM_24", "pcm_s32le": "PCM_32", "f32le": "FLOAT"}


def tone(rate: int, seconds: float, channels: int) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    left = 0.5 * np.sin(2 * np.pi * 220 * t)
    if channels == 1:
        return left.astype(np.float32)
    return np.stack([left, 0.25 * np.sin(2 * np.pi * 330 * t)], axis=1).astype(np.float32)


def sf_wav(audio: np.ndarray, rate: int, subtype: str, fmt: str = "WAV") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, audio, rate, subtype=subtype, format=fmt)
    return buf.getvalue()


@pytest.mark.parametrize("sample_format", list(SUBTYPES))
@pytest.mark.parametrize("rate", [8000, 16000, 44100, 48000])
@pytest.mark.parametrize("channels", [1, 2])
def test_parse_wav_matches_libsndfile(sample_format, rate, channels):
    audio = tone(rate, 0.3, channels)
    blob = sf_wav(audio, rate, SUBTYPES[sample_format])
    parsed = parse_wav(blob)
    assert parsed.fmt.sample_format == sample_format
    assert (parsed.fmt.rate, parsed.fmt.channels) == (rate, channels)
    assert parsed.fmt.frames(len(parsed.pcm)) == audio.shape[0]
    assert parsed.duration_ms == pytest.approx(audio.shape[0] * 1000 / rate)
    mono = to_float_mono(parsed.pcm, parsed.fmt)
    ref = sf.read(io.BytesIO(blob), dtype="float32")[0]
    ref_mono = ref if ref.ndim == 1 else ref.mean(axis=1)
    assert mono.dtype == np.float32 and mono.shape == (audio.shape[0],)
    assert np.max(np.abs(mono - ref_mono)) < 1e-4


@pytest.mark.parametrize("sample_format", list(SUBTYPES))
@pytest.mark.parametrize("channels", [1, 2])
def test_wrap_pcm_keeps_bytes_and_libsndfile_reads_it(sample_format, channels):
    audio = tone(22050, 0.2, channels)
    parsed = parse_wav(sf_wav(audio, 22050, SUBTYPES[sample_format]))
    again = wrap_pcm(parsed.pcm, parsed.fmt)
    assert parse_wav(again) == parsed  # same format, same bytes
    info = sf.info(io.BytesIO(again))
    assert (info.samplerate, info.channels, info.frames) == (22050, channels, audio.shape[0])
    assert info.subtype == SUBTYPES[sample_format]
    if sample_format == "pcm_s16le":
        with wave.open(io.BytesIO(again)) as w:
            assert w.readframes(w.getnframes()) == parsed.pcm


def test_extensible_wav_is_read():
    audio = tone(48000, 0.1, 2)
    blob = sf_wav(audio, 48000, "PCM_24", fmt="WAVEX")
    assert struct.unpack("<H", blob[20:22])[0] == 0xFFFE  # really WAVE_FORMAT_EXTENSIBLE
    parsed = parse_wav(blob)
    assert parsed.fmt == PcmFormat(48000, 3, 2)


def test_streaming_header_with_unknown_size_takes_the_rest():
    pcm = float_to_s16(tone(16000, 0.1, 1))
    blob = bytearray(wrap_pcm(pcm, PcmFormat(16000, 2, 1)))
    blob[40:44] = b"\0\0\0\0"  # data size 0, as Home Assistant's streamed WAV header has it
    assert parse_wav(bytes(blob)).pcm == pcm


def test_s16_extremes_and_24_bit_sign():
    fmt16 = PcmFormat(8000, 2, 1)
    x = to_float_mono(struct.pack("<hhh", -32768, 0, 32767), fmt16)
    assert x[0] == -1.0 and x[1] == 0.0 and x[2] == pytest.approx(1.0, abs=1e-4)
    fmt24 = PcmFormat(8000, 3, 1)
    x = to_float_mono(b"\x00\x00\x80" + b"\xff\xff\x7f" + b"\xff\xff\xff", fmt24)
    assert x[0] == -1.0 and x[1] == pytest.approx(1.0, abs=1e-6)
    assert x[2] == pytest.approx(-1 / 8388608, abs=1e-9)


def test_float_nan_and_partial_frames_are_safe():
    fmt = PcmFormat(8000, 4, 2, True)
    data = np.array([np.nan, 0.5, np.inf, -np.inf], dtype="<f4").tobytes() + b"\x01\x02"
    x = to_float_mono(data, fmt)
    assert x.tolist() == [0.25, 0.0]


@pytest.mark.parametrize(
    ("blob", "words"),
    [
        (b"", "not a RIFF/WAVE"),
        (b"ID3\x04 mp3 bytes follow here", "not a RIFF/WAVE"),
        (b"RIFF\x10\x00\x00\x00AVI LIST", "not a RIFF/WAVE"),
    ],
)
def test_not_riff(blob, words):
    with pytest.raises(BadAudio, match=words) as info:
        parse_wav(blob)
    assert info.value.code == "bad_request" and isinstance(info.value, BadRequest)


def test_truncated_files():
    good = sf_wav(tone(16000, 0.5, 1), 16000, "PCM_16")
    with pytest.raises(BadAudio, match="truncated: its data chunk declares"):
        parse_wav(good[: len(good) // 2])
    with pytest.raises(BadAudio, match="truncated"):
        parse_wav(good[:30])  # inside the fmt chunk
    with pytest.raises(BadAudio, match="no data chunk"):
        parse_wav(good[:36])
    odd = bytearray(wrap_pcm(b"\0" * 8, PcmFormat(16000, 2, 2)))
    odd[40:44] = struct.pack("<I", 6)
    with pytest.raises(BadAudio, match="not whole frames"):
        parse_wav(bytes(odd[:50]))
    with pytest.raises(BadAudio, match="no samples"):
        parse_wav(wrap_pcm(b"", PcmFormat(16000, 2, 1)))


@pytest.mark.parametrize(
    ("subtype", "rate", "channels", "words"),
    [
        ("PCM_16", 96000, 1, "96000 Hz is not supported"),
        ("PCM_16", 4000, 1, "4000 Hz"),
        ("PCM_16", 16000, 3, "3 channels"),
        ("PCM_U8", 16000, 1, "8-bit"),
        ("DOUBLE", 16000, 1, "float samples of 64 bits"),
        ("ULAW", 16000, 1, "format tag 0x0007"),
        ("IMA_ADPCM", 16000, 1, "format tag 0x0011"),
    ],
)
def test_unsupported_formats(subtype, rate, channels, words):
    audio = np.zeros((800, channels), dtype=np.float32)
    with pytest.raises(UnsupportedAudio, match=words) as info:
        parse_wav(sf_wav(audio, rate, subtype))
    assert info.value.code == "bad_request"


def test_named_formats():
    assert PcmFormat.named("f32le", 44100, 2) == PcmFormat(44100, 4, 2, True)
    assert PcmFormat.named("pcm_s24le", 16000, 1).width == 3
    with pytest.raises(UnsupportedAudio, match="'mp3'"):
        PcmFormat.named("mp3", 16000, 1)

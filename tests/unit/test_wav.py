"""In-memory WAV: round trips and agreement with Python's wave module."""

import io
import struct
import wave

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from avatar_node.media.wav import decode_wav, decode_wav_base64, encode_wav, wav_base64

audio_arrays = arrays(
    np.float32, st.integers(0, 3000),
    elements=st.floats(-1.0, 1.0, width=32, allow_nan=False),
)
rates = st.sampled_from([8000, 16000, 22050, 24000, 44100, 48000])


@settings(max_examples=60, deadline=None)
@given(audio=audio_arrays, rate=rates)
def test_pcm16_round_trip_and_wave_module(audio, rate):
    blob = encode_wav(audio, rate)
    decoded, r = decode_wav(blob)
    assert r == rate and decoded.shape == audio.shape
    assert np.max(np.abs(decoded - audio), initial=0) <= 1.0 / 32767 + 1e-6
    with wave.open(io.BytesIO(blob)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, rate)
        assert w.getnframes() == audio.size
        ref = np.frombuffer(w.readframes(w.getnframes()), "<i2")
    assert np.array_equal(ref, (np.clip(audio, -1, 1) * 32767).round().astype("<i2"))
    assert struct.unpack("<I", blob[4:8])[0] == len(blob) - 8


@settings(max_examples=60, deadline=None)
@given(audio=audio_arrays, rate=rates)
def test_float32_round_trip_with_fact_chunk(audio, rate):
    blob = encode_wav(audio, rate, "f32le")
    decoded, r = decode_wav(blob)
    assert r == rate and np.array_equal(decoded, audio)
    assert struct.unpack("<H", blob[20:22])[0] == 3  # WAVE_FORMAT_IEEE_FLOAT
    fact = blob.index(b"fact")
    assert struct.unpack("<I", blob[fact + 8 : fact + 12])[0] == audio.size
    assert struct.unpack("<I", blob[4:8])[0] == len(blob) - 8


def test_clipping_and_base64():
    audio = np.array([2.0, -2.0, 0.5], np.float32)
    decoded, rate = decode_wav_base64(wav_base64(audio, 22050))
    assert rate == 22050
    assert np.allclose(decoded, [1.0, -1.0, 0.5], atol=1e-4)


def test_decode_rejects_garbage():
    import pytest

    with pytest.raises(ValueError):
        decode_wav(b"not a wav file at all")

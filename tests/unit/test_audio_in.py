"""Audio sources doors hand to the pipeline: pieces as audio arrives, stalls, cancel, whole WAVs."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from avatar_node.errors import BadAudio
from avatar_node.media.pcm import PcmFormat, float_to_s16, parse_wav, to_float_mono, wrap_pcm
from avatar_node.pipeline.audio_in import StreamSource, WavSource
from avatar_node.pipeline.items import AudioSource

S16 = PcmFormat(16000, 2, 1)
F32_STEREO = PcmFormat(44100, 4, 2, True)


def pcm_s16(ms: float, rate: int = 16000) -> bytes:
    n = int(rate * ms / 1000)
    return float_to_s16(0.3 * np.sin(np.arange(n) * 0.05))


def test_sources_satisfy_the_protocol():
    source: AudioSource = StreamSource("hi")
    assert source.text == "hi"
    whole: AudioSource = WavSource.from_bytes(wrap_pcm(pcm_s16(100), S16))
    assert whole.text == ""


def test_first_piece_as_soon_as_200_ms_arrived_without_stop():
    src = StreamSource(idle_timeout_s=30)
    got: list = []
    never = threading.Event()
    consumer = threading.Thread(target=lambda: got.append(src.next(never)))
    consumer.start()
    for _ in range(3):  # 150 ms: not enough yet
        src.push(pcm_s16(50), S16)
    consumer.join(0.3)
    assert consumer.is_alive() and not got
    src.push(pcm_s16(50), S16)  # 200 ms
    consumer.join(10)
    assert not consumer.is_alive()
    piece = got[0]
    assert piece.sample_rate == 16000 and piece.audio.size == 3200
    assert parse_wav(piece.wav).fmt == S16 and len(parse_wav(piece.wav).pcm) == 6400
    assert not src.finished  # no stop was needed


def test_pieces_are_200_ms_and_the_rest_comes_at_finish():
    src = StreamSource()
    data = pcm_s16(1130)
    for i in range(0, len(data), 1000):
        src.push(data[i : i + 1000], S16)
    src.finish()
    never = threading.Event()
    pieces = []
    while (p := src.next(never)) is not None:
        pieces.append(p)
    assert [p.audio.size for p in pieces] == [3200] * 5 + [18080 - 16000]
    assert b"".join(parse_wav(p.wav).pcm for p in pieces) == data  # bytes unchanged
    assert src.ended and not src.push(pcm_s16(10), S16)


def test_stereo_float_is_republished_unchanged_and_downmixed():
    src = StreamSource(piece_ms=100)
    left = np.linspace(-0.5, 0.5, 4410, dtype=np.float32)
    frames = np.stack([left, -left], axis=1).astype("<f4").tobytes()
    src.push(frames, F32_STEREO)
    src.finish()
    piece = src.next(threading.Event())
    assert piece is not None
    assert (piece.channels, piece.sample_format, piece.sample_rate) == (2, "f32le", 44100)
    parsed = parse_wav(piece.wav)
    assert parsed.fmt == F32_STEREO and parsed.pcm == frames
    assert np.allclose(piece.audio, 0.0) and piece.audio.size == 4410
    assert src.next(threading.Event()) is None


def test_a_new_format_flushes_the_old_one():
    src = StreamSource()
    src.push(pcm_s16(50), S16)
    other = PcmFormat(22050, 2, 1)
    src.push(pcm_s16(300, 22050), other)
    src.finish()
    never = threading.Event()
    first, second, third = src.next(never), src.next(never), src.next(never)
    assert first is not None and first.sample_rate == 16000 and first.audio.size == 800
    assert second is not None and second.sample_rate == 22050 and second.audio.size == 4410
    assert third is not None and third.audio.size == 6615 - 4410
    assert src.next(never) is None


def test_stall_ends_the_stream_after_handing_out_the_rest():
    src = StreamSource(idle_timeout_s=0.3)
    src.push(pcm_s16(120), S16)
    never = threading.Event()
    piece = src.next(never)  # less than 200 ms: only the stall releases it
    assert piece is not None and piece.audio.size == 1920
    assert src.stalled
    assert src.next(never) is None and src.ended


def test_stall_with_nothing_received_ends_empty():
    src = StreamSource(idle_timeout_s=0.2)
    assert src.next(threading.Event()) is None
    assert src.stalled and src.received_bytes == 0


def test_cancel_wakes_a_waiting_consumer_and_drops_the_rest():
    src = StreamSource(idle_timeout_s=60)
    src.push(pcm_s16(50), S16)
    cancel = threading.Event()
    got: list = ["pending"]

    def consume() -> None:
        got[0] = src.next(cancel)

    t = threading.Thread(target=consume)
    t.start()
    time.sleep(0.05)
    cancel.set()
    t.join(10)
    assert not t.is_alive() and got[0] is None
    assert not src.push(pcm_s16(300), S16)  # dropped: the utterance is over


def test_buffer_bound_ends_the_stream():
    src = StreamSource(max_buffer_s=0.5)
    assert src.push(pcm_s16(400), S16)
    assert not src.push(pcm_s16(400), S16)
    assert src.finished


def test_wav_source_in_pieces_and_whole():
    data = pcm_s16(1000)
    blob = wrap_pcm(data, S16)
    never = threading.Event()
    pieces = []
    src = WavSource.from_bytes(blob, "hello")
    assert src.duration_ms == pytest.approx(1000)
    while (p := src.next(never)) is not None:
        pieces.append(p)
    assert len(pieces) == 5 and all(p.text == "hello" for p in pieces)
    assert np.allclose(np.concatenate([p.audio for p in pieces]), to_float_mono(data, S16))
    whole = WavSource.from_bytes(blob, piece_ms=None)
    one = whole.next(never)
    assert one is not None and one.wav == blob and whole.next(never) is None
    stopped = WavSource.from_bytes(blob)
    stopped.finish()
    assert stopped.next(never) is None


def test_wav_source_rejects_bad_bytes():
    with pytest.raises(BadAudio, match="not a RIFF/WAVE"):
        WavSource.from_bytes(b"hello")

"""Wav2Lip's audio front-end: window rule, per-frame windows, frame counts, resampling."""

from __future__ import annotations

import numpy as np
import pytest

from avatar_node.lipsync.audio import (
    mel_basis,
    mel_chunk_starts,
    mel_windows,
    melspectrogram,
)
from avatar_node.media.resample import resample_to_16k
from avatar_node.pipeline.clock import frame_at, frame_span


def test_chunk_starts_two_seconds() -> None:
    starts = mel_chunk_starts(161, fps=25)
    assert len(starts) == 47
    assert starts[:6] == [0, 3, 6, 9, 12, 16]
    assert starts[-3:] == [140, 144, 145]


def test_chunk_starts_repeat_last_window() -> None:
    """When the last regular start already equals T-16 the final window repeats it."""
    starts = mel_chunk_starts(217, fps=25)
    assert starts[-4:] == [195, 198, 201, 201]


@pytest.mark.parametrize("t", [16, 17, 50, 161, 217, 1000])
@pytest.mark.parametrize("fps", [25.0, 30.0, 24.0, 12.5])
def test_chunk_starts_rule(t: int, fps: float) -> None:
    starts = mel_chunk_starts(t, fps=fps)
    assert starts[-1] == t - 16
    assert all(s + 16 <= t for s in starts)
    assert starts[:-1] == [int(i * (80.0 / fps)) for i in range(len(starts) - 1)]


def test_chunk_starts_too_short() -> None:
    with pytest.raises(ValueError):
        mel_chunk_starts(15)


def test_mel_shape_range_and_silence() -> None:
    rng = np.random.default_rng(1)
    wav = (0.3 * rng.standard_normal(16000)).astype(np.float32)
    mel = melspectrogram(wav)
    assert mel.shape == (80, 81) and mel.dtype == np.float32
    assert mel.min() >= -4 and mel.max() <= 4
    assert np.all(melspectrogram(np.zeros(8000, np.float32)) == -4.0)
    assert mel_basis().shape == (80, 401)


@pytest.mark.parametrize("n", [0, 1, 5, 25, 49, 50, 51, 80])
def test_mel_windows_exact_count(n: int) -> None:
    wav = np.random.default_rng(0).standard_normal(32000).astype(np.float32) * 0.1
    w = mel_windows(wav, n, fps=25)
    assert w.shape == (n, 1, 80, 16) and w.dtype == np.float32


def test_mel_windows_short_audio_is_padded() -> None:
    w = mel_windows(np.ones(100, np.float32) * 0.1, 3, fps=25)
    assert w.shape == (3, 1, 80, 16)


def test_mel_windows_follow_the_window_rule() -> None:
    wav = np.random.default_rng(2).standard_normal(32000).astype(np.float32) * 0.1
    mel = melspectrogram(wav)
    starts = mel_chunk_starts(mel.shape[1])
    w = mel_windows(wav, len(starts))
    for k, s in enumerate(starts):
        np.testing.assert_array_equal(w[k, 0], mel[:, s : s + 16])


@pytest.mark.parametrize("fps", [25.0, 30.0, 24.0, 29.97, 12.5])
def test_frame_counts_tile_without_drift(fps: float) -> None:
    """Per-chunk frame counts (the pipeline's one clock rule) add up to the whole utterance's."""
    rng = np.random.default_rng(3)
    sr = 22050
    sizes = rng.integers(int(0.15 * sr), int(4.5 * sr), size=60)
    edges = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    spans = zip(edges[:-1], edges[1:], strict=True)
    counts = [frame_span(int(a), int(b - a), sr, fps)[1] for a, b in spans]
    assert sum(counts) == frame_at(int(edges[-1]), sr, fps)
    for c, n in zip(counts, sizes, strict=True):
        assert abs(c - n * fps / sr) <= 1  # CONTRACT: round(duration*fps/1000) ± 1


@pytest.mark.parametrize("rate", [16000, 22050, 24000, 44100, 48000, 8000])
def test_resample_to_16k_length(rate: int) -> None:
    t = np.arange(rate) / rate
    x = np.sin(2 * np.pi * 440 * t).astype(np.float32)
    y = resample_to_16k(x, rate)
    assert y.dtype == np.float32
    assert abs(len(y) - 16000) <= 1
    # the tone survives: its energy stays in the 440 Hz bin
    spec = np.abs(np.fft.rfft(y[:16000]))
    assert abs(int(np.argmax(spec)) - 440) <= 1

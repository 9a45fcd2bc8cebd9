"""The one frame rule (pipeline.clock): chunks tile the frame sequence with no drift."""

from __future__ import annotations

import random

import pytest

from avatar_node.pipeline.clock import frame_at, frame_span, pts_ms, sample_ms


@pytest.mark.parametrize(("rate", "fps"), [(22050, 25.0), (16000, 30.0), (44100, 24.0)])
def test_a_ten_minute_utterance_does_not_drift(rate, fps):
    rng = random.Random(rate)
    total = 10 * 60 * rate
    position, expected_first, covered = 0, 0, 0
    while position < total:
        n = min(rng.randint(int(0.2 * rate), 6 * rate) + rng.randint(0, 999), total - position)
        first, count = frame_span(position, n, rate, fps)
        assert first == expected_first, "chunks must tile the frames: no gap, no overlap"
        assert count >= 0
        expected_first += count
        covered += count
        position += n
    assert covered == frame_at(total, rate, fps) == round(10 * 60 * fps)
    # the last frame is shown within one frame period of the end of the audio
    end_ms = sample_ms(total, rate)
    assert abs(pts_ms(covered, fps) - end_ms) <= 1000.0 / fps


def test_half_up_not_bankers_rounding():
    # 12.5 frames: Python's round() gives 12, the clock rule 13, wherever it is asked.
    assert frame_at(8000, 16000, 25.0) == 13 and round(8000 * 25.0 / 16000) == 12
    assert frame_span(0, 8000, 16000, 25.0) == (0, 13)
    assert frame_span(8000, 8000, 16000, 25.0) == (13, 12)


def test_pts_is_seq_times_the_frame_period():
    assert [pts_ms(i, 25.0) for i in range(4)] == [0.0, 40.0, 80.0, 120.0]
    assert pts_ms(1, 30.0) == pytest.approx(33.333, abs=1e-3)

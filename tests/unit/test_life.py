"""Life: blinks visible in the eye pixels at the configured rate, deterministic, idle motion."""

from __future__ import annotations

import numpy as np
import pytest

from avatar_node.lipsync import Avatar, Life, enrol_avatar


@pytest.fixture(scope="module")
def avatar(tmp_path_factory: pytest.TempPathFactory) -> Avatar:
    return enrol_avatar(cache_dir=tmp_path_factory.mktemp("avatars"))


def eye_diff(avatar: Avatar, frame: np.ndarray) -> float:
    d = 0.0
    for x1, y1, x2, y2 in avatar.eye_boxes(0):
        sl = (slice(int(y1), int(y2) + 1), slice(int(x1), int(x2) + 1))
        d = max(d, float(np.abs(frame[sl].astype(float) - avatar.idle_frame[sl]).mean()))
    return d


def test_blinks_are_visible_at_the_configured_rate(avatar: Avatar) -> None:
    """Over 20 s sampled every 20 ms, the eye regions change in 4-10 separate short runs."""
    life = Life(avatar, blink=True, idle_motion=False, seed=3)
    ts = np.arange(0, 20, 0.02)
    closed = np.array([eye_diff(avatar, life.apply(avatar.idle_frame, t)) > 6.0 for t in ts])
    starts = np.flatnonzero(closed[1:] & ~closed[:-1]) + 1
    assert 4 <= len(starts) <= 10, len(starts)
    gaps = np.diff(ts[starts])
    assert gaps.min() >= 1.9 and gaps.max() <= 6.2  # every 2-6 s, never twice in 500 ms
    runs = np.split(closed, np.flatnonzero(np.diff(closed.astype(int))) + 1)
    assert max(len(r) for r in runs if r[0]) * 0.02 <= 0.16  # each blink is short


def test_blink_schedule_is_deterministic_and_randomised(avatar: Avatar) -> None:
    a, b, c = Life(avatar, seed=1), Life(avatar, seed=1), Life(avatar, seed=2)
    assert a.blinks(0, 60) == b.blinks(0, 60) != c.blinks(0, 60)
    starts = [s for s, _ in a.blinks(1e6, 1e6 + 120)]  # any clock value, no history needed
    gaps = np.diff(starts)
    assert gaps.min() >= 2.0 and gaps.max() <= 6.0 and gaps.std() > 0.2
    assert all(0.1 <= d <= 0.15 for _, d in a.blinks(0, 120))


def test_off_means_the_photo(avatar: Avatar) -> None:
    life = Life(avatar, blink=False, idle_motion=False, seed=0)
    for t in np.arange(0, 10, 0.1):
        assert np.array_equal(life.idle_frame(t), avatar.idle_frame)


def test_idle_motion_is_subtle_and_changes(avatar: Avatar) -> None:
    life = Life(avatar, blink=False, idle_motion=True, seed=0)
    frames = [life.idle_frame(t) for t in np.arange(0, 9, 0.5)]
    assert any(not np.array_equal(f, frames[0]) for f in frames)
    dx, dy, br = zip(*(life.motion(t) for t in np.arange(0, 30, 0.1)), strict=True)
    assert max(map(abs, dx)) <= 3 and max(map(abs, dy)) <= 3 and max(br) <= 3
    corner = [f[:4, :4] for f in frames]  # the frame edges stay put
    assert all(np.array_equal(c, avatar.idle_frame[:4, :4]) for c in corner)


def test_idle_times_include_blinks_and_skip_unchanged(avatar: Avatar) -> None:
    life = Life(avatar, blink=True, idle_motion=False, seed=5)
    times = life.idle_times(0.0, 20.0)
    for start, dur in life.blinks(0.0, 20.0):
        assert any(start <= t < start + dur and life.closure(t) > 0.5 for t in times)
    assert len(times) < 20 * life.idle_fps  # nothing changes between blinks: frames skipped
    assert all(life.changed(a, b) for a, b in zip(times, times[1:], strict=False))


def test_apply_warps_only_what_changed_and_equals_the_whole_frame_warp(avatar: Avatar) -> None:
    """A still avatar's warped photo is reused; the result equals warping the whole frame."""
    from avatar_node.lipsync import VisemeEngine
    from avatar_node.lipsync.life import _close_eye, _lid, _move
    from avatar_node.media.alignment import Phone

    life = Life(avatar, seed=7)
    phones = [Phone(v, v, i * 80.0, i * 80.0 + 80) for i, v in enumerate(["aa", "PP", "oh", "FF"])]
    audio = np.zeros(22050, np.float32)
    frames = np.concatenate(list(VisemeEngine().render(avatar, audio, 22050, 0, 8, phones)))
    times = [s + 0.4 * d for s, d in life.blinks(0, 20)][:3] + [0.3, 1.1, 2.9, 7.7]
    for k, t in enumerate(times):
        frame = frames[k % len(frames)]
        want = frame.copy()
        if (c := _lid(life.closure(t))) > 0:
            for eye in avatar.eye_boxes(0):
                _close_eye(want, eye, c)
        assert any(life.motion(t))
        want = _move(want, avatar.boxes[0], *life.motion(t))
        assert np.array_equal(life.apply(frame, t, k), want), t

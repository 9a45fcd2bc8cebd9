"""The idle animator: life frames for silent channels, sent only when they change.

The pass (:meth:`IdleAnimator.step`) is driven with a simulated life clock, so 20 s of idle take
no 20 s; the thread test only waits for frames to arrive.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from avatar_node.lipsync import Avatar, Life, enrol_avatar
from avatar_node.media.jpeg import decode_jpeg
from avatar_node.pipeline.idle import IdleAnimator, next_change

BLINK_DIFF = 6.0  # mean |Δ| (0-255) of an eye box that a lid half-covers; open eyes stay < 2


@pytest.fixture(scope="module")
def avatar(tmp_path_factory: pytest.TempPathFactory) -> Avatar:
    return enrol_avatar(cache_dir=tmp_path_factory.mktemp("avatars"))


class Recorder:
    def __init__(self) -> None:
        self.frames: list[tuple[str, float, bytes]] = []
        self.lock = threading.Lock()
        self.got = threading.Event()

    def __call__(self, channel: str, pts_ms: float, jpeg: bytes) -> None:
        with self.lock:
            self.frames.append((channel, pts_ms, jpeg))
        self.got.set()

    def of(self, channel: str) -> list[tuple[float, bytes]]:
        with self.lock:
            return [(p, j) for c, p, j in self.frames if c == channel]


def run(anim: IdleAnimator, t0: float, t1: float) -> int:
    """Drive ``anim`` from ``t0`` to ``t1`` as its thread would; returns the number of passes."""
    now, passes = t0, 0
    while now < t1:
        now = max(anim.step(now), now + 0.005)
        passes += 1
    return passes


def eye_diff(avatar: Avatar, frame: np.ndarray) -> float:
    """Largest mean |Δ| of the two eye boxes against the resting frame."""
    worst = 0.0
    for x1, y1, x2, y2 in avatar.eye_boxes(0):
        sl = (slice(int(y1), int(y2) + 1), slice(int(x1), int(x2) + 1))
        worst = max(worst, float(np.abs(frame[sl].astype(float) - avatar.idle_frame[sl]).mean()))
    return worst


def test_blinks_reach_the_display_at_the_configured_rate(avatar: Avatar) -> None:
    """Over a 20 s idle window, decoded idle frames show 4-10 blinks (one per 2-6 s), each blink
    has a frame whose eye region is covered by the lid, and the eyes are open in between."""
    life = Life(avatar, blink=True, idle_motion=False, seed=11)
    rec = Recorder()
    anim = IdleAnimator(["kiosk"], lambda _c: False, lambda _c: life, rec)
    run(anim, 100.0, 120.0)
    frames = [(pts / 1000, decode_jpeg(j)) for pts, j in rec.of("kiosk")]
    diffs = np.array([eye_diff(avatar, f) for _, f in frames])
    closed = diffs > BLINK_DIFF
    blinks = life.blinks(100.0, 120.0)
    assert 4 <= len(blinks) <= 10
    # every blink is seen: a frame inside it with the lid down
    for start, dur in blinks:
        assert any(c and start <= t < start + dur for (t, _), c in zip(frames, closed, strict=True))
    # runs of closed frames = blinks (the reopened frame follows each)
    onsets = np.flatnonzero(closed & ~np.r_[False, closed[:-1]])
    assert len(onsets) == len(blinks)
    gaps = np.diff([frames[i][0] for i in onsets])
    assert gaps.min() >= 1.9 and gaps.max() <= 6.2
    assert diffs[~closed].max() < 2.0  # the JPEG of open eyes matches the photo
    assert len(frames) <= 3 * len(blinks) + 2  # nothing moves between blinks: nothing is sent


def test_idle_motion_is_sent_at_the_idle_rate_and_blinks_still_show(avatar: Avatar) -> None:
    life = Life(avatar, blink=True, idle_motion=True, seed=4)
    rec = Recorder()
    anim = IdleAnimator(["a"], lambda _c: False, lambda _c: life, rec)
    run(anim, 0.0, 20.0)
    got = rec.of("a")
    blinks = life.blinks(0.0, 20.0)
    assert len(got) <= 20 * life.idle_fps + 2 * len(blinks) + 1
    assert len(got) >= 20 * life.idle_fps / 2  # the sway and breathing keep changing
    keys = [life.key(p / 1000) for p, _ in got]
    assert all(a != b for a, b in zip(keys, keys[1:], strict=False))  # only changed frames
    peaks = [p / 1000 for p, _ in got if life.closure(p / 1000) > 0.5]
    for start, dur in blinks:
        assert any(start <= t < start + dur for t in peaks)


def test_speaking_channels_get_nothing_and_the_first_idle_frame_follows_speech(
    avatar: Avatar,
) -> None:
    life = Life(avatar, blink=False, idle_motion=False, seed=0)  # a still face: one frame only
    speaking = {"a": False, "b": True}
    rec = Recorder()
    anim = IdleAnimator(["a", "b"], speaking.__getitem__, lambda _c: life, rec)
    run(anim, 0.0, 5.0)
    assert len(rec.of("a")) == 1 and rec.of("b") == []
    assert np.abs(decode_jpeg(rec.of("a")[0][1]).astype(int) - avatar.idle_frame).mean() < 2
    speaking["a"] = True
    run(anim, 5.0, 6.0)
    speaking["a"] = speaking["b"] = False
    run(anim, 6.0, 10.0)
    a, b = rec.of("a"), rec.of("b")
    assert len(a) == 2 and a[1][0] >= 6000.0  # back to the resting face once, then quiet
    assert len(b) == 1 and b[0][0] >= 6000.0


def test_no_avatar_and_failures_do_not_stop_other_channels(avatar: Avatar) -> None:
    life = Life(avatar, seed=2)

    def life_for(channel: str) -> Life | None:
        if channel == "broken":
            raise RuntimeError("avatar registry exploded")
        return None if channel == "faceless" else life

    rec = Recorder()
    bad_emit_calls = []

    def emit(channel: str, pts: float, jpeg: bytes) -> None:
        if channel == "flaky":
            bad_emit_calls.append(pts)
            raise OSError("display gone")
        rec(channel, pts, jpeg)

    anim = IdleAnimator(lambda: ["broken", "faceless", "flaky", "ok"], lambda _c: False,
                        life_for, emit)  # fmt: skip
    run(anim, 0.0, 3.0)
    assert rec.of("faceless") == [] and rec.of("broken") == []
    assert len(rec.of("ok")) >= 3 and len(bad_emit_calls) >= 3  # retried, not given up


def test_next_change_wakes_for_the_blink_frames(avatar: Avatar) -> None:
    life = Life(avatar, blink=True, idle_motion=False, seed=8)
    start, dur = life.blinks(10.0, 20.0)[0]
    before = start - 0.01
    assert next_change(life, before) == pytest.approx(start + 0.4 * dur)
    assert next_change(life, start + 0.4 * dur) == pytest.approx(start + dur)
    assert next_change(life, start + dur) == pytest.approx(start + dur + 1 / life.idle_fps)
    life.blink = False
    assert next_change(life, before) == pytest.approx(before + 1 / life.idle_fps)


def test_the_thread_sends_frames_and_stops(avatar: Avatar) -> None:
    life = Life(avatar, blink=True, idle_motion=True, seed=1)
    rec = Recorder()
    anim = IdleAnimator(["x", "y"], lambda c: c == "y", lambda _c: life, rec)
    anim.start()
    try:
        assert rec.got.wait(30), "no idle frame within 30 s"
        anim.poke()
    finally:
        anim.stop()
    assert rec.of("x") and rec.of("y") == []
    count = len(rec.frames)
    assert anim.sent("x") == count
    pts = [p for p, _ in rec.of("x")]
    assert pts == sorted(pts)


def test_lives_keeps_one_life_per_channel_and_avatar(avatar: Avatar, tmp_path) -> None:
    from avatar_node.pipeline.idle import Lives

    lives = Lives(blink=True, idle_motion=False)
    a = lives.get("a", avatar)
    assert lives.get("a", avatar) is a and lives.get("b", avatar) is not a
    assert a.blink and not a.idle_motion
    other = enrol_avatar(size=256, cache_dir=tmp_path)
    assert lives.get("a", other) is not a and lives.get("a", other).avatar is other

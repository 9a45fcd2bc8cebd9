"""Frames first (pipeline/backlog.py): the speech stage waits for the video stage to catch up."""

from __future__ import annotations

import threading
import time

from avatar_node.pipeline.backlog import VideoBacklog
from tests.unit.test_pipeline import FakeVoice, Harness, energy_avatars


def test_wait_returns_at_once_when_nothing_is_pending():
    backlog = VideoBacklog(max_wait_s=30)
    assert backlog.wait() < 1.0


def test_wait_ends_when_the_last_pending_segment_is_drawn():
    backlog = VideoBacklog(max_wait_s=30)
    backlog.added()
    backlog.added()
    released = threading.Event()

    def draw_later() -> None:
        backlog.drawn()
        released.wait(0.2)
        released.set()
        backlog.drawn()

    threading.Thread(target=draw_later).start()
    backlog.wait()
    assert released.is_set()  # one drawn segment was not enough
    assert backlog.caught_up()


def test_a_pacing_video_stage_counts_as_caught_up():
    backlog = VideoBacklog(max_wait_s=30)
    backlog.added()
    assert not backlog.caught_up()
    with backlog.pacing():
        assert backlog.caught_up()
        assert backlog.wait() < 1.0
    assert not backlog.caught_up()


def test_wait_is_bounded_and_stops_on_cancel():
    backlog = VideoBacklog(max_wait_s=0.05)
    backlog.added()
    assert 0.04 <= backlog.wait() < 10.0
    slow = VideoBacklog(max_wait_s=30)
    slow.added()
    t0 = time.monotonic()
    assert slow.wait(lambda: time.monotonic() - t0 > 0.05) < 10.0


def test_each_window_is_drawn_before_the_next_window_is_vocoded(tmp_path):
    """The real pipeline: the frames of a sentence's first window go out before the audio of its
    second window (without the backlog the fake voice's second window comes at once)."""
    h = Harness(FakeVoice(), avatars=energy_avatars(tmp_path))
    h.runner.backlog.max_wait_s = 60.0  # a loaded machine still draws before the next window
    try:
        h.say("Hello there, this is a sentence long enough for two windows.", "ff")
        assert h.wait_end("ff")["type"] == "finished"
        audio = h.audio("ff")
        assert len(audio) >= 2
        second = audio[1]["start_ms"]
        with h.lock:
            order = [(leaf, m) for leaf, m in h.messages if leaf in ("audio", "frames")]
        at = next(i for i, (leaf, m) in enumerate(order) if leaf == "audio" and m["seq"] == 1)
        before = [m["pts_ms"] for leaf, m in order[:at] if leaf == "frames"]
        first_window = [m["pts_ms"] for leaf, m in order if leaf == "frames"
                        and m["pts_ms"] < second]  # fmt: skip
        assert first_window and sorted(before) == sorted(first_window)
    finally:
        h.pipeline.close()

"""LatentWorker.run_tiles: a decode's tiles on the caller's thread and, when it is idle, on the
voice's worker thread too (the real decode through it: test_tts_shapes.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
import torch

from avatar_node.tts.lookahead import LatentWorker, PreparedCall
from avatar_node.tts.vits.model import VitsOutputs


def _recording(count: int, meet: threading.Barrier | None = None) -> tuple[list, list[str]]:  # type: ignore[type-arg]
    seen: list[str] = []

    def job(k: int) -> Callable[[], int]:
        def run() -> int:
            seen.append(threading.current_thread().name)
            if meet is not None and k < 2:
                meet.wait(timeout=30)  # breaks (and the test fails) if no second lane comes
            return k * k

        return run

    return [job(k) for k in range(count)], seen


def test_an_idle_worker_decodes_tiles_beside_the_caller(two_threads: None) -> None:
    jobs, seen = _recording(5, threading.Barrier(2))
    assert LatentWorker().run_tiles(jobs) == [0, 1, 4, 9, 16]
    assert any(name.startswith("vits-latent") for name in seen)
    assert threading.current_thread().name in seen


def test_a_busy_worker_leaves_every_tile_to_the_caller(two_threads: None) -> None:
    worker, release = LatentWorker(), threading.Event()

    def latent() -> PreparedCall:
        release.wait(timeout=30)
        empty = torch.zeros(0)
        return PreparedCall(VitsOutputs(audio=empty, y_lengths=empty, w_ceil=empty), 0)

    pending = worker.submit(latent)
    jobs, seen = _recording(4)
    try:
        assert worker.run_tiles(jobs) == [0, 1, 4, 9]
    finally:
        release.set()
    pending.result(timeout=30)
    assert seen == [threading.current_thread().name] * 4


def test_one_thread_keeps_every_tile_on_the_caller() -> None:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        jobs, seen = _recording(3)
        assert LatentWorker().run_tiles(jobs) == [0, 1, 4]
    finally:
        torch.set_num_threads(before)
    assert set(seen) == {threading.current_thread().name}


def test_a_failing_tile_fails_the_decode(two_threads: None) -> None:
    def boom() -> int:
        raise RuntimeError("tile failed")

    with pytest.raises(RuntimeError, match="tile failed"):
        LatentWorker().run_tiles([boom, boom, boom])


def test_the_caller_does_not_wait_for_a_helper_queued_behind_other_latents(
    two_threads: None,
) -> None:
    worker, release = LatentWorker(), threading.Event()
    jobs, seen = _recording(3)
    # Another channel's latent reaches the worker just after the helper was queued: the helper
    # would start only after it, so the caller decodes every tile and does not wait for it.
    original, blockers = worker._executor, []

    def executor():  # type: ignore[no-untyped-def]
        pool = original()
        blockers.append(pool.submit(release.wait, 30))  # False if the caller waited it out
        return pool

    worker._executor = executor  # type: ignore[method-assign]
    try:
        assert worker.run_tiles(jobs) == [0, 1, 4]
    finally:
        release.set()
    assert blockers and blockers[0].result() is True
    assert seen == [threading.current_thread().name] * 3

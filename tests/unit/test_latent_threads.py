"""LatentWorker: how many torch threads a latent on the worker and a decode tile in the caller
get, so that two cores are shared without a third thread (the real voice: test_tts_shapes.py,
test_tts_streaming.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
import torch

from avatar_node.tts.lookahead import LatentWorker, PreparedCall
from avatar_node.tts.vits.model import VitsOutputs


@pytest.fixture
def two_threads() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def _latent(seen: list[int], release: threading.Event | None = None) -> Callable[[], PreparedCall]:
    def job() -> PreparedCall:
        seen.append(torch.get_num_threads())
        if release is not None:
            assert release.wait(timeout=30)
        empty = torch.zeros(0)
        return PreparedCall(VitsOutputs(audio=empty, y_lengths=empty, w_ceil=empty), 0)

    return job


def test_a_latent_the_caller_waits_for_gets_every_thread(two_threads: None) -> None:
    worker, seen = LatentWorker(), []  # type: ignore[var-annotated]
    worker.take(worker.submit(_latent(seen)))
    assert seen == [2]
    assert torch.get_num_threads() == 2  # the caller's setting is untouched


def test_latents_queued_behind_one_or_beside_a_decode_get_one_thread(two_threads: None) -> None:
    worker, seen, release = LatentWorker(), [], threading.Event()  # type: ignore[var-annotated]
    first = worker.submit(_latent(seen, release))
    second = worker.submit(_latent(seen))  # the caller will decode the first meanwhile
    release.set()
    worker.take(first)
    with worker.streaming():  # the caller decodes the first call's windows
        third = worker.submit(_latent(seen))
        worker.take(second)
    worker.take(third)
    assert seen == [2, 1, 1]


def test_a_finished_latent_not_yet_taken_keeps_the_next_to_one_thread(two_threads: None) -> None:
    worker, seen = LatentWorker(), []  # type: ignore[var-annotated]
    first = worker.submit(_latent(seen))
    first.result(timeout=30)  # done, but the caller has not taken it: it decodes it next
    worker.take(worker.submit(_latent(seen)))
    worker.take(first)
    worker.take(worker.submit(_latent(seen)))  # nothing left to decode: the caller waits
    assert seen == [2, 1, 2]


def test_a_tile_gets_one_thread_less_while_the_worker_computes_a_latent(two_threads: None) -> None:
    worker, release = LatentWorker(), threading.Event()
    pending = worker.submit(_latent([], release))
    threads: list[int] = []

    def tile() -> int:
        threads.append(torch.get_num_threads())
        return len(threads)

    try:
        assert worker.run_tiles([tile, tile]) == [1, 2]
    finally:
        release.set()
    worker.take(pending)
    assert worker.run_tiles([tile]) == [3]  # the worker is idle: both cores
    assert threads == [1, 1, 2]


def test_one_thread_runs_latents_in_the_caller() -> None:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    names: list[str] = []

    def job() -> PreparedCall:
        names.append(threading.current_thread().name)
        return _latent([])()

    try:
        LatentWorker().take(LatentWorker().submit(job))
    finally:
        torch.set_num_threads(before)
    assert names == [threading.current_thread().name]


def test_a_failing_tile_or_latent_fails_the_call(two_threads: None) -> None:
    def boom() -> PreparedCall:
        raise RuntimeError("failed")

    worker = LatentWorker()
    with pytest.raises(RuntimeError, match="failed"):
        worker.run_tiles([boom])
    with pytest.raises(RuntimeError, match="failed"):
        worker.take(worker.submit(boom))
    seen: list[int] = []
    worker.take(worker.submit(_latent(seen)))  # a failed latent leaves nothing to decode
    assert seen == [2]

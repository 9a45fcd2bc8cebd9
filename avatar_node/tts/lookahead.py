"""The next sentence's latent on a second core while this one is vocoded.

A sentence costs the text encoder, duration predictor and flow (its latent: hundreds of small
layers that run best on one thread) and then the HiFi-GAN decoder. With two or more torch threads
allowed, a voice computes latents on its own worker thread, one sentence ahead of the caller's
decodes, so the second core does the next latent instead of waiting in the decoder's thread team
(measured on joe-medium, 2 threads: RTF 0.031 against 0.042 one after the other). With one
thread allowed, latents are computed in the caller's thread as before (no extra core is used).

Noise is drawn on the worker in submission order, so results are those of the sequential path.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import torch

from ..device import at_most_threads
from .vits.model import VitsOutputs
from .vits.shapes import TileRunner

T = TypeVar("T")


@dataclass
class PreparedCall:
    """One model call up to its decoder: the latent, and the flow's output when the whole
    sentence is decoded in one window (else the windows run the flow themselves)."""

    out: VitsOutputs
    frames: int
    z: torch.Tensor | None = None


class LatentWorker:
    """A voice's single worker thread for latents (created on first use; it ends when the voice
    is garbage-collected, as a ``ThreadPoolExecutor``'s idle worker does)."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._pending = 0

    def free_threads(self) -> int:
        """The caller's torch threads less one while the worker has a job: a decode that keeps
        two threads beside a busy worker oversubscribes two cores, and every parallel region
        then waits for a preempted thread (measured: say → first audio 160 ms against 55)."""
        threads = torch.get_num_threads()
        return max(1, threads - 1) if self._pending else threads

    def decode_thread_counts(self) -> set[int]:
        """The thread counts :meth:`free_threads` and :meth:`run_tiles` can give a decode with
        today's setting."""
        threads = torch.get_num_threads()
        return {threads, max(1, threads - 1), max(1, threads // 2)}

    def lanes(self) -> TileRunner | None:
        """Where a decode's tiles run: :meth:`run_tiles` with 2+ torch threads, else ``None``
        (in order on the one thread, with the sequential tiling, which pads less)."""
        return self.run_tiles if torch.get_num_threads() >= 2 else None

    def run_tiles(self, jobs: Sequence[Callable[[], T]]) -> list[T]:
        """A decode's tiles (independent jobs), results in order. Each starts on the threads
        free at that moment; while the worker has no latent to compute and two tiles or more
        are left, the worker decodes tiles too, each lane on half the threads. One oneDNN
        convolution scales ~1.4x from one thread to two on these shapes, two tiles at once
        ~2x."""
        threads = torch.get_num_threads()
        left = deque(enumerate(jobs))
        results: list[T | None] = [None] * len(jobs)
        helper: Future[None] | None = None

        def drain(count: int) -> None:
            with torch.inference_mode(), at_most_threads(count):
                while True:
                    try:
                        k, job = left.popleft()
                    except IndexError:
                        return
                    results[k] = job()

        while left:
            if helper is None and threads >= 2 and len(left) >= 2 and not self._pending:
                helper = self._executor().submit(drain, threads // 2)
            count = threads // 2 if helper is not None else self.free_threads()
            try:
                k, job = left.popleft()
            except IndexError:  # the helper took the last one
                break
            with at_most_threads(count):
                results[k] = job()
        if helper is not None and not helper.cancel():  # not started (other latents first): drop
            helper.result()
        return results  # type: ignore[return-value]

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="vits-latent")
            return self._pool

    def submit(self, job: Callable[[], PreparedCall]) -> Future[PreparedCall]:
        """Run ``job`` on the worker when the caller may use two threads, else now."""
        if torch.get_num_threads() < 2:
            done: Future[PreparedCall] = Future()
            try:
                done.set_result(job())
            except BaseException as exc:  # noqa: BLE001 - re-raised by result(), as the worker's
                done.set_exception(exc)
            return done
        pool = self._executor()
        with self._lock:
            self._pending += 1
            future = pool.submit(_inference(job))
        future.add_done_callback(self._done)
        return future

    def _done(self, _future: Future[PreparedCall]) -> None:
        with self._lock:
            self._pending -= 1


def _inference(job: Callable[[], PreparedCall]) -> Callable[[], PreparedCall]:
    def run() -> PreparedCall:
        with torch.inference_mode():
            return job()

    return run

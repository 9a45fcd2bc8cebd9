"""The next sentences' latents on a second core while this one is vocoded.

A sentence costs the text encoder, duration predictor and flow (its latent: hundreds of small
layers) and then the HiFi-GAN decoder. With two or more torch threads allowed, a voice computes
latents on its own worker thread, in order, ahead of the caller's decodes, so both cores work.
Who gets how many threads (:class:`LatentWorker`) was measured on joe-medium with 2 threads
(AVX512-BF16 EPYC, 2026-12-07): the first latent of a reply, which the caller waits for, takes
78-90 ms on two threads against 127 on one; later latents and decodes on one thread each keep
both cores busy. With one thread allowed, latents are computed in the caller's thread.

Noise is drawn on the worker in submission order, so results are those of the sequential path.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
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
    is garbage-collected, as a ``ThreadPoolExecutor``'s idle worker does).

    Threads: a latent stage on the worker takes all the caller's torch threads while the caller
    has nothing to decode (no tile running, no finished latent waiting to be taken: it waits for
    this one, as for an utterance's first sentence), else one; a decode tile in the caller takes
    all of them while the worker has no latent to compute, else one less. So the two cores are
    shared without a third thread, and neither waits idle for the other."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._pending = 0
        self._streams = 0
        self._ready: weakref.WeakSet[Future[PreparedCall]] = weakref.WeakSet()

    def free_threads(self) -> int:
        """The caller's torch threads less one while the worker has a job: a decode that keeps
        two threads beside a busy worker oversubscribes two cores, and every parallel region
        then waits for a preempted thread (measured: say → first audio 160 ms against 55)."""
        threads = torch.get_num_threads()
        return max(1, threads - 1) if self._pending else threads

    def decode_thread_counts(self) -> set[int]:
        """The thread counts :meth:`free_threads` can give a decode with today's setting."""
        threads = torch.get_num_threads()
        return {threads, max(1, threads - 1)}

    def runner(self) -> TileRunner | None:
        """Where a decode's tiles run: :meth:`run_tiles` with 2+ torch threads (each tile on the
        threads free when it starts), else ``None`` (the caller's one thread)."""
        return self.run_tiles if torch.get_num_threads() >= 2 else None

    def run_tiles(self, jobs: Sequence[Callable[[], T]]) -> list[T]:
        """A decode's tiles (or a flow) in order in the caller's thread, each on the threads
        :meth:`free_threads` gives when it starts: a tile that starts once the worker's latents
        are done gets every core."""
        results = []
        for job in jobs:
            with at_most_threads(self.free_threads()):
                results.append(job())
        return results

    @contextmanager
    def streaming(self) -> Iterator[None]:
        """Around a caller's decodes of one model call (its latents ahead are not waited for)."""
        with self._lock:
            self._streams += 1
        try:
            yield
        finally:
            with self._lock:
                self._streams -= 1

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="vits-latent")
            return self._pool

    def submit(self, job: Callable[[], PreparedCall]) -> Future[PreparedCall]:
        """Run ``job`` on the worker when the caller may use two threads, else now."""
        threads = torch.get_num_threads()
        if threads < 2:
            done: Future[PreparedCall] = Future()
            try:
                done.set_result(job())
            except BaseException as exc:  # noqa: BLE001 - re-raised by result(), as the worker's
                done.set_exception(exc)
            return done
        pool = self._executor()
        with self._lock:
            waited = not self._pending and not self._streams and not len(self._ready)
            self._pending += 1
            future = pool.submit(_inference(job, threads if waited else 1))
        future.add_done_callback(self._done)
        return future

    def take(self, future: Future[PreparedCall]) -> PreparedCall:
        """The caller's turn for a latent: wait for it and mark it taken."""
        try:
            return future.result()
        finally:
            self._ready.discard(future)

    def _done(self, future: Future[PreparedCall]) -> None:
        with self._lock:
            self._pending -= 1
            if not future.cancelled() and future.exception() is None:
                self._ready.add(future)


def _inference(job: Callable[[], PreparedCall], threads: int) -> Callable[[], PreparedCall]:
    def run() -> PreparedCall:
        with torch.inference_mode(), at_most_threads(threads):
            return job()

    return run

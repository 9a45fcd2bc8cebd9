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
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import torch

from .vits.model import VitsOutputs


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
        """The thread counts :meth:`free_threads` can give a decode with today's setting."""
        threads = torch.get_num_threads()
        return {threads, max(1, threads - 1)}

    def submit(self, job: Callable[[], PreparedCall]) -> Future[PreparedCall]:
        """Run ``job`` on the worker when the caller may use two threads, else now."""
        if torch.get_num_threads() < 2:
            done: Future[PreparedCall] = Future()
            try:
                done.set_result(job())
            except BaseException as exc:  # noqa: BLE001 - re-raised by result(), as the worker's
                done.set_exception(exc)
            return done
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="vits-latent")
            self._pending += 1
            future = self._pool.submit(_inference(job))
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

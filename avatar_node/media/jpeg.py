"""JPEG encoding of BGR frames, and a small thread pool that encodes batches in order.

``cv2.imencode`` releases the GIL, so a couple of threads encode frames while the lip-sync
thread runs the next batch.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import cv2
import numpy as np


def encode_jpeg(frame_bgr: np.ndarray, quality: int = 80) -> bytes:
    """Baseline JPEG bytes of a BGR (or grey) uint8 image."""
    ok, buf = cv2.imencode(".jpg", frame_bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError(f"JPEG encoding failed for an image of shape {frame_bgr.shape}")
    return buf.tobytes()


def decode_jpeg(data: bytes) -> np.ndarray:
    """BGR uint8 image from JPEG bytes."""
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError("not a decodable JPEG")
    return img


class JpegPool:
    """Encode frames on ``workers`` threads; results keep the input order.

    Use as a context manager or call :meth:`close`. :meth:`submit` returns a future of the list
    of JPEG bytes of one batch, so a caller can keep encoding off its own thread.
    """

    def __init__(self, workers: int = 2, quality: int = 80) -> None:
        self.quality = quality
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="jpeg")

    def map(
        self, frames: Iterable[np.ndarray] | np.ndarray, quality: int | None = None
    ) -> list[bytes]:
        """JPEG bytes of every frame (``[b,H,W,3]`` array or iterable of frames), in order."""
        q = self.quality if quality is None else quality
        return list(self._pool.map(lambda f: encode_jpeg(f, q), list(frames)))

    def submit_each(
        self, frames: Sequence[np.ndarray] | np.ndarray, quality: int | None = None
    ) -> list[Future[bytes]]:
        """Start encoding every frame; one future per frame, so the first can go out first."""
        q = self.quality if quality is None else quality
        return [self._pool.submit(encode_jpeg, f, q) for f in frames]

    def submit(
        self, frames: Sequence[np.ndarray] | np.ndarray, quality: int | None = None
    ) -> Future[list[bytes]]:
        """Start encoding a batch; the future's result is the list of JPEG bytes, in order."""
        futures = self.submit_each(frames, quality)
        out: Future[list[bytes]] = Future()
        lock = threading.Lock()
        remaining = [len(futures)]

        def _done(_: Future[bytes]) -> None:
            with lock:
                remaining[0] -= 1
                last = remaining[0] == 0
            if last:
                try:
                    out.set_result([f.result() for f in futures])
                except Exception as exc:  # propagate the first encoding error
                    out.set_exception(exc)

        if not futures:
            out.set_result([])
        for f in futures:
            f.add_done_callback(_done)
        return out

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def __enter__(self) -> JpegPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""Frame stage: lip sync an audio segment, JPEG-encode in a thread pool, publish frames on time.

Frame numbers come from the utterance's sample clock, so the frames of consecutive chunks never
drift: a chunk covering samples [a, b) gets frames round(a·fps/sr) … round(b·fps/sr) − 1, and
frame ``seq`` has ``pts_ms = seq·1000/fps``. JPEG encoding of batch k overlaps rendering of k+1.
"""

from __future__ import annotations

import base64
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np

from ..log import get_logger
from ..media.alignment import shift
from ..messages import VideoFrame
from .cache import FrameRecord
from .channel import Utterance
from .emitter import Emitter

if TYPE_CHECKING:
    from .registry import AvatarRegistry
    from .runner import AudioSegment

log = get_logger(__name__)
SNAPSHOT_INTERVAL_S = 0.5


def frame_span(start_sample: int, n_samples: int, sample_rate: int, fps: float) -> tuple[int, int]:
    """(first frame, frame count) of a chunk on the utterance's sample clock."""
    first = round(start_sample * fps / sample_rate)
    last = round((start_sample + n_samples) * fps / sample_rate)
    return first, last - first


class FrameStage:
    def __init__(self, channel: str, emitter: Emitter, avatars: AvatarRegistry | None,
                 workers: int = 2, max_lead_s: float = 0.0):  # fmt: skip
        self.channel = channel
        self.max_lead_s = max_lead_s
        self.emitter = emitter
        self.avatars = avatars
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix=f"jpeg-{channel}")
        self._last_snapshot = 0.0

    def render(self, seg: AudioSegment) -> None:
        """Publish the frames of one audio segment (nothing if cancelled or no avatar)."""
        utt = seg.utt
        if self.avatars is None or self.avatars.engine is None or utt.cancel.is_set():
            return
        try:
            avatar = self.avatars.get(utt.avatar)
        except Exception as exc:
            log.warning("no frames: avatar unavailable", error=str(exc))
            return
        from ..media.jpeg import encode_jpeg

        fps = float(avatar.fps)
        first, count = frame_span(seg.start_sample, seg.audio.size, seg.sample_rate, fps)
        quality = int(avatar.jpeg_quality)
        pending: deque[tuple[int, Future[bytes], np.ndarray | None]] = deque()
        t0 = time.perf_counter()
        produced = 0
        if count <= 0:
            if seg.final:  # a closing frame so the display sees `final`
                idle = avatar.idle_frame
                pending.append((first, self._pool.submit(encode_jpeg, idle, quality), idle))
        else:
            engine = self.avatars.engine
            phones = None
            if seg.phones is not None:  # segment clock → the render call's frame clock
                offset = seg.start_sample * 1000.0 / seg.sample_rate - first * 1000.0 / fps
                phones = shift(seg.phones, offset)
            batches = engine.render(avatar, seg.audio, seg.sample_rate, first, count, phones)
            for batch in batches:
                if utt.cancel.is_set():
                    return
                for img in batch:
                    fut = self._pool.submit(encode_jpeg, img, quality)
                    pending.append((first + produced, fut, img))
                    produced += 1
                # Publish what was encoded while this batch rendered.
                while len(pending) > len(batch):
                    self._publish(seg, avatar, fps, first + count, *pending.popleft())
            if produced:
                self.emitter.status[self.channel].metrics.lipsync_fps = produced / max(
                    time.perf_counter() - t0, 1e-6
                )
        last = first + max(count, 1)
        while pending:
            if utt.cancel.is_set():
                return
            self._publish(seg, avatar, fps, last, *pending.popleft())

    def _publish(self, seg: AudioSegment, avatar: Any, fps: float, end: int, seq: int,
                 fut: Future[bytes], img: np.ndarray | None) -> None:  # fmt: skip
        utt = seg.utt
        if utt.cancel.is_set():
            return
        jpeg = fut.result()
        h, w = (img.shape[:2]) if img is not None else (avatar.height, avatar.width)
        b64 = base64.b64encode(jpeg).decode("ascii")
        pts = round(seq * 1000.0 / fps, 3)
        if utt.recording is not None:
            utt.recording.frame(seq, pts, int(w), int(h), b64)
        self._send(utt, VideoFrame(id=utt.id, seq=seq, pts_ms=pts, width=int(w), height=int(h),
                                   jpeg=b64, final=seg.final and seq == end - 1), jpeg)  # fmt: skip

    def replay(self, utt: Utterance, frames: tuple[FrameRecord, ...], final: bool) -> None:
        """Publish frames recorded by the phrase cache under ``utt``'s id."""
        for i, (seq, pts, w, h, b64) in enumerate(frames):
            if utt.cancel.is_set():
                return
            msg = VideoFrame(id=utt.id, seq=seq, pts_ms=pts, width=w, height=h, jpeg=b64,
                             final=final and i == len(frames) - 1)  # fmt: skip
            self._send(utt, msg, None)

    def _send(self, utt: Utterance, frame: VideoFrame, jpeg: bytes | None) -> None:
        if self.max_lead_s > 0 and utt.clock_start is not None:
            # Stay at most max_lead_s ahead of the playback clock: a display's queue (and the
            # broker's queue to it) stays short, so a stop reaches it at once.
            delay = utt.clock_start + frame.pts_ms / 1000 - self.max_lead_s - time.monotonic()
            if delay > 0 and utt.cancel.wait(delay):
                return
        self.emitter.frame(self.channel, frame)
        if frame.seq == 0:
            metrics = self.emitter.status[self.channel].metrics
            metrics.first_frame_ms = (time.monotonic() - utt.received) * 1000
        now = time.monotonic()
        if now - self._last_snapshot >= SNAPSHOT_INTERVAL_S:
            self._last_snapshot = now
            self.emitter.snapshot(self.channel, jpeg or base64.b64decode(frame.jpeg))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

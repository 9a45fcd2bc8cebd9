"""The video stage of a channel: lip sync each audio segment, JPEG-encode, send frames on time.

Frame numbers come from the utterance's sample clock (:mod:`.clock`), so the frames of consecutive
chunks never drift. JPEG encoding of batch k (on the node's one :class:`JpegPool`) overlaps the
rendering of batch k+1, and frames go out at most ``max_lead_s`` ahead of the playback clock.
"""

from __future__ import annotations

import time
from collections import deque
from concurrent.futures import Future

import numpy as np

from ..log import get_logger
from ..media.alignment import shift
from ..media.jpeg import JpegPool
from ..models import AvatarRegistry
from .backlog import VideoBacklog
from .channel import Utterance
from .clock import frame_span, pts_ms
from .idle import Lives
from .items import AudioSegment, CachedSegment, FrameOut
from .sink import Outlets
from .status import ChannelStatus

log = get_logger(__name__)


class VideoStage:
    def __init__(
        self,
        channel: str,
        outlets: Outlets,
        status: ChannelStatus,
        avatars: AvatarRegistry | None,
        jpeg: JpegPool,
        max_lead_s: float = 0.0,
        lives: Lives | None = None,
        backlog: VideoBacklog | None = None,
    ):
        self.channel = channel
        self.backlog = backlog if backlog is not None else VideoBacklog()
        self.lives = lives
        """Blinks and idle motion, shared with the idle animator (one blink schedule)."""
        self.outlets = outlets
        self.status = status
        self.avatars = avatars
        self.jpeg = jpeg
        self.max_lead_s = max_lead_s

    def render(self, seg: AudioSegment) -> None:
        """Send the frames of one audio segment (nothing if cancelled or no avatar)."""
        utt = seg.utt
        if self.avatars is None or self.avatars.engine is None or utt.cancel.is_set():
            return
        try:
            avatar = self.avatars.get(utt.avatar)
        except Exception as exc:
            log.warning("no frames: avatar unavailable", error=str(exc))
            return
        fps = float(avatar.fps)
        first, count = frame_span(seg.start_sample, seg.audio.size, seg.sample_rate, fps)
        end = first + max(count, 1)
        pending: deque[tuple[FrameOut, Future[bytes]]] = deque()

        life = self.lives.get(self.channel, avatar) if self.lives is not None else None
        clock = utt.clock_start if utt.clock_start is not None else time.monotonic()

        def queue(batch: np.ndarray, start: int) -> None:
            h, w = batch.shape[1:3]
            if life is not None:  # blinks go on while the avatar speaks (life's clock)
                batch = np.stack(
                    [
                        life.apply(img, clock + (start + i) / fps, start + i)
                        for i, img in enumerate(batch)
                    ]
                )
            for i, fut in enumerate(self.jpeg.submit_each(batch, avatar.jpeg_quality)):
                seq = start + i
                frame = FrameOut(
                    self.channel,
                    utt.id,
                    seq,
                    pts_ms(seq, fps),
                    int(w),
                    int(h),
                    seg.final and seq == end - 1,
                )
                pending.append((frame, fut))

        if count <= 0:
            if seg.final:  # a closing frame so the display sees `final`
                queue(avatar.idle_frame[None], first)
        else:
            phones = None
            if seg.phones is not None:  # segment clock → the render call's frame clock
                phones = shift(
                    seg.phones, seg.start_sample * 1000.0 / seg.sample_rate - first * 1000.0 / fps
                )
            t0, produced = time.perf_counter(), 0
            engine = self.avatars.engine
            batches = engine.render(avatar, seg.audio, seg.sample_rate, first, count, phones)
            for n, batch in enumerate(batches):
                if utt.cancel.is_set():
                    return
                queue(batch, first + produced)
                produced += len(batch)
                # A display waits for a segment's first frames: the first batch goes out as soon
                # as it is encoded, later ones while the next batch renders.
                while len(pending) > (len(batch) if n else 0):
                    if not self._encoded(utt, *pending.popleft()):
                        return
            self.status.metrics.lipsync_fps = produced / max(time.perf_counter() - t0, 1e-6)
        while pending:
            if not self._encoded(utt, *pending.popleft()):
                return

    def _encoded(self, utt: Utterance, frame: FrameOut, fut: Future[bytes]) -> bool:
        if utt.cancel.is_set():
            return False
        jpeg = fut.result()
        if utt.recording is not None:
            utt.recording.frame(frame, jpeg)
        return self._send(utt, frame, jpeg)

    def replay(self, item: CachedSegment) -> None:
        """Send frames recorded by the phrase cache under the utterance's id."""
        utt, frames = item.utt, item.chunk.frames
        for i, (rec, jpeg) in enumerate(frames):
            frame = FrameOut(
                self.channel,
                utt.id,
                rec.seq,
                rec.pts_ms,
                rec.width,
                rec.height,
                item.final and i == len(frames) - 1,
            )
            if not self._send(utt, frame, jpeg):
                return

    def _send(self, utt: Utterance, frame: FrameOut, jpeg: bytes) -> bool:
        """Send one frame on time; False once the utterance is cancelled."""
        if utt.cancel.is_set():
            return False
        if self.max_lead_s > 0 and utt.clock_start is not None:
            # Stay at most max_lead_s ahead of the playback clock: a display's queue (and the
            # broker's queue to it) stays short, so a stop reaches it at once.
            delay = utt.clock_start + frame.pts_ms / 1000 - self.max_lead_s - time.monotonic()
            if delay > 0:
                with self.backlog.pacing():
                    if utt.cancel.wait(delay):
                        return False
        self.outlets.frame(frame, jpeg, utt.sinks)
        if frame.seq == 0:
            self.status.metrics.first_frame_ms = (time.monotonic() - utt.received) * 1000
        return True

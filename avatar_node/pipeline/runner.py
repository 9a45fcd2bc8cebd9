"""A channel's two threads: the sound stage and the video stage, with a bounded queue between.

Within an utterance, the sound stage lets the video stage draw what it handed over before it
vocodes more (:mod:`.backlog`: on two cores the next decode would starve the first frames). Across
utterances there is exactly one in flight: the next one starts after the previous one's end event.
So the utterance named by ``state.current`` is the one being spoken *and* shown, and ``stop``,
``interrupt`` and ``replace`` all act on it alone; everything behind it is still queued.
"""

from __future__ import annotations

import queue
import threading

import structlog

from ..log import get_logger
from ..media.jpeg import JpegPool
from ..memory import release_memory
from ..models import AvatarRegistry, VoiceRegistry
from .backlog import VideoBacklog
from .cache import PhraseCache
from .channel import ChannelQueue, Utterance
from .idle import Lives
from .items import AudioSegment, CachedSegment, EndType, EventKind, Mode, Segment, UtteranceEnd
from .sink import Outlets
from .status import ChannelStatus
from .tts_stage import SpeechStage
from .video_stage import VideoStage

log = get_logger(__name__)


class ChannelRunner:
    """Owns a channel's queue, its status and its sound and video threads."""

    def __init__(
        self,
        name: str,
        queue_: ChannelQueue,
        outlets: Outlets,
        status: ChannelStatus,
        voices: VoiceRegistry,
        avatars: AvatarRegistry | None,
        jpeg: JpegPool,
        *,
        sample_format: str = "pcm_s16le",
        cache: PhraseCache | None = None,
        frame_lead_s: float = 0.0,
        lives: Lives | None = None,
    ):
        self.name = name
        self.queue = queue_
        self.outlets = outlets
        self.status = status
        self.cache = cache if cache is not None and cache.enabled else None
        engine = avatars.engine if avatars is not None else None
        self.backlog = VideoBacklog()
        self.speech = SpeechStage(
            name,
            outlets,
            status,
            voices,
            self._handoff_put,
            sample_format,
            self.cache,
            engine.name if engine is not None else "noframes",
            self.backlog,
        )
        self.video = VideoStage(
            name, outlets, status, avatars, jpeg, frame_lead_s, lives, self.backlog
        )
        self._handoff: queue.Queue[Segment] = queue.Queue(maxsize=4)
        self._current: Utterance | None = None
        self._lock = threading.Lock()
        status.current_id = self._current_id
        self._idle = threading.Event()
        self._idle.set()
        self._stopping = threading.Event()
        self._threads = [
            threading.Thread(target=self._sound_loop, name=f"tts-{name}", daemon=True),
            threading.Thread(target=self._video_loop, name=f"video-{name}", daemon=True),
        ]

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self.queue.close()
        self.cancel_current(None)
        for t in self._threads:
            t.join(timeout)

    @property
    def current(self) -> Utterance | None:
        return self._current

    def _current_id(self) -> str | None:
        utt = self._current
        return None if utt is None else utt.id

    # ---------------------------------------------------------------- control

    def submit(self, utt: Utterance) -> None:
        """Queue ``utt``; ``interrupt``/``replace`` also cut short the one being shown."""
        self.queue.submit(utt)
        if utt.mode in (Mode.INTERRUPT, Mode.REPLACE):
            self.cancel_current(None, spare=utt)

    def cancel_current(self, utt_id: str | None, spare: Utterance | None = None) -> bool:
        """Cancel the utterance in flight (if ``utt_id`` is None or names it)."""
        with self._lock:
            utt = self._current
        if utt is None or utt is spare or (utt_id is not None and utt.id != utt_id):
            return False
        utt.stop_input()
        return True

    # ---------------------------------------------------------------- threads

    def _handoff_put(self, item: Segment) -> None:
        if isinstance(item, AudioSegment):
            self.backlog.added()
        self._handoff.put(item)

    def _sound_loop(self) -> None:
        while not self._stopping.is_set():
            if not self._idle.wait(0.5):
                continue
            utt = self.queue.take(timeout=0.5)
            if utt is None:
                continue
            self._idle.clear()
            with self._lock:
                self._current = utt
            with structlog.contextvars.bound_contextvars(utterance=utt.id, channel=self.name):
                end = self.speech.speak(utt)
            self.queue.done(utt)
            self._handoff.put(end)

    def _video_loop(self) -> None:
        while not (self._stopping.is_set() and self._handoff.empty()):
            try:
                item = self._handoff.get(timeout=0.5)
            except queue.Empty:
                continue
            with structlog.contextvars.bound_contextvars(utterance=item.utt.id, channel=self.name):
                if isinstance(item, AudioSegment):
                    try:
                        self.video.render(item)
                    finally:
                        self.backlog.drawn()
                elif isinstance(item, CachedSegment):
                    self.video.replay(item)
                else:
                    self._end(item)

    def _end(self, end: UtteranceEnd) -> None:
        utt = end.utt
        if end.type is EndType.FINISHED and utt.cancel.is_set():
            end = UtteranceEnd(utt, EndType.CANCELLED)  # stopped while its last frames went out
        metrics = self.status.metrics
        if end.type is EndType.FINISHED:
            metrics.utterances += 1
            if self.cache is not None and utt.recording is not None and utt.cache_key:
                self.cache.put(utt.cache_key, utt.recording.freeze())
        elif end.type is EndType.ERROR:
            metrics.errors += 1
        if end.type is not EndType.FINISHED:
            # A display stops what was cut short at once, even one whose speech was all made
            # (its frames were still going out): the next one's clock starts now, not after it.
            self.speech.clock_floor = 0.0
        utt.recording = None
        release_memory()
        with self._lock:
            self._current = None
        # State first: a display that sees the end event finds the channel idle already.
        self.outlets.state(self.status.view())
        self.outlets.event(
            utt.event(EventKind(end.type.value), end.code, end.message, end.detail), utt.sinks
        )
        for hook in utt.on_end:
            try:
                hook(utt, end.type.value)
            except Exception:
                log.exception("on_end hook failed")
        self._idle.set()

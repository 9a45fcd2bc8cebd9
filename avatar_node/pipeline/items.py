"""What flows through the pipeline: commands in, media and events out (plain data, no wire).

Doors (MQTT, Wyoming, Hermes, a test) turn their protocol into a :class:`SayCommand` or a
:class:`PlayCommand` and get the results back through a :class:`~.sink.PipelineSink` as the
dataclasses below. Nothing here knows JSON, base64 or topics; audio and frames travel as bytes.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ..media.alignment import Phone

if TYPE_CHECKING:
    from .cache import CachedChunk
    from .channel import Utterance
    from .sink import PipelineSink


class Mode(str, Enum):
    """How a request enters its channel's queue."""

    QUEUE = "queue"
    INTERRUPT = "interrupt"
    REPLACE = "replace"


class EndType(str, Enum):
    """How an utterance ended; exactly one of these closes every accepted request."""

    FINISHED = "finished"
    CANCELLED = "cancelled"
    ERROR = "error"


class EventKind(str, Enum):
    """Every event type of the contract."""

    QUEUED = "queued"
    STARTED = "started"
    SENTENCE = "sentence"
    FINISHED = "finished"
    CANCELLED = "cancelled"
    ERROR = "error"
    REJECTED = "rejected"


END_KINDS: frozenset[EventKind] = frozenset(
    {EventKind.FINISHED, EventKind.CANCELLED, EventKind.ERROR}
)


@dataclass(frozen=True)
class Request:
    """What every command carries besides its content."""

    channel: str
    id: str
    voice: str | None = None
    avatar: str | None = None
    speaker: str | int | None = None
    language: str | None = None
    speed: float = 1.0
    mode: Mode = Mode.QUEUE
    priority: int = 5
    meta: dict[str, Any] | None = None
    gain: float = 1.0
    """Linear gain applied to synthesized audio (Hermes ``volume``)."""
    sinks: tuple[PipelineSink, ...] = ()
    """Extra sinks that get this utterance's events and media besides the channel's own."""


@dataclass(frozen=True)
class SayCommand(Request):
    """Speak ``text`` (already cleaned and checked by the door), or a stream when ``streaming``."""

    text: str = ""
    streaming: bool = False
    idle_timeout_s: float | None = None
    """A stream whose text stops for this long ends (None: ``node.stream_idle_timeout_s``)."""


@dataclass(frozen=True)
class AudioPiece:
    """A piece of ready-made audio: float mono for lip sync, ``wav`` to re-publish unchanged."""

    audio: np.ndarray
    """float32 mono at ``sample_rate``."""
    sample_rate: int
    wav: bytes
    """A complete RIFF/WAVE file of the same sound in its own format (may be stereo)."""
    channels: int = 1
    sample_format: str = "pcm_s16le"
    text: str = ""


class AudioSource(Protocol):
    """Audio a door hands in (``play``, ``play/stream``, Wyoming ``snd``/upstream)."""

    text: str
    """Spoken-text metadata (may be empty)."""

    def next(self, cancelled: threading.Event) -> AudioPiece | None:
        """The next piece, blocking; None when the audio has ended (or on cancel/timeout)."""
        ...

    def finish(self) -> None:
        """No more audio will come (stop / cancel)."""
        ...


@dataclass(frozen=True)
class PlayCommand(Request):
    """Lip-sync audio the door supplies; the pipeline synthesizes nothing."""

    audio: AudioSource | None = None


@dataclass(frozen=True)
class AudioOut:
    """One audio chunk on the utterance clock, as the contract's ``AudioChunk`` describes it."""

    channel: str
    id: str
    seq: int
    text: str
    start_ms: float
    duration_ms: float
    sample_rate: int
    sample_format: str
    channels: int
    final: bool
    alignment: tuple[Phone, ...] | None
    """Phones on the utterance clock; None when the audio has no known alignment."""
    meta: dict[str, Any] | None = None
    sentence_end: bool = True
    """The last chunk of its sentence: false on the first windows of a sentence that is
    streamed in pieces (a Wyoming stream answers one audio block per sentence)."""


@dataclass(frozen=True)
class FrameOut:
    """One video frame: ``pts_ms = seq·1000/fps`` on the audio clock."""

    channel: str
    id: str
    seq: int
    pts_ms: float
    width: int
    height: int
    final: bool


@dataclass(frozen=True)
class PipelineEvent:
    """A lifecycle event of one request (or of a payload a door rejected without an id)."""

    channel: str
    kind: EventKind
    id: str | None
    code: str | None = None
    message: str | None = None
    meta: dict[str, Any] | None = None
    detail: dict[str, Any] | None = None


@dataclass(frozen=True)
class AvatarOut:
    """A channel's avatar as displays need it (retained on MQTT)."""

    channel: str
    name: str
    width: int
    height: int
    fps: float
    lipsync: str
    face: tuple[int, int, int, int] | None


@dataclass
class ChannelMetrics:
    """Figures of a channel's last utterance plus counters since start."""

    first_audio_ms: float | None = None
    first_frame_ms: float | None = None
    lipsync_fps: float | None = None
    rtf: float | None = None
    utterances: int = 0
    errors: int = 0
    cache_hits: int = 0
    cache_misses: int = 0


@dataclass(frozen=True)
class ChannelView:
    """A channel's state as displays see it (retained on MQTT)."""

    channel: str
    speaking: bool
    current: str | None
    queued: int
    voices: Sequence[str]
    avatars: Sequence[str]
    fps: float
    metrics: ChannelMetrics = field(default_factory=ChannelMetrics)
    """A copy, taken with the rest of the view."""


# ---------------------------------------------------------------- between the stages


@dataclass(frozen=True)
class AudioSegment:
    """One chunk of an utterance's sound on its sample clock, handed to the video stage."""

    utt: Utterance
    seq: int
    audio: np.ndarray
    """float32 mono: what the lip-sync engine hears."""
    sample_rate: int
    start_sample: int
    final: bool
    phones: tuple[Phone, ...] | None = None
    """Alignment on the segment's own clock (ms from its first sample), when known."""


@dataclass(frozen=True)
class CachedSegment:
    """A chunk replayed from the phrase cache: its frames go out as they were rendered."""

    utt: Utterance
    chunk: CachedChunk
    final: bool


@dataclass(frozen=True)
class UtteranceEnd:
    """The last item of an utterance: the video stage sends its end event after its frames."""

    utt: Utterance
    type: EndType
    code: str | None = None
    message: str | None = None
    detail: dict[str, object] | None = None


Segment = AudioSegment | CachedSegment | UtteranceEnd

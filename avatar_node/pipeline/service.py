"""The pipeline as the doors see it: commands in, sinks out, one runner per channel.

Every door (the MQTT adapter, Hermes, Home Assistant, Wyoming, a test) calls :meth:`Pipeline.submit`
with a :class:`SayCommand` or :class:`PlayCommand` and hears back through its
:class:`~.sink.PipelineSink`. A command that cannot be served raises an
:class:`~avatar_node.errors.AvatarError` before anything is queued; the door answers with
:meth:`Pipeline.reject`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from functools import partial

from ..errors import AvatarError, BadRequest, ConfigError, TextTooLong, UnknownAvatar
from ..log import get_logger
from ..media.jpeg import JpegPool
from ..models import AvatarRegistry, VoiceRegistry
from ..settings import Settings
from .cache import PhraseCache
from .channel import ChannelQueue, SentenceSource, Utterance
from .faces import ChannelFaces
from .items import EventKind, PipelineEvent, PlayCommand, SayCommand
from .runner import ChannelRunner
from .sink import Outlets, PipelineSink
from .status import ChannelStatus

log = get_logger(__name__)

ENDED_IDS_KEPT = 4096
"""How many ended stream ids each channel remembers (a late delta for one is rejected)."""


class Pipeline:
    """Channels, their runners and the registries they share."""

    def __init__(self, settings: Settings, voices: VoiceRegistry, avatars: AvatarRegistry | None):
        self.settings = settings
        self.voices = voices
        self.avatars = avatars
        self.outlets = Outlets()
        self.jpeg = JpegPool(workers=2)
        self.cache = PhraseCache(int(settings.node.phrase_cache_mb * 1024 * 1024))
        self.runners: dict[str, ChannelRunner] = {}
        self.faces = ChannelFaces(settings, avatars, self.outlets, self.is_speaking)
        self.channel_avatar = self.faces.channel_avatar
        """The avatar each channel shows by default (changeable at run time, e.g. from HA)."""
        self._streams: dict[tuple[str, str], Utterance] = {}
        self._ended: dict[str, OrderedDict[str, None]] = {c: OrderedDict() for c in self.channels}
        # Re-entrant: a replace cancels queued streams, whose end hook takes it again.
        self._lock = threading.RLock()

    @property
    def channels(self) -> list[str]:
        return list(self.settings.node.channels)

    def add_sink(self, sink: PipelineSink) -> None:
        self.outlets.add(sink)

    def build(self) -> None:
        """Create the channel runners (after the registries are loaded)."""
        n = self.settings.node
        if n.default_voice in self.voices.failures:
            raise ConfigError(
                f"default voice {n.default_voice!r} cannot load: "
                f"{self.voices.failures[n.default_voice]}"
            )
        fps = float(self.settings.avatars[n.default_avatar].fps)
        for name in n.channels:
            q = ChannelQueue(
                name, n.queue_depth, on_cancelled=self._cancelled_in_queue, on_queued=self._queued
            )
            status = ChannelStatus(
                name, self.voices.names, self.avatars.names if self.avatars else [], fps, q.__len__
            )
            self.runners[name] = ChannelRunner(
                name,
                q,
                self.outlets,
                status,
                self.voices,
                self.avatars,
                self.jpeg,
                sample_format=n.sample_format,
                cache=self.cache,
                frame_lead_s=n.frame_lead_s,
                lives=self.faces.lives,
            )

    def start(self) -> None:
        for runner in self.runners.values():
            runner.start()
        self.faces.start()

    def close(self) -> None:
        self.faces.stop()
        for runner in self.runners.values():
            runner.stop()
        self.jpeg.close()

    # ---------------------------------------------------------------- commands

    def submit(self, cmd: SayCommand | PlayCommand) -> Utterance:
        """Queue a command; raises AvatarError (nothing queued) when it cannot be served."""
        if isinstance(cmd, SayCommand) and cmd.streaming:
            return self.push(cmd, final=False)
        utt = self._utterance(cmd)
        self._runner(cmd.channel).submit(utt)
        return utt

    def push(self, cmd: SayCommand, final: bool) -> Utterance:
        """Add ``cmd.text`` to the stream ``cmd.id`` (its first delta starts the utterance)."""
        n = self.settings.node
        key = (cmd.channel, cmd.id)
        with self._lock:
            if cmd.id in self._ended.get(cmd.channel, {}):
                raise BadRequest(f"stream {cmd.id}: id already ended")
            utt = self._streams.get(key)
            if utt is not None and utt.cancel.is_set():
                raise BadRequest(f"stream {cmd.id}: id already ended (stopped)")
            if utt is None:
                if not cmd.text.strip() and final:
                    raise BadRequest("stream ended without any text")
                utt = self._utterance(cmd)
                utt.on_end.append(partial(self._forget_stream, key))
                self._streams[key] = utt
                try:
                    self._runner(cmd.channel).submit(utt)
                except AvatarError:
                    self._streams.pop(key, None)
                    raise
            room = n.max_text_chars - len(utt.source.text)
            if len(cmd.text) > room:
                utt.source.push(cmd.text[: max(room, 0)], final=True)
                raise TextTooLong(
                    f"stream {cmd.id} exceeds max_text_chars {n.max_text_chars}; "
                    "the text up to the limit is spoken"
                )
        utt.source.push(cmd.text, final)
        if final:
            self._remember_ended(cmd.channel, cmd.id)
        return utt

    def stop(self, channel: str, utt_id: str | None) -> bool:
        """Cancel ``utt_id`` (queued or in flight) or, without an id, the one in flight."""
        runner = self._runner(channel)
        stopped = runner.queue.stop(utt_id)
        stopped = runner.cancel_current(utt_id) or stopped
        if utt_id is not None:
            self._remember_ended(channel, utt_id)
        self.publish_state(channel)
        return stopped

    def clear(self, channel: str) -> int:
        dropped = self._runner(channel).queue.clear()
        self.publish_state(channel)
        return dropped

    def reject(
        self,
        channel: str,
        utt_id: str | None,
        exc: AvatarError,
        sinks: tuple[PipelineSink, ...] = (),
    ) -> None:
        """Answer a request that was not accepted with a ``rejected`` event."""
        if channel in self.runners:
            self.runners[channel].status.metrics.errors += 1
        self.outlets.event(
            PipelineEvent(channel, EventKind.REJECTED, utt_id, exc.code, exc.message), sinks
        )

    # ---------------------------------------------------------------- avatars and state

    def set_channel_avatar(self, channel: str, avatar: str) -> None:
        """Switch a channel's default avatar; announces it to the sinks."""
        self.faces.set(channel, avatar)

    def idle_jpeg(self, channel: str) -> bytes | None:
        """The resting frame the channel shows now (None without avatars)."""
        return self.faces.idle_jpeg(channel)

    def announce(self) -> None:
        """Tell the sinks every channel's state and avatar (on (re)connect)."""
        for name in self.runners:
            self.publish_state(name)
            self.faces.publish(name)

    def publish_state(self, channel: str) -> None:
        self.outlets.state(self._runner(channel).status.view())

    def is_speaking(self, channel: str) -> bool:
        runner = self.runners.get(channel)
        return runner is None or runner.current is not None

    # ---------------------------------------------------------------- internals

    def _runner(self, channel: str) -> ChannelRunner:
        runner = self.runners.get(channel)
        if runner is None:
            raise BadRequest(f"unknown channel {channel!r}; configured: {', '.join(self.runners)}")
        return runner

    def _utterance(self, cmd: SayCommand | PlayCommand) -> Utterance:
        n = self.settings.node
        voice = cmd.voice or n.default_voice
        avatar = cmd.avatar or self.channel_avatar[cmd.channel]
        self.voices.check_request(voice, cmd.speaker)
        if avatar not in self.settings.avatars:
            names = ", ".join(self.settings.avatars)
            raise UnknownAvatar(f"unknown avatar {avatar!r}; configured: {names}")
        if isinstance(cmd, PlayCommand):
            source = SentenceSource(cmd.audio.text if cmd.audio is not None else "")
        elif cmd.streaming:
            source = SentenceSource(
                streaming=True,
                max_chars=n.sentence_max_chars,
                first_max_chars=n.first_chunk_max_chars,
                idle_timeout_s=cmd.idle_timeout_s or n.stream_idle_timeout_s,
            )
        else:
            source = SentenceSource(
                cmd.text, max_chars=n.sentence_max_chars, first_max_chars=n.first_chunk_max_chars
            )
        return Utterance(
            id=cmd.id,
            channel=cmd.channel,
            source=source,
            voice=voice,
            avatar=avatar,
            speaker=cmd.speaker,
            language=cmd.language,
            speed=cmd.speed,
            mode=cmd.mode,
            priority=cmd.priority,
            meta=cmd.meta,
            gain=cmd.gain,
            sinks=cmd.sinks,
            audio=cmd.audio if isinstance(cmd, PlayCommand) else None,
        )

    def _remember_ended(self, channel: str, utt_id: str) -> None:
        with self._lock:
            ended = self._ended.setdefault(channel, OrderedDict())
            ended[utt_id] = None
            ended.move_to_end(utt_id)
            while len(ended) > ENDED_IDS_KEPT:
                ended.popitem(last=False)

    def _forget_stream(self, key: tuple[str, str], utt: Utterance, _end: str) -> None:
        with self._lock:
            if self._streams.get(key) is utt:
                del self._streams[key]
        self._remember_ended(*key)

    def _queued(self, utt: Utterance) -> None:
        self.outlets.event(utt.event(EventKind.QUEUED), utt.sinks)

    def _cancelled_in_queue(self, utt: Utterance) -> None:
        """A queued (never started) utterance was dropped: it still ends with `cancelled`."""
        utt.stop_input()
        self.outlets.event(utt.event(EventKind.CANCELLED, detail={"while": "queued"}), utt.sinks)
        for hook in utt.on_end:
            hook(utt, "cancelled")

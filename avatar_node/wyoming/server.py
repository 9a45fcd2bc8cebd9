"""The Wyoming door: a TCP server on the ``wyoming`` package, one handler per connection.

A connection may ``describe``, ask for speech (``synthesize`` or a stream) or send audio to show
(``snd``). Requests become pipeline commands; their answers come back through a sink. A client
that disconnects cancels its utterance; a failure is answered with a Wyoming ``error`` and the
connection is closed (Home Assistant waits for audio until then).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.event import Event
from wyoming.info import Describe
from wyoming.server import AsyncEventHandler
from wyoming.tts import (
    Synthesize,
    SynthesizeChunk,
    SynthesizeStart,
    SynthesizeStop,
    SynthesizeVoice,
)

from ..errors import AvatarError, ConfigError
from ..log import get_logger
from ..wire.parse import check_text
from .bridge import WyomingPipeline
from .info import build_info, tts_program
from .settings import WyomingSettings
from .snd import Playback
from .speak import Speech, send_error
from .upstream import Relay, upstream_info

if TYPE_CHECKING:
    from ..settings import NodeSettings

log = get_logger(__name__)


class Door:
    """What every connection shares: the pipeline and the settings."""

    def __init__(
        self,
        pipeline: WyomingPipeline,
        settings: WyomingSettings,
        *,
        default_voice: str = "default",
        max_text_chars: int = 10000,
    ):
        self.pipeline = pipeline
        self.settings = settings
        self.default_voice = default_voice
        self.max_text_chars = max_text_chars


class Handler(AsyncEventHandler):
    """One client connection. ``tts``: serve TTS requests (False on a ``snd``-only port)."""

    def __init__(self, door: Door, tts: bool, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.door = door
        self.tts = tts
        self.request: Speech | Relay | None = None
        self.task: asyncio.Task[None] | None = None
        self.playback: Playback | None = None
        self.stream_open = False
        """Between synthesize-start and synthesize-stop."""

    async def handle_event(self, event: Event) -> bool:
        try:
            return await self._dispatch(event)
        except AvatarError as exc:
            log.info("wyoming request failed", code=exc.code, error=exc.message)
            self._cancel()
            await send_error(self.write_event, exc)
            return False

    async def _dispatch(self, event: Event) -> bool:
        if Describe.is_type(event.type):
            await self.write_event(await self._info())
            return True
        if AudioStart.is_type(event.type):
            self.playback = Playback(self.door.pipeline, self.door.settings, self.write_event)
            await self.playback.start(AudioStart.from_event(event))
        elif AudioChunk.is_type(event.type):
            if self.playback is not None:
                self.playback.chunk(AudioChunk.from_event(event))
        elif AudioStop.is_type(event.type):
            if self.playback is not None:
                await self.playback.stop()
                self.playback = None
        elif self.tts:
            await self._tts(event)
        return True

    async def _info(self) -> Event:
        settings = self.door.settings
        if not self.tts:
            return build_info([], snd=True).event()
        if settings.upstream_tts:
            info = await upstream_info(settings)
            return build_info(info.tts, snd=True).event()
        return build_info([tts_program(self.door.pipeline.voices)], snd=True).event()

    async def _tts(self, event: Event) -> None:
        streaming = self.stream_open and self.request is not None
        if Synthesize.is_type(event.type):
            if streaming:
                # Home Assistant sends the whole text again inside a stream, for old servers.
                if isinstance(self.request, Relay):
                    await self.request.forward(event)
                return
            await self._finish_previous()
            syn = Synthesize.from_event(event)
            await self._open(
                False, syn.voice, check_text(syn.text, self.door.max_text_chars), event
            )
        elif SynthesizeStart.is_type(event.type):
            await self._finish_previous()
            await self._open(True, SynthesizeStart.from_event(event).voice, "", event)
            self.stream_open = True
        elif SynthesizeChunk.is_type(event.type) and self.request is not None and streaming:
            if isinstance(self.request, Relay):
                await self.request.forward(event)
            else:
                self.request.push(SynthesizeChunk.from_event(event).text)
        elif SynthesizeStop.is_type(event.type) and self.request is not None and streaming:
            if isinstance(self.request, Relay):
                await self.request.forward(event)
            else:
                self.request.push("", final=True)
            self.stream_open = False  # the answer goes on in its task; a new request waits

    async def _open(
        self, streaming: bool, voice: SynthesizeVoice | None, text: str, event: Event
    ) -> None:
        door = self.door
        if door.settings.upstream_tts:
            relay = Relay(door.pipeline, door.settings, self.write_event, streaming=streaming)
            self.request = relay
            await relay.open(text)
            await relay.forward(event)
            self.task = asyncio.create_task(self._guard(relay.run()))
            return
        speech = Speech(
            door.pipeline,
            door.settings,
            self.write_event,
            streaming=streaming,
            voice=voice,
            default_voice=door.default_voice,
        )
        speech.submit(text)
        self.request = speech
        self.task = asyncio.create_task(self._guard(speech.run()))

    async def _guard(self, answer: Awaitable[None]) -> None:
        """Run an answer; a failure becomes an ``error`` and closes the connection (Home
        Assistant waits for ``audio-stop`` / ``synthesize-stopped`` until it closes)."""
        try:
            await answer
            if self.request is not None and self.request.failed:
                await self.stop()
        except AvatarError as exc:
            self._cancel()
            with contextlib.suppress(OSError):
                await send_error(self.write_event, exc)
            await self.stop()
        except (OSError, ConnectionError):
            self._cancel()  # the client is gone

    async def _finish_previous(self) -> None:
        """One request at a time per connection: wait for the previous answer to be sent."""
        if self.task is not None:
            await self.task
            self.task = None
            self.request = None

    def _cancel(self) -> None:
        if self.request is not None:
            self.request.cancel()
        if self.playback is not None:
            self.playback.cancel()

    async def disconnect(self) -> None:
        """The client closed the connection: cancel whatever it was waiting for."""
        self._cancel()
        if self.task is not None and not self.task.done():
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task


class WyomingServer:
    """Runs the door on its own thread and event loop; ``start()`` returns once it listens."""

    def __init__(self, door: Door):
        self.door = door
        self.loop: asyncio.AbstractEventLoop | None = None
        self.port: int | None = None
        """The TTS (+ snd) port actually bound."""
        self.snd_port: int | None = None
        self._servers: list[asyncio.Server] = []
        self._handlers: set[asyncio.Task[None]] = set()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self, timeout: float = 10.0) -> None:
        self._thread = threading.Thread(target=self._run, name="wyoming", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the Wyoming server did not start")
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        self.loop = asyncio.new_event_loop()
        try:
            self.loop.run_until_complete(self._listen())
        except BaseException as exc:  # e.g. the port is taken
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()

    async def _listen(self) -> None:
        s = self.door.settings
        main = await asyncio.start_server(self._client(tts=True), s.host, s.port)
        self._servers.append(main)
        self.port = main.sockets[0].getsockname()[1]
        if s.snd_port is not None:
            snd = await asyncio.start_server(self._client(tts=False), s.host, s.snd_port)
            self._servers.append(snd)
            self.snd_port = snd.sockets[0].getsockname()[1]
        log.info(
            "wyoming server listening",
            host=s.host,
            port=self.port,
            snd_port=self.snd_port,
            upstream=s.upstream_tts,
            channel=s.channel,
        )

    def _client(
        self, tts: bool
    ) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            handler = Handler(self.door, tts, reader, writer)
            task = asyncio.current_task()
            if task is not None:
                self._handlers.add(task)
            try:
                await handler.run()
            except (OSError, ConnectionError):
                await handler.disconnect()
            finally:
                if task is not None:
                    self._handlers.discard(task)

        return serve

    def stop(self, timeout: float = 5.0) -> None:
        loop = self.loop
        if loop is None or not loop.is_running():
            return

        async def shutdown() -> None:
            for server in self._servers:
                server.close()
            for task in list(self._handlers):
                task.cancel()
            await asyncio.gather(*self._handlers, return_exceptions=True)
            loop.stop()

        asyncio.run_coroutine_threadsafe(shutdown(), loop)
        if self._thread is not None:
            self._thread.join(timeout)


def serve(pipeline: WyomingPipeline, wyoming: WyomingSettings, node: NodeSettings) -> WyomingServer:
    """Start the Wyoming door on ``pipeline`` (``wyoming.enabled`` is the caller's check)."""
    if wyoming.channel not in node.channels:
        raise ConfigError(f"wyoming.channel {wyoming.channel!r} is not in node.channels")
    door = Door(
        pipeline, wyoming, default_voice=node.default_voice, max_text_chars=node.max_text_chars
    )
    server = WyomingServer(door)
    server.start()
    return server

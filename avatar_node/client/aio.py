"""asyncio face of the client: each blocking call runs in a worker thread."""

from __future__ import annotations

import asyncio
from typing import Any

from .collector import Collector, Utterance
from .sync import AvatarClient


class AsyncAvatarClient:
    """asyncio face of :class:`AvatarClient`: ``say``, ``stream``, ``control`` and ``wait_end``.

    >>> async with await AsyncAvatarClient.connect("127.0.0.1", 1883) as c:
    ...     utt = await c.wait_end(await c.say("Hello"))

    Events are collected from the moment a channel is first used, so ``wait_end`` after ``say``
    never misses the end event. Connecting falls back to MQTT 3.1.1 exactly as the node does.
    """

    def __init__(self, client: AvatarClient):
        self.sync = client
        self._collectors: dict[str, Collector] = {}

    @classmethod
    async def connect(
        cls, host: str = "127.0.0.1", port: int = 1883, prefix: str = "avatar", **kwargs: Any
    ) -> AsyncAvatarClient:
        client = await asyncio.to_thread(AvatarClient, host, port, prefix, **kwargs)
        return cls(client)

    async def close(self) -> None:
        await asyncio.to_thread(self.sync.close)

    async def __aenter__(self) -> AsyncAvatarClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def collector(self, channel: str = "default", frames: bool = False) -> Collector:
        """The channel's collector (created and subscribed on first use)."""
        if channel not in self._collectors:
            self._collectors[channel] = await asyncio.to_thread(
                Collector, self.sync, channel, frames
            )
        return self._collectors[channel]

    async def say(self, text: str, channel: str = "default", **options: Any) -> str:
        await self.collector(channel)
        return await asyncio.to_thread(lambda: self.sync.say(text, channel=channel, **options))

    async def stream(
        self, utt_id: str, delta: str, channel: str = "default", final: bool = False, **options: Any
    ) -> None:
        await self.collector(channel)
        await asyncio.to_thread(
            lambda: self.sync.stream(utt_id, delta, channel, final=final, **options)
        )

    async def control(
        self, action: str, utt_id: str | None = None, channel: str = "default"
    ) -> None:
        await asyncio.to_thread(self.sync.control, action, utt_id, channel)

    async def wait_end(
        self, utt_id: str, channel: str = "default", timeout: float = 60.0
    ) -> Utterance:
        """Wait (without blocking the loop) for the end event of ``utt_id`` on ``channel``."""
        col = await self.collector(channel)
        return await asyncio.to_thread(col.wait_end, utt_id, timeout)

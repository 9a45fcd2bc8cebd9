"""A small client of the contract: publish ``say`` / stream deltas / control, collect the results.

Used by the CLI (``say``, ``listen``, ``ha-remove``), the chatbot bridges and the tests. The
synchronous :class:`AvatarClient` runs one paho client on its own network thread; :class:`Collector`
gathers one channel's events and media. :class:`AsyncAvatarClient` offers the same for asyncio
code (each blocking call runs in a worker thread, so the event loop never waits on the broker).
Both connect like the node (one set-up in :mod:`avatar_node.transport.connection`): MQTT 5,
falling back to 3.1.1 when the broker does not speak 5.
"""

from .aio import AsyncAvatarClient
from .collector import END_TYPES, Collector, Utterance
from .sync import AvatarClient

__all__ = ["END_TYPES", "AsyncAvatarClient", "AvatarClient", "Collector", "Utterance"]

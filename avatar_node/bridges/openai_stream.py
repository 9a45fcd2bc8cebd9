"""Speak an OpenAI-compatible chat completion while it streams.

``POST {base_url}/v1/chat/completions`` with ``"stream": true`` answers with server-sent events:
``data: {json}`` lines whose ``choices[0].delta.content`` carries the next piece of the reply, and
a final ``data: [DONE]``. :func:`iter_chat_deltas` yields those pieces as they arrive (stdlib
``urllib`` only); :func:`speak_chat` forwards each to ``{prefix}/{channel}/say/stream`` through
:meth:`AvatarClient.stream_text <avatar_node.client.AvatarClient.stream_text>` and sends ``final``
at the end, so the node starts speaking the first sentence while the model is still writing.

>>> with AvatarClient("127.0.0.1", 1883) as avatar:
...     reply = speak_chat(avatar, "http://127.0.0.1:8000", [{"role": "user", "content": "Hi"}])
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import AvatarError

if TYPE_CHECKING:
    from ..client import AsyncAvatarClient, AvatarClient

Message = dict[str, str]


class BridgeError(AvatarError):
    """The chat server failed (HTTP error, unreachable, error event, unreadable stream)."""

    code = "engine_error"


@dataclass(frozen=True)
class ChatReply:
    """What was spoken: the utterance id, the whole reply and stream timings."""

    id: str
    text: str
    deltas: int
    """Number of non-empty content pieces received."""
    first_delta_s: float | None
    """Request sent → first content piece, seconds."""
    total_s: float
    """Request sent → stream ended, seconds."""


def completions_url(base_url: str) -> str:
    """``http://host:8000``, ``.../v1`` or the full ``.../v1/chat/completions`` → the endpoint."""
    url = base_url.rstrip("/")
    if url.endswith("/chat/completions"):
        return url
    if url.endswith("/v1"):
        return url + "/chat/completions"
    return url + "/v1/chat/completions"


def parse_sse(lines: Iterable[bytes]) -> Iterator[str]:
    """Content pieces of an OpenAI-style SSE stream, until ``[DONE]`` or the end of the stream."""
    data: list[str] = []
    for raw in lines:
        line = raw.decode("utf-8").rstrip("\r\n")
        if line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
            continue
        if line or not data:
            continue  # comments (":"), event:/id:/retry: fields, keep-alive blank lines
        payload, data = "\n".join(data), []
        if payload.strip() == "[DONE]":
            return
        yield from _chunk_content(payload)
    if data and "\n".join(data).strip() != "[DONE]":
        yield from _chunk_content("\n".join(data))


def _chunk_content(payload: str) -> Iterator[str]:
    try:
        chunk = json.loads(payload)
    except ValueError as exc:
        raise BridgeError(f"chat stream sent non-JSON data: {payload[:200]!r}") from exc
    if not isinstance(chunk, dict):
        return
    if "error" in chunk:
        raise BridgeError(f"chat server error: {json.dumps(chunk['error'])[:500]}")
    for choice in chunk.get("choices") or []:
        if isinstance(choice, dict) and choice.get("index", 0) == 0:
            content = (choice.get("delta") or choice.get("message") or {}).get("content")
            if isinstance(content, str) and content:
                yield content


def iter_chat_deltas(
    base_url: str,
    messages: list[Message],
    model: str = "default",
    *,
    api_key: str | None = None,
    timeout: float = 60.0,
    **params: Any,
) -> Iterator[str]:
    """Stream a chat completion; yields each content delta as soon as its event arrives.

    ``params`` are extra request fields (``temperature``, ``max_tokens``, ...). A server that
    ignores ``stream`` and answers with one JSON body yields its whole message once.
    """
    body = {"model": model, "messages": messages, **params, "stream": True}
    headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    url = completions_url(base_url)
    request = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 (user's URL)
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:500].decode("utf-8", "replace")
        raise BridgeError(
            f"chat server {url} answered HTTP {exc.code}: {detail}",
            retryable=exc.code >= 500 or exc.code == 429,
        ) from exc
    except (urllib.error.URLError, OSError) as exc:
        raise BridgeError(f"chat server {url} is not reachable: {exc}", retryable=True) from exc
    with response:
        if "text/event-stream" in response.headers.get("Content-Type", ""):
            yield from parse_sse(response)
        else:
            yield from _chunk_content(response.read().decode("utf-8", "replace"))


def speak_chat(
    client: AvatarClient,
    base_url: str,
    messages: list[Message],
    model: str = "default",
    *,
    channel: str = "default",
    utt_id: str | None = None,
    api_key: str | None = None,
    say_options: dict[str, Any] | None = None,
    timeout: float = 60.0,
    **params: Any,
) -> ChatReply:
    """Ask the chat server and forward its reply, delta by delta, to ``say/stream``.

    Returns once the reply is complete and ``final`` was published (the node may still be
    speaking; wait with a collector's ``wait_end(reply.id)``). On a server failure the text
    received so far is still finished and spoken, then :class:`BridgeError` is raised.
    """
    pieces: list[str] = []
    start = time.monotonic()
    first: list[float] = []

    def deltas() -> Iterator[str]:
        for delta in iter_chat_deltas(
            base_url, messages, model, api_key=api_key, timeout=timeout, **params
        ):
            if not first:
                first.append(time.monotonic() - start)
            pieces.append(delta)
            yield delta

    reply_id = client.stream_text(deltas(), channel, utt_id, **(say_options or {}))
    return ChatReply(
        id=reply_id,
        text="".join(pieces),
        deltas=len(pieces),
        first_delta_s=first[0] if first else None,
        total_s=time.monotonic() - start,
    )


async def speak_chat_async(
    client: AsyncAvatarClient,
    base_url: str,
    messages: list[Message],
    model: str = "default",
    **kwargs: Any,
) -> ChatReply:
    """:func:`speak_chat` for asyncio code (the HTTP stream is read in a worker thread)."""
    await client.collector(kwargs.get("channel", "default"))
    return await asyncio.to_thread(speak_chat, client.sync, base_url, messages, model, **kwargs)

"""Inbound requests of a channel: ``say``, ``say/stream`` and ``control``."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import Field, field_validator

from .base import ID_PATTERN, META_MAX_BYTES, Inbound, new_id


class RequestOptions(Inbound):
    """Optional fields every request to a channel may carry (say, stream, play)."""

    avatar: str | None = Field(
        None, description="A configured avatar name; channel default if unset."
    )
    mode: Literal["queue", "interrupt", "replace"] = Field(
        "queue",
        description="queue: wait in line; interrupt: stop the current utterance, this one next, "
        "keeping the queue; replace: stop the current one and clear the queue.",
    )
    priority: int = Field(5, ge=0, le=9, description="0..9, higher first; FIFO within a priority.")
    meta: dict[str, Any] | None = Field(
        None, description="Opaque object (<= 4 KiB serialized, <= 16 levels) echoed in every event."
    )

    @field_validator("meta")
    @classmethod
    def _meta_size(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        if v is None:
            return v
        if _depth(v) > META_MAX_DEPTH:
            raise ValueError(f"meta nests deeper than {META_MAX_DEPTH} levels")
        if len(json.dumps(v, ensure_ascii=False).encode()) > META_MAX_BYTES:
            raise ValueError(f"meta is larger than {META_MAX_BYTES} bytes serialized")
        return v


class SayOptions(RequestOptions):
    """Optional fields of a say request (also allowed on the first delta of a stream)."""

    voice: str | None = Field(None, description="A configured voice name; node default if unset.")
    speaker: str | int | None = Field(
        None, description="Speaker name or id inside a multi-speaker voice."
    )
    language: str | None = Field(
        None, description="Language mark, e.g. en, zh, ja, ko, mix (VITS-fast-fine-tuning)."
    )
    speed: float = Field(1.0, ge=0.5, le=2.0, description="Speaking rate; length_scale = 1/speed.")


META_MAX_DEPTH = 16
"""Deepest nesting of ``meta`` (objects and arrays): it is echoed in every event, and serializers
have recursion limits far below what 4 KiB of brackets can reach."""


def _depth(value: Any, level: int = 1) -> int:
    """Nesting depth of a JSON value, stopping once past the limit (never recursing deeply)."""
    stack = [(value, level)]
    deepest = 0
    while stack:
        item, lv = stack.pop()
        deepest = max(deepest, lv)
        if deepest > META_MAX_DEPTH:
            break
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        )
        stack.extend((c, lv + 1) for c in children if isinstance(c, (dict, list)))
    return deepest


class SayRequest(SayOptions):
    """``{prefix}/{channel}/say``: speak ``text``."""

    text: str = Field(..., description="Text to speak; 1..max_text_chars after trimming.")
    id: str = Field(
        default_factory=new_id, pattern=ID_PATTERN, description="Utterance id; uuid4 hex if unset."
    )


class TextDelta(SayOptions):
    """``{prefix}/{channel}/say/stream``: incremental text of a streaming chatbot reply."""

    id: str = Field(..., pattern=ID_PATTERN, description="Utterance id shared by all deltas.")
    delta: str = Field("", description="Text appended to the utterance.")
    final: bool = Field(False, description="True on the last delta: flush and finish.")


class Control(Inbound):
    """``{prefix}/{channel}/control``: stop or clear."""

    action: Literal["stop", "clear"] = Field(
        ...,
        description="stop: cancel one utterance (id) or the current one; clear: drop the queue.",
    )
    id: str | None = Field(None, pattern=ID_PATTERN, description="Utterance to stop.")

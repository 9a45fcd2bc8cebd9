"""Decoding at the edge: size and UTF-8 checks, JSON objects, validation messages, text checks."""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from pydantic import ValidationError

from ..errors import BadRequest, PayloadTooLarge, TextTooLong
from .base import ID_RE, Inbound
from .requests import SayRequest

M = TypeVar("M", bound=Inbound)


def decode_text(payload: bytes, max_bytes: int) -> str:
    """Payload size and UTF-8 checks shared by every inbound topic."""
    if len(payload) > max_bytes:
        raise PayloadTooLarge(
            f"payload of {len(payload)} bytes exceeds max_payload_bytes {max_bytes}"
        )
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"payload is not valid UTF-8 ({exc.reason} at byte {exc.start})") from exc


def parse_json_object(text: str) -> dict[str, Any] | None:
    """The object if ``text`` parses as a JSON object, else None."""
    stripped = text.lstrip()
    if not stripped.startswith("{"):
        return None
    try:
        value = json.loads(stripped)
    except (ValueError, RecursionError, MemoryError):
        return None
    return value if isinstance(value, dict) else None


def peek_id(obj: dict[str, Any] | None) -> str | None:
    """The request id if it is readable and valid, for error events of invalid requests."""
    if obj is None:
        return None
    value = obj.get("id")
    return value if isinstance(value, str) and ID_RE.match(value) else None


def validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "payload"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def parse_say(payload: bytes, max_bytes: int, max_chars: int) -> SayRequest:
    """Plain text or a JSON SayRequest → validated request with trimmed text."""
    text = decode_text(payload, max_bytes)
    return say_from(text, parse_json_object(text), max_chars)


def say_from(text: str, obj: dict[str, Any] | None, max_chars: int) -> SayRequest:
    """A say payload already decoded (``obj``: its JSON object, or None for plain text)."""
    req = SayRequest(text=text) if obj is None else model_from(obj, SayRequest)
    req.text = check_text(req.text, max_chars)
    return req


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def strip_control(text: str) -> str:
    """Control characters (NUL, BEL, escape sequences' ESC, ...) and unpaired surrogates (JSON
    ``"\\ud800"``, which no encoder accepts) become spaces: they are never spoken, and a
    request must not fail inside an engine for text the door could clean."""
    return _CONTROL.sub(" ", text)


def check_text(text: str, max_chars: int) -> str:
    trimmed = strip_control(text).strip()
    if not trimmed:
        raise BadRequest("text is empty or whitespace only")
    if len(trimmed) > max_chars:
        raise TextTooLong(
            f"text has {len(trimmed)} characters, more than max_text_chars {max_chars}"
        )
    return trimmed


def parse_model(payload: bytes, max_bytes: int, model: type[M]) -> M:
    """A JSON object payload validated as ``model`` (for stream, control and Hermes topics)."""
    return model_from(parse_json_object(decode_text(payload, max_bytes)), model)


def model_from(obj: dict[str, Any] | None, model: type[M]) -> M:
    """``obj`` (a decoded JSON object, or None when the payload was not one) as ``model``."""
    if obj is None:
        raise BadRequest(f"payload must be a JSON object ({model.__name__})")
    try:
        return model.model_validate(obj)
    except ValidationError as exc:
        raise BadRequest(validation_message(exc)) from exc

"""Generate the language-neutral wire contract: ``schemas/*.schema.json`` and an AsyncAPI 3 file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from .. import __version__
from . import ALL_MESSAGES, CONTRACT_VERSION

# (channel key, address, message, direction from the node's side, qos, retained, description)
CHANNELS: list[tuple[str, str, str, str, int, bool, str]] = [
    (
        "say",
        "{prefix}/{channel}/say",
        "SayRequest",
        "receive",
        1,
        False,
        "Speak text: plain UTF-8 text or a JSON SayRequest.",
    ),
    (
        "sayStream",
        "{prefix}/{channel}/say/stream",
        "TextDelta",
        "receive",
        1,
        False,
        "Incremental text from a streaming chatbot.",
    ),
    ("control", "{prefix}/{channel}/control", "Control", "receive", 1, False, "Stop or clear."),
    (
        "play",
        "{prefix}/{channel}/play",
        "PlayRequest",
        "receive",
        1,
        False,
        "(v1.1) Lip-sync a complete WAV: raw RIFF bytes or a JSON PlayRequest.",
    ),
    (
        "playStream",
        "{prefix}/{channel}/play/stream",
        "AudioStreamStart",
        "receive",
        1,
        False,
        "(v1.1) Streamed audio: AudioStreamStart, AudioStreamChunk..., AudioStreamStop.",
    ),
    (
        "idle",
        "{prefix}/{channel}/idle",
        "VideoFrame",
        "send",
        0,
        False,
        "(v1.1) Idle frames (blinks, breathing) while the channel is silent; id is 'idle'.",
    ),
    (
        "audio",
        "{prefix}/{channel}/audio",
        "AudioChunk",
        "send",
        1,
        False,
        "One WAV chunk per sentence.",
    ),
    (
        "frames",
        "{prefix}/{channel}/frames",
        "VideoFrame",
        "send",
        0,
        False,
        "JPEG frames on the audio clock.",
    ),
    ("events", "{prefix}/{channel}/events", "Event", "send", 1, False, "Life of each request."),
    ("state", "{prefix}/{channel}/state", "ChannelState", "send", 1, True, "Channel state."),
    (
        "avatar",
        "{prefix}/{channel}/avatar",
        "AvatarInfo",
        "send",
        1,
        True,
        "The avatar's idle frame and lip-sync engine.",
    ),
    (
        "hermesSay",
        "hermes/tts/say",
        "HermesSay",
        "receive",
        1,
        False,
        "Rhasspy Hermes TTS request (opt-in).",
    ),
    (
        "hermesSayFinished",
        "hermes/tts/sayFinished",
        "HermesSayFinished",
        "send",
        1,
        False,
        "Rhasspy Hermes: speech finished.",
    ),
    (
        "hermesError",
        "hermes/error/tts",
        "HermesError",
        "send",
        1,
        False,
        "Rhasspy Hermes: TTS failure.",
    ),
]


def json_schemas() -> dict[str, dict[str, Any]]:
    out = {}
    for name, model in ALL_MESSAGES.items():
        schema = model.model_json_schema(by_alias=True, mode="validation")
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://avatar-node.dev/schemas/v{CONTRACT_VERSION}/{name}.schema.json"
        out[name] = schema
    return out


def asyncapi() -> dict[str, Any]:
    channels: dict[str, Any] = {
        "status": {
            "address": "{prefix}/{node_id}/status",
            "description": "online / offline (retained; offline is the will message).",
            "parameters": {"prefix": {}, "node_id": {}},
            "messages": {"status": {"payload": {"type": "string", "enum": ["online", "offline"]}}},
        },
        "snapshot": {
            "address": "{prefix}/{channel}/snapshot",
            "description": "Raw JPEG bytes of the latest frame, at most 2 per second.",
            "parameters": {"prefix": {}, "channel": {}},
            "messages": {"snapshot": {"contentType": "image/jpeg", "payload": {"type": "string"}}},
        },
    }
    operations: dict[str, Any] = {
        "publishStatus": {"action": "send", "channel": {"$ref": "#/channels/status"}},
        "publishSnapshot": {"action": "send", "channel": {"$ref": "#/channels/snapshot"}},
    }
    for key, address, message, action, qos, retain, desc in CHANNELS:
        names = [p for p in ("prefix", "channel") if "{" + p + "}" in address]
        params: dict[str, dict[str, object]] = {p: {} for p in names}
        channels[key] = {
            "address": address,
            "description": desc,
            "messages": {message: {"$ref": f"#/components/messages/{message}"}},
            **({"parameters": params} if params else {}),
        }
        operations[f"{action}{key[0].upper()}{key[1:]}"] = {
            "action": action,
            "channel": {"$ref": f"#/channels/{key}"},
            "bindings": {"mqtt": {"qos": qos, "retain": retain}},
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "avatar-node MQTT contract",
            "version": f"{CONTRACT_VERSION}.0.0",
            "description": f"Generated from avatar_node.wire (avatar-node {__version__}).",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": {
                name: {"name": name, "payload": {"$ref": f"./{name}.schema.json"}}
                for name in ALL_MESSAGES
            }
        },
    }


def render() -> dict[str, str]:
    """File name → text of every generated file."""
    files = {
        f"{name}.schema.json": json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
        for name, schema in json_schemas().items()
    }
    files["asyncapi.yaml"] = yaml.safe_dump(asyncapi(), sort_keys=False, allow_unicode=True)
    return files


def write(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written

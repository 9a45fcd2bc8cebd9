"""Wire models: decoding at the edge and the committed schema files."""

import json
from pathlib import Path

import pytest

from avatar_node.errors import BadRequest, PayloadTooLarge, TextTooLong
from avatar_node.wire import Control, TextDelta, schema
from avatar_node.wire.parse import parse_model, parse_say, peek_id

REPO = Path(__file__).resolve().parents[2]


def test_plain_text_is_a_say_with_defaults():
    req = parse_say(b"  Hello there.  ", 65536, 100)
    assert req.text == "Hello there."
    assert len(req.id) == 32 and req.mode == "queue" and req.priority == 5 and req.speed == 1.0


def test_json_say_with_every_option_and_unknown_keys_ignored():
    payload = json.dumps({
        "text": "Hi", "id": "abc:1", "voice": "v", "speaker": 2, "language": "en", "speed": 1.5,
        "avatar": "a", "mode": "interrupt", "priority": 9, "meta": {"k": [1]}, "future_key": True,
    }).encode()
    req = parse_say(payload, 65536, 100)
    assert (req.id, req.voice, req.speaker, req.speed, req.mode, req.priority) == (
        "abc:1", "v", 2, 1.5, "interrupt", 9)
    assert req.meta == {"k": [1]}


def test_json_that_is_not_an_object_is_text():
    assert parse_say(b"[1, 2]", 65536, 100).text == "[1, 2]"


@pytest.mark.parametrize(
    ("payload", "error", "needle"),
    [
        (b"   ", BadRequest, "empty"),
        (b'{"text": "  "}', BadRequest, "empty"),
        (b'{"text": 5}', BadRequest, "text"),
        (b'{"text": "x", "speed": 9}', BadRequest, "speed"),
        (b'{"text": "x", "mode": "shout"}', BadRequest, "mode"),
        (b'{"text": "x", "priority": 10}', BadRequest, "priority"),
        (b'{"text": "x", "id": "has space"}', BadRequest, "id"),
        (b'{"id": "x1"}', BadRequest, "text"),
        (b"\xff\xfe bad", BadRequest, "UTF-8"),
        (b"x" * 101, TextTooLong, "max_text_chars"),
        (b"y" * 70000, PayloadTooLarge, "max_payload_bytes"),
        (json.dumps({"text": "x", "meta": {"a": "b" * 5000}}).encode(), BadRequest, "meta"),
    ],
)
def test_bad_say_payloads(payload, error, needle):
    with pytest.raises(error) as err:
        parse_say(payload, 65536, 100)
    assert needle in err.value.message


def test_peek_id_only_returns_valid_ids():
    assert peek_id({"id": "ok-1"}) == "ok-1"
    assert peek_id({"id": "not ok"}) is None
    assert peek_id({"id": 5}) is None
    assert peek_id(None) is None


def test_stream_and_control_models():
    d = parse_model(b'{"id": "s1", "delta": "Hi", "voice": "v"}', 1000, TextDelta)
    assert isinstance(d, TextDelta) and d.voice == "v" and d.final is False
    c = parse_model(b'{"action": "stop"}', 1000, Control)
    assert isinstance(c, Control) and c.id is None
    with pytest.raises(BadRequest):
        parse_model(b'{"action": "explode"}', 1000, Control)
    with pytest.raises(BadRequest, match="JSON object"):
        parse_model(b"stop", 1000, Control)


def test_committed_schemas_match_the_models():
    rendered = schema.render()
    directory = REPO / "schemas"
    committed = {p.name for p in directory.iterdir()}
    assert committed == set(rendered), "run `make schema` and commit schemas/"
    for name, text in rendered.items():
        assert (directory / name).read_text() == text, f"schemas/{name} is stale: run `make schema`"


def test_asyncapi_lists_every_contract_topic():
    doc = schema.asyncapi()
    addresses = {c["address"] for c in doc["channels"].values()}
    for leaf in ("say", "say/stream", "control", "audio", "frames", "events", "state", "avatar",
                 "snapshot"):
        assert "{prefix}/{channel}/" + leaf in addresses
    assert "{prefix}/{node_id}/status" in addresses
    assert doc["asyncapi"].startswith("3.")

"""Bad input at volume: hypothesis sends adversarial payloads to say, say/stream and control.

Oracle, per payload: after it the test publishes a sentinel (an empty-text say with a unique id,
always ``rejected``); the node handles one topic's messages in order, so the ``queued`` /
``rejected`` events between two sentinels are that payload's answer:

- ``say``: exactly one, ``queued`` or ``rejected`` with a documented code;
- ``say/stream``: at most one (a delta of a known stream is silent), or ``queued`` then
  ``rejected``/``text_too_long`` for a first delta over the limit (spoken up to the limit);
- ``control``: nothing, or one ``rejected`` (``bad_request`` / ``payload_too_large``).

A rejected JSON payload with a readable, valid id is answered under that id (``payload_too_large``
is answered without reading the payload: ``id`` null). Every accepted id must end. Texts are kept
short (``max_text_chars`` 40) and the queue small (depth 3) with a ``clear`` every 40 examples,
so little is actually spoken and the test stays well under a minute. Text normalisation itself
is fuzzed in ``tests/unit/test_cleaners_robustness.py``.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import psutil
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from avatar_node.app import Node
from avatar_node.client import AvatarClient
from tests.integration.conftest import node_settings

CODES = {"bad_request", "text_too_long", "payload_too_large", "unknown_voice", "unknown_speaker",
         "unknown_avatar", "queue_full"}  # fmt: skip
ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
MAX_PAYLOAD = 2048
RSS_GROWTH_MB = 450
"""Bound on RSS growth of the test process (node inside) over the fuzz run. Measured 120-330 MB
since control characters are stripped instead of failing the utterance: 75-100 of the payloads
are now spoken, each a new input length for torch/oneDNN, whose allocator and primitive caches
grow on first sight of a shape (bench/soak.py is the long-run check)."""
EXAMPLES = 700
"""Per topic; three topics, so ~2100 payloads plus as many sentinels."""

ADVERSARIAL = [
    "😀👍🏽👨‍👩‍👧‍👦", "\u202eשלום עולם\u202c", "مرحبا بالعالم", "\x00\x07\x1b[31m",
    "\ufeff\u200b\u2028", "Z̸̡̢͇̅a̵͇͒l̴̰̾g̶̱̓o̴̘̿", "ﷺ" * 30, "x" * 10_000, "supercalifragilistic" * 500,
    "\ud7ff\ue000\U0010fffd", "   \t\n  ", "[ZH]你好[ZH]", "Dr. St. 3.5% $3.50 1,000 21st",
    "….!?;:" * 10, "<script>x</script>", "{\"text\": \"nested\"}", "a" * 41, "é" * 40,
]  # fmt: skip

_json_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20)
)
_json = st.recursive(
    _json_scalar,
    lambda ch: st.lists(ch, max_size=4) | st.dictionaries(st.text(max_size=8), ch, max_size=4),
    max_leaves=12,
)
_text = st.one_of(
    st.text(max_size=50),
    st.sampled_from(ADVERSARIAL),
    st.text(st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp", "So", "Mn"]), max_size=30),
)
_id = st.one_of(st.from_regex(r"\A[A-Za-z0-9._:-]{1,64}\Z"), st.text(max_size=70), _json)
_say_obj = st.fixed_dictionaries(
    {},
    optional={
        "text": _text | _json, "id": _id,
        "voice": st.sampled_from(["default", "../etc", "/tmp/x.onnx"]) | _json,
        "speaker": _json, "language": _json, "speed": st.floats(0, 3) | _json,
        "avatar": st.sampled_from(["default", "/etc/passwd"]) | _json,
        "mode": st.sampled_from(["replace", "interrupt", "queue", "x"]),
        "priority": st.integers(-2, 12) | _json, "meta": _json, "extra": _json,
    },
)  # fmt: skip
_delta_obj = st.fixed_dictionaries(
    {"id": _id},
    optional={"delta": _text | _json, "final": st.booleans() | _json, "voice": _json,
              "mode": st.sampled_from(["replace", "queue"])},
)  # fmt: skip
_control_obj = st.fixed_dictionaries(
    {}, optional={"action": st.sampled_from(["stop", "clear", "dance"]) | _json, "id": _id}
)


def _dumps(obj: Any, ascii_: bool) -> bytes:
    return json.dumps(obj, ensure_ascii=ascii_).encode("utf-8", "surrogatepass")


def _payloads(objects: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=200),  # random bytes, mostly invalid UTF-8
        st.binary(min_size=1, max_size=40).map(lambda b: b"\xff\xfe" + b + b"\xc3\x28"),
        _text.map(lambda t: t.encode("utf-8", "surrogatepass")),
        st.tuples(objects, st.booleans()).map(lambda p: _dumps(*p)),
        st.integers(10, 5000).map(lambda n: b'{"text": ' + b"[" * n + b"]" * n + b"}"),
        st.integers(MAX_PAYLOAD + 1, 3 * MAX_PAYLOAD).map(lambda n: b"w" * n),
        _json.map(lambda v: _dumps(v, True)),  # JSON that is not an object
    )


class Answers:
    """Events of the channel, split by sentinel."""

    def __init__(self, client: AvatarClient, prefix: str):
        self.lock = threading.Condition()
        self.events: list[dict[str, Any]] = []
        self.ended: set[str] = set()
        self.queued: set[str] = set()
        self.errors: list[dict[str, Any]] = []
        client.subscribe(f"{prefix}/default/events", self._on_event)

    def _on_event(self, _topic: str, payload: bytes) -> None:
        ev = json.loads(payload)
        with self.lock:
            if ev["type"] in ("queued", "rejected"):
                self.events.append(ev)
                if ev["type"] == "queued":
                    self.queued.add(ev["id"])
            elif ev["type"] in ("finished", "cancelled", "error"):
                self.ended.add(ev["id"])
                if ev["type"] == "error":
                    self.errors.append(ev)
            self.lock.notify_all()

    def until(self, sentinel: str, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The answers before ``sentinel``'s rejection (consumed)."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                for i, ev in enumerate(self.events):
                    if ev["id"] == sentinel:
                        out, self.events = self.events[:i], self.events[i + 1 :]
                        return out
                left = deadline - time.monotonic()
                assert left > 0, f"no answer to sentinel {sentinel}"
                self.lock.wait(left)


def _readable_id(payload: bytes) -> str | None:
    try:
        obj = json.loads(payload.decode("utf-8"))
    except (ValueError, RecursionError):
        return None
    value = obj.get("id") if isinstance(obj, dict) else None
    return value if isinstance(value, str) and ID_RE.match(value) else None




def test_adversarial_payloads_on_every_inbound_topic(
    private_broker, prefix, bundled_voices
) -> None:
    settings = node_settings(
        private_broker, prefix,
        node={"max_text_chars": 40, "max_payload_bytes": MAX_PAYLOAD, "queue_depth": 3,
              "stream_idle_timeout_s": 0.5, "phrase_cache_mb": 4},
    )  # fmt: skip
    node = Node(settings, load_avatars=False, voices=bundled_voices)
    node.start()
    client = AvatarClient(private_broker.host, private_broker.port, prefix)
    try:
        _fuzz_node(node, client, prefix)
    finally:
        client.close()
        node.stop()


def _fuzz_node(node: Node, client: AvatarClient, prefix: str) -> None:
    answers = Answers(client, prefix)
    col = client.collector(frames=False)
    col.wait_for(lambda c: "state" in c.retained, 10)
    # Warm up (first inference allocates the engines' arenas) before taking the baseline.
    assert col.wait_end(client.say("Warming up, one two.", id="warm"), 30).end["type"] == (
        "finished"
    )
    with answers.lock:
        answers.events.clear()
    proc = psutil.Process()
    rss0 = proc.memory_info().rss
    counter = iter(range(1_000_000))
    stats: dict[str, int] = {}
    t0 = time.monotonic()

    def send(leaf: str, payload: bytes) -> list[dict[str, Any]]:
        n = next(counter)
        client.publish(f"{prefix}/default/{leaf}", payload)
        sentinel = f"sentinel-{n}"
        client.publish(f"{prefix}/default/say", json.dumps({"id": sentinel, "text": " "}))
        got = answers.until(sentinel)
        if n % 40 == 0:
            client.publish(f"{prefix}/default/control", b'{"action": "clear"}')
        for ev in got:
            key = ev["type"] if ev["type"] == "queued" else ev["code"]
            stats[key] = stats.get(key, 0) + 1
            if ev["type"] == "rejected":
                assert ev["code"] in CODES and ev["message"], ev
                if ev["code"] != "payload_too_large" and _readable_id(payload):
                    assert ev["id"] == _readable_id(payload), (payload[:200], ev)
        return got

    def fuzz(leaf: str, objects: st.SearchStrategy[Any], check: Callable[[list], None]) -> None:
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        @given(_payloads(objects))
        def run(payload: bytes) -> None:
            check(send(leaf, payload))

        run()

    fuzz("say", _say_obj, lambda got: _check_len(got, 1, 1))
    fuzz("say/stream", _delta_obj, _check_stream)
    fuzz(
        "control",
        _control_obj,
        lambda got: _check_len(got, 0, 1, only={"bad_request", "payload_too_large"}),
    )
    fuzz_s = time.monotonic() - t0

    # Everything accepted ends; the node still serves; memory stayed bounded.
    client.publish(f"{prefix}/default/control", b'{"action": "clear"}')
    deadline = time.monotonic() + 30
    while not answers.queued <= answers.ended and time.monotonic() < deadline:
        time.sleep(0.1)
    assert answers.queued <= answers.ended, answers.queued - answers.ended
    assert col.wait_end(client.say("Still speaking.", id="after-fuzz"), 30).end["type"] == (
        "finished"
    )
    growth_mb = (proc.memory_info().rss - rss0) / 2**20
    print(f"fuzz: {next(counter)} payloads in {fuzz_s:.1f} s, answers {stats}, "
          f"engine errors {len(answers.errors)}, RSS growth {growth_mb:.1f} MB")  # fmt: skip
    assert growth_mb < RSS_GROWTH_MB
    # Known, tested on its own below: a NUL character reaches espeak and fails the utterance.
    unexpected = [e for e in answers.errors if "null character" not in str(e.get("message"))]
    assert not unexpected, unexpected[:3]
    assert node.transport.connected.is_set()


def _check_stream(got: list[dict[str, Any]]) -> None:
    """At most one answer, except a first delta longer than max_text_chars: the node queues the
    text up to the limit and also rejects the delta (``text_too_long``) under the same id."""
    if [ev["type"] for ev in got] == ["queued", "rejected"]:
        assert got[1]["code"] == "text_too_long" and got[0]["id"] == got[1]["id"], got
        return
    _check_len(got, 0, 1)


def _check_len(got: list[dict[str, Any]], lo: int, hi: int, only: set[str] | None = None) -> None:
    assert lo <= len(got) <= hi, got
    if only is not None:
        assert all(ev["type"] == "rejected" and ev["code"] in only for ev in got), got


def test_stream_with_replace_while_another_stream_is_queued(make_node, client) -> None:
    """Found by the fuzz test: ``replace`` on say/stream cancelled a queued stream whose end hook
    took the node's stream lock again on paho's thread, a deadlock that stopped all input."""
    make_node()
    col = client.collector(frames=False)
    col.wait_for(lambda c: "state" in c.retained, 10)
    client.say("A sentence that keeps the voice busy for a little while.", id="busy")
    client.stream("s-queued", "Waiting in the queue")
    client.stream("s-replace", "Replacing everything.", final=True, mode="replace")
    assert col.wait_end("s-queued", 15).end["type"] == "cancelled"
    assert col.wait_end("s-replace", 30).end["type"] == "finished"
    assert col.wait_end(client.say("Still listening.", id="after"), 30).end["type"] == "finished"


def test_text_with_nul_is_spoken_or_rejected(make_node, client) -> None:
    """Found by the fuzz test: a NUL in accepted text ends the utterance with engine_error
    (``ValueError: embedded null character`` from the espeak bridge). Documented outcomes are
    ``rejected``/``bad_request`` at the edge, or speech without the control characters."""
    make_node()
    col = client.collector(frames=False)
    col.wait_for(lambda c: "state" in c.retained, 10)
    end = col.wait_end(client.say("Hello\x00 world\x07.", id="nul1"), 30).end
    assert end is not None
    assert end["type"] == "finished" or (end["type"], end.get("code")) == (
        "rejected",
        "bad_request",
    ), end

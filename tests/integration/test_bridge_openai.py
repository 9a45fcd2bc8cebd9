"""The OpenAI-compatible streaming bridge against a real local HTTP server streaming SSE slowly.

The fake server is ``http.server`` in a thread: it answers ``POST /v1/chat/completions`` with
``text/event-stream`` chunks ``choices[0].delta.content`` spaced in time, then ``data: [DONE]``.
The avatar must start speaking (first ``audio`` message) before the server has finished.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib.util
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from avatar_node.bridges.openai_stream import (
    BridgeError,
    completions_url,
    iter_chat_deltas,
    parse_sse,
    speak_chat,
    speak_chat_async,
)
from avatar_node.client import AsyncAvatarClient

REPLY = "Hello there! I speak while the model is still writing, sentence by sentence."


def words(text: str) -> list[str]:
    out, cur = [], ""
    for ch in text:
        if ch == " " and cur:
            out.append(cur)
            cur = ""
        cur += ch
    return out + [cur]


class FakeChatServer:
    """A minimal OpenAI-compatible chat server streaming ``deltas``; ``fail``: http | midway."""

    def __init__(self, deltas: list[str], delay_s: float = 0.15, fail: str | None = None):
        self.deltas, self.delay_s, self.fail = deltas, delay_s, fail
        self.requests: list[dict[str, Any]] = []
        self.finished_at: float | None = None
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append({"path": self.path, "body": body,
                                        "auth": self.headers.get("Authorization")})  # fmt: skip
                if server.fail == "http":
                    self._send(500, "application/json", b'{"error": {"message": "boom"}}')
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                self._event({"role": "assistant"})
                for i, delta in enumerate(server.deltas):
                    time.sleep(server.delay_s)
                    if server.fail == "midway" and i == len(server.deltas) // 2:
                        self._write(b'data: {"error": {"message": "model crashed"}}\n\n')
                        return
                    self._event({"content": delta})
                self._event({}, finish="stop")
                server.finished_at = time.monotonic()
                self._write(b"data: [DONE]\n\n")

            def _event(self, delta: dict[str, Any], finish: str | None = None) -> None:
                chunk = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "fake",
                         "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
                self._write(b"data: " + json.dumps(chunk).encode() + b"\n\n")  # fmt: skip

            def _write(self, data: bytes) -> None:
                self.wfile.write(data)
                self.wfile.flush()

            def _send(self, code: int, ctype: str, data: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self._write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def chat_server() -> Iterator[Any]:
    servers: list[FakeChatServer] = []

    def make(*args: Any, **kwargs: Any) -> FakeChatServer:
        servers.append(FakeChatServer(*args, **kwargs))
        return servers[-1]

    yield make
    for s in servers:
        s.close()


USER = [{"role": "user", "content": "Introduce yourself."}]


def test_first_audio_arrives_before_the_server_finishes_streaming(start_node, client, collector,
                                                                  chat_server):  # fmt: skip
    start_node()
    server = chat_server(words(REPLY), delay_s=0.4)  # ~5 s: room for a loaded CPU
    reply = speak_chat(client, server.url, USER, "fake-model", api_key="sk-test",
                       temperature=0.2, say_options={"priority": 7})  # fmt: skip
    assert reply.text == REPLY and reply.deltas == len(words(REPLY))
    (req,) = server.requests
    assert req["path"] == "/v1/chat/completions" and req["auth"] == "Bearer sk-test"
    assert req["body"] == {"model": "fake-model", "messages": USER, "temperature": 0.2,
                           "stream": True}  # fmt: skip
    utt = collector.wait_end(reply.id, 60)
    assert utt.end["type"] == "finished"
    assert utt.t_first_audio is not None and server.finished_at is not None
    lead = server.finished_at - utt.t_first_audio
    assert lead > 0, f"first audio came {-lead:.2f} s after the server finished streaming"
    spoken = [e["detail"]["text"] for e in utt.events if e["type"] == "sentence"]
    assert " ".join(spoken).split() == REPLY.split()


def test_async_client_and_bridge(start_node, broker, prefix, chat_server):
    start_node()
    server = chat_server(words("Async works. Bye."), delay_s=0.02)

    async def run() -> tuple[str, str]:
        async with await AsyncAvatarClient.connect(broker.host, broker.port, prefix) as c:
            reply = await speak_chat_async(c, server.url + "/v1", USER)
            said = await c.say("Plain say.")
            await c.stream("s1", "Streamed ")
            await c.stream("s1", "by hand.", final=True)
            ends = [await c.wait_end(i, timeout=60) for i in (reply.id, said, "s1")]
            return reply.text, ",".join(u.end["type"] for u in ends)

    # A fresh thread: Playwright's sync API (e2e tests, same session) keeps a loop on this one.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        text, ends = pool.submit(asyncio.run, run()).result(120)
    assert text == "Async works. Bye." and ends == "finished,finished,finished"


def test_server_failures_raise_bridge_errors_and_finish_what_was_said(
    start_node, client, collector, chat_server
):
    start_node()
    with pytest.raises(BridgeError) as err:
        list(iter_chat_deltas(chat_server([], fail="http").url, USER))
    assert "HTTP 500" in err.value.message and err.value.retryable
    with pytest.raises(BridgeError, match="not reachable"):
        list(iter_chat_deltas("http://127.0.0.1:9", USER, timeout=2))

    server = chat_server(words("First sentence is fine. Then the model dies here."),
                         delay_s=0.01, fail="midway")  # fmt: skip
    with pytest.raises(BridgeError, match="model crashed"):
        speak_chat(client, server.url, USER, utt_id="partial")
    utt = collector.wait_end("partial", 60)
    assert utt.end["type"] == "finished" and utt.audio


def test_sse_parsing_and_urls():
    lines = [
        b": keep-alive\n", b"event: message\n",
        b'data: {"choices": [{"index": 0, "delta": {"content": "a"}}]}\n', b"\n",
        b'data: {"choices": [{"index": 0, "delta": {"role": "assistant"}}]}\r\n', b"\r\n",
        b'data: {"choices": [{"index": 1, "delta": {"content": "other choice"}}]}\n', b"\n",
        b'data: {"choices": [{"index": 0,\n', b'data: "delta": {"content": "b"}}]}\n', b"\n",
        b"data: [DONE]\n", b"\n", b'data: {"choices": [{"delta": {"content": "late"}}]}\n',
    ]  # fmt: skip
    assert list(parse_sse(lines)) == ["a", "b"]
    assert list(parse_sse([b'data: {"choices": [{"delta": {"content": "x"}}]}'])) == ["x"]
    with pytest.raises(BridgeError):
        list(parse_sse([b"data: not json\n", b"\n"]))
    assert completions_url("http://h:1") == "http://h:1/v1/chat/completions"
    assert completions_url("http://h:1/v1/") == "http://h:1/v1/chat/completions"
    assert completions_url("http://h/x/v1/chat/completions") == "http://h/x/v1/chat/completions"


def test_example_cli_runs_one_turn(start_node, broker, prefix, chat_server, capsys):
    start_node()
    server = chat_server(words("Example says hi."), delay_s=0.01)
    spec = importlib.util.spec_from_file_location(
        "openai_bridge_example", Path(__file__).parents[2] / "examples" / "openai_bridge.py"
    )
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    code = example.main(["--base-url", server.url, "--host", broker.host, "--port",
                         str(broker.port), "--prefix", prefix, "--system", "Be brief.",
                         "Hi"])  # fmt: skip
    assert code == 0
    assert "avatar> Example says hi." in capsys.readouterr().out
    assert server.requests[0]["body"]["messages"][0] == {"role": "system", "content": "Be brief."}


# ------------------------------------------------------------------ the other documented bridges

EXAMPLES = Path(__file__).parents[2] / "examples"


def test_node_red_flow_is_wired_and_its_messages_make_the_node_speak(start_node, client,
                                                                    collector, prefix):  # fmt: skip
    flow = json.loads((EXAMPLES / "node-red-flow.json").read_text())
    nodes = {n["id"]: n for n in flow}
    assert len(nodes) == len(flow), "node ids must be unique"
    (tab,) = [n for n in flow if n["type"] == "tab"]
    (broker_cfg,) = [n for n in flow if n["type"] == "mqtt-broker"]
    for n in flow:
        if n["type"] in ("inject", "mqtt out", "mqtt in", "debug"):
            assert n["z"] == tab["id"]
            assert all(target in nodes for out in n["wires"] for target in out)
        if n["type"] in ("mqtt out", "mqtt in"):
            assert n["broker"] == broker_cfg["id"]
    (events_in,) = [n for n in flow if n["type"] == "mqtt in"]
    assert events_in["topic"] == "avatar/default/events" and events_in["datatype"] == "json"
    assert [nodes[t]["type"] for t in events_in["wires"][0]] == ["debug"]

    start_node()
    outs = {n["topic"] for n in flow if n["type"] == "mqtt out"}
    assert outs == {"avatar/default/say", "avatar/default/control"}
    injects = [n for n in flow if n["type"] == "inject"]
    for inject in injects:  # publish what Node-RED would, under this test's prefix
        (target,) = inject["wires"][0]
        topic = nodes[target]["topic"].replace("avatar/", f"{prefix}/", 1)
        if inject["payloadType"] == "json":
            json.loads(inject["payload"])
        if topic.endswith("/say"):
            client.publish(topic, inject["payload"])
    ends = ("finished", "cancelled", "rejected", "error")
    try:
        collector.wait_for(lambda c: sum(e["type"] in ends for e in c.all_events) == 2, 60)
    except TimeoutError:
        raise AssertionError(f"events: {collector.all_events}") from None
    by_meta = {json.dumps(e["meta"]): e["type"] for e in collector.all_events if e["type"] in ends}
    # the JSON announcement interrupts the plain greeting if that is already speaking
    assert by_meta[json.dumps({"source": "node-red"})] == "finished"
    assert by_meta["null"] in ("finished", "cancelled")


def test_mosquitto_one_liners_carry_valid_contract_messages():
    import re
    import shlex

    from avatar_node.wire import Control, HermesSay, SayRequest, TextDelta

    models = {"say": SayRequest, "say/stream": TextDelta, "control": Control}
    text = (EXAMPLES / "mosquitto_pub.md").read_text().replace("\\\n", " ")
    checked = 0
    for line in text.splitlines():
        if not line.startswith("mosquitto_pub"):
            continue
        args = shlex.split(line.split("#")[0] if "# " in line else line)
        topic = args[args.index("-t") + 1]
        if "-m" not in args:
            assert "-n" in args and "-r" in args  # the removal one-liner
            continue
        payload = args[args.index("-m") + 1]
        m = re.match(r"avatar/default/(say/stream|say|control|avatar/set)$", topic)
        if topic == "hermes/tts/say":
            assert HermesSay.model_validate(json.loads(payload)).site_id == "default"
        elif m and m.group(1) in models and payload.startswith("{"):
            models[m.group(1)].model_validate(json.loads(payload))
        checked += 1
    assert checked >= 10

"""The kiosk's pure JS modules (message parsing, settings, utterance clock) run under Node.js.

Fast checks of the logic the browser e2e tests exercise only end to end. Needs ``node`` (≥ 18,
already required by ``make web``); a missing one fails with the install hint.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

JS = Path(__file__).resolve().parents[2] / "avatar_node" / "web" / "static" / "js"


def run_js(body: str) -> Any:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: apt-get install -y nodejs (needed by make web too)")
    script = (
        f'import * as msg from "{(JS / "messages.js").as_uri()}";\n'
        f'import {{ readParams }} from "{(JS / "params.js").as_uri()}";\n'
        f'import {{ Utterance }} from "{(JS / "utterance.js").as_uri()}";\n'
        "globalThis.location = { protocol: 'http:', hostname: 'kiosk.lan', search: '' };\n"
        "const enc = (o) =>\n"
        "  new TextEncoder().encode(typeof o === 'string' ? o : JSON.stringify(o));\n"
        "const out = (async () => {\n" + body + "\n})();\n"
        "out.then((v) => console.log(JSON.stringify(v)));\n"
    )
    res = subprocess.run(
        [node, "--input-type=module", "-e", script], capture_output=True, text=True, timeout=30
    )
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def test_parse_json_rejects_non_objects() -> None:
    got = run_js(
        "return [msg.parseJson(enc('{nope')), msg.parseJson(enc('[1]')), msg.parseJson(enc('3')),"
        " msg.parseJson(new Uint8Array([0xff, 0xfe])), msg.parseJson(enc({a: 1}))];"
    )
    assert got == [None, None, None, None, {"a": 1}]


def test_audio_chunk_and_frame_validation() -> None:
    wav = "UklGR" + "A" * 79  # base64 of "RIFF" and zeros: 63 bytes, more than a header
    got = run_js(
        f"const wav = '{wav}';"
        "const ok = msg.audioChunk({id: 'u1', seq: 0, start_ms: 0, duration_ms: 500, wav});"
        "return {"
        " ok: ok && [ok.id, ok.seq, ok.durationMs, ok.wav.length],"
        " badId: msg.audioChunk({id: 'bad id!', seq: 0, start_ms: 0, wav}),"
        " badSeq: msg.audioChunk({id: 'u1', seq: -1, start_ms: 0, wav}),"
        " strSeq: msg.audioChunk({id: 'u1', seq: '1', start_ms: 0, wav}),"
        " badB64: msg.audioChunk({id: 'u1', seq: 0, start_ms: 0, wav: '%%%'}),"
        " short: msg.audioChunk({id: 'u1', seq: 0, start_ms: 0, wav: 'UklGRg=='}),"
        " frame: msg.videoFrame({id: 'u1', seq: 3, pts_ms: 120, jpeg: '/9j/'}),"
        " frameNoPts: msg.videoFrame({id: 'u1', seq: 3, jpeg: '/9j/'}),"
        " ev: msg.event({id: null, type: 'rejected', code: 'bad_request'}),"
        " ctl: [msg.control({action: 'stop'}), msg.control({action: 'explode'})],"
        "};"
    )
    assert got["ok"] == ["u1", 0, 500, 63]
    assert got["badId"] is got["badSeq"] is got["strSeq"] is got["badB64"] is got["short"] is None
    assert got["frame"]["ptsMs"] == 120 and got["frame"]["seq"] == 3
    assert got["frameNoPts"] is None
    assert got["ev"] == {"id": None, "type": "rejected", "code": "bad_request", "message": None}
    assert got["ctl"] == [{"action": "stop", "id": None}, None]


def test_params_defaults_query_and_validation() -> None:
    got = run_js(
        "const d = {ws: 'ws://{host}:9001', channel: 'lobby', prefix: 'avatar', status: false};"
        "const err = (f) => { try { f(); return null; } catch (e) { return e.message; } };"
        "return {"
        " defaults: readParams('', d),"
        " query: readParams("
        "'?channel=hall&lead_ms=350&status=1&input=0&pump=0&frame_sockets=0', d),"
        " badLinks: readParams('?frame_sockets=9', d).frameSockets,"
        " noDefaults: readParams('', undefined),"
        " badLead: readParams('?lead_ms=-5', d).leadMs,"
        " badChannel: err(() => readParams('?channel=a/b', d)),"
        " badPrefix: err(() => readParams('?prefix=a/%23', d)),"
        " badWs: err(() => readParams('?ws=http://x', d)),"
        "};"
    )
    assert got["defaults"] == {
        "ws": "ws://kiosk.lan:9001", "channel": "lobby", "prefix": "avatar", "leadMs": 200,
        "showStatus": False, "showInput": True, "pumpHz": 1200, "pumpSockets": 3,
        "frameSockets": 3,
    }  # fmt: skip
    q = got["query"]
    assert q["frameSockets"] == 0 and got["badLinks"] == 3
    assert (q["channel"], q["leadMs"], q["showStatus"], q["showInput"], q["pumpHz"]) == (
        "hall",
        350,
        True,
        False,
        0,
    )
    assert got["noDefaults"]["ws"] == "ws://kiosk.lan:9001"
    assert got["noDefaults"]["channel"] == "default" and got["noDefaults"]["prefix"] == "avatar"
    assert got["badLead"] == 200
    assert "channel" in got["badChannel"] and "prefix" in got["badPrefix"]
    assert "ws" in got["badWs"]


def test_utterance_clock_segments_and_frames() -> None:
    got = run_js(
        "const u = new Utterance('u1', 25);"
        "const before = u.due(0);"
        "u.segments.push({fromMs: 0, t0: 10});"
        "u.segments.push({fromMs: 2000, t0: 10.5});"  # chunk at 2 s started 0.5 s late
        "const f = (seq) => ({seq, ptsMs: seq * 40, final: false});"
        "const added = [u.addFrame(f(1), null), u.addFrame(f(0), null), u.addFrame(f(1), null)];"
        "u.lastDrawnSeq = 5;"
        "const late = u.addFrame(f(4), null);"
        "return {before, d0: u.due(0), d1: u.due(1960), d2: u.due(2000), d3: u.due(3000),"
        " added, late, order: u.frames.map((x) => x.seq), maxPts: u.maxPtsMs};"
    )
    assert got["before"] is None
    assert got["d0"] == 10 and abs(got["d1"] - 11.96) < 1e-9
    assert got["d2"] == 12.5 and got["d3"] == 13.5
    assert got["added"] == [True, True, False]  # the duplicate is refused
    assert got["late"] is False  # older than what was drawn
    assert got["order"] == [0, 1]
    assert got["maxPts"] == 40


def test_coverage_ends_at_a_missing_frame_until_it_is_given_up() -> None:
    """Frames over several links arrive out of order (frame-links.js): the start gate counts
    only the frames without a gap before them, and a gap older than 250 ms as a lost frame."""
    got = run_js(
        "let T = 1000;"
        "Object.defineProperty(globalThis, 'performance', {value: {now: () => T},"
        " configurable: true, writable: true});"
        "const u = new Utterance('u1', 25);"
        "const f = (seq) => ({seq, ptsMs: seq * 40, final: false});"
        "for (const s of [1, 2, 4]) u.addFrame(f(s), null);"
        "const noFirst = u.coveredMs(T);"
        "u.addFrame(f(0), null);"
        "const toGap = u.coveredMs(T);"
        "const given = u.coveredMs(T + 300);"
        "u.addFrame(f(3), null);"
        "return {noFirst, toGap, given, whole: u.coveredMs(T)};"
    )
    assert got == {"noFirst": 0, "toGap": 120, "given": 200, "whole": 200}


def test_utterance_audio_complete() -> None:
    got = run_js(
        "const u = new Utterance('u1', 25);"
        "u.chunks.set(0, {}); u.chunks.set(1, {});"
        "const a = u.audioComplete;"
        "u.finalSeq = 1; u.nextChunk = 1; const b = u.audioComplete;"
        "u.nextChunk = 2; const c = u.audioComplete;"
        "const v = new Utterance('u2', 25); v.chunks.set(0, {}); v.ended = true; v.nextChunk = 1;"
        "return [a, b, c, v.audioComplete];"
    )
    assert got == [False, False, True, True]


def test_frame_rate_sees_a_slow_pipe_behind_the_opening_burst() -> None:
    got = run_js(
        "let T = 1000;"
        "Object.defineProperty(globalThis, 'performance', {value: {now: () => T},"
        " configurable: true, writable: true});"
        "const u = new Utterance('u1', 25);"
        "const early = u.frameRate();"
        "let seq = 0;"
        "const add = () => u.addFrame({seq, ptsMs: seq++ * 40, final: false}, null);"
        # the node's lead: 1 s of frames in 100 ms
        "for (let i = 0; i < 25; i++) { T += 4; add(); }"
        "const burst = u.frameRate();"
        # then half real time (a 40 ms frame every 80 ms) for 1.2 s
        "for (let i = 0; i < 15; i++) { T += 80; add(); }"
        "const overall = (u.maxPtsMs - u.firstFramePts) / (u.lastFrameAt - u.firstFrameAt);"
        "const slow = u.frameRate();"
        "T += 1000;"  # then nothing for a second
        "return {early, burst, slow, overall, stopped: u.frameRate()};"
    )
    assert got["early"] is None and got["burst"] is None  # under 300 ms of arrivals
    assert got["overall"] > 1.0  # the opening burst hides the slow pipe...
    assert 0.45 < got["slow"] < 0.55  # ...the recent window does not
    assert got["stopped"] < 0.1  # frames that stop coming count too

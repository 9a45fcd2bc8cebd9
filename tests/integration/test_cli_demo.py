"""``avatar-node demo`` with its own broker, then the README's commands exactly as written.

The commands are read from the README's ``demo-commands`` block; ``.venv/bin/avatar-node`` is run
as ``python -m avatar_node`` of this checkout. The demo's broker is mosquitto or amqtt (both are
tried); ``say`` and ``listen`` get no port and must find it by themselves.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

import pytest

from avatar_node.broker import DEMO_PORT, mosquitto_path
from avatar_node.media.wav import decode_wav
from tests.conftest import REPO

START_TIMEOUT = 300  # loading the voice and the avatar on a loaded 2-core machine


def readme_commands() -> list[list[str]]:
    text = (REPO / "README.md").read_text()
    block = re.search(r"<!-- demo-commands.*?```sh\n(.*?)```", text, re.S)
    assert block, "README has no demo-commands block"
    return [shlex.split(line) for line in block.group(1).splitlines() if line.strip()]


class Proc:
    """A command whose stdout and stderr lines are collected as they come."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path):
        self.p = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)  # fmt: skip
        self.out: queue.Queue[str] = queue.Queue()
        self.lines: list[str] = []
        self.err: list[str] = []
        threading.Thread(target=self._pump, args=(self.p.stdout, True), daemon=True).start()
        threading.Thread(target=self._pump, args=(self.p.stderr, False), daemon=True).start()

    def _pump(self, stream: IO[str], is_out: bool) -> None:
        for line in stream:
            (self.lines if is_out else self.err).append(line.rstrip("\n"))
            if is_out:
                self.out.put(line)

    def wait_for(self, pred: Any, timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines) + list(self.err):
                found = pred(line)
                if found:
                    return found
            if self.p.poll() is not None:
                time.sleep(0.5)  # let the pumps drain
                for line in list(self.lines) + list(self.err):
                    if found := pred(line):
                        return found
                pytest.fail(f"{what}: exited {self.p.returncode}\n" + "\n".join(self.err[-20:]))
            time.sleep(0.2)
        pytest.fail(f"timed out waiting for {what}\n" + "\n".join(self.err[-20:]))

    def interrupt(self, timeout: float = 60) -> int:
        self.p.send_signal(signal.SIGINT)
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            raise


def _json(line: str) -> dict[str, Any] | None:
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


@pytest.mark.parametrize("kind", ["mosquitto", "amqtt"])
def test_demo_then_readme_commands(kind, tmp_path):
    if kind == "mosquitto" and mosquitto_path() is None:
        pytest.fail("mosquitto is not installed: apt-get install mosquitto")
    env = {**os.environ, "PYTHONPATH": str(REPO), "AVATAR_DEMO_STATE": str(tmp_path / "demo.json"),
           "AVATAR_WEB__PORT": "0"}  # fmt: skip
    env.pop("AVATAR_CONFIG_FILE", None)
    python = [sys.executable, "-m", "avatar_node"]
    demo = Proc([*python, "demo", "--broker", kind, "--log-format", "json"], env, tmp_path)
    listen = None
    try:
        spoke = demo.wait_for(lambda ln: (o := _json(ln)) and o.get("event") == "demo spoke" and o,
                              START_TIMEOUT, "the demo's welcome line")  # fmt: skip
        assert spoke["end"] == "finished" and spoke["broker_kind"] == kind
        assert spoke["first_audio_s"] > 0 and spoke["first_frame_s"] > 0
        port = json.loads((tmp_path / "demo.json").read_text())["port"]
        assert spoke["broker"] == f"mqtt://127.0.0.1:{port}"

        cmds = readme_commands()
        assert [c[:2] for c in cmds[:2]] == [[".venv/bin/avatar-node", "listen"],
                                             [".venv/bin/avatar-node", "say"]]  # fmt: skip
        listen = Proc([*python, *cmds[0][1:]], env, tmp_path)
        listen.wait_for(lambda ln: "listening on avatar/default/#" in ln, 120, "listen")
        assert f"using the demo's broker at 127.0.0.1:{port}" in "\n".join(listen.err)

        say = subprocess.run([*python, *cmds[1][1:]], env=env, cwd=tmp_path, timeout=240,
                             capture_output=True, text=True)  # fmt: skip
        assert say.returncode == 0, say.stderr
        result = json.loads(say.stdout.splitlines()[0])
        assert result["end"] == "finished"
        samples, rate = decode_wav((tmp_path / "hello.wav").read_bytes())
        assert rate > 0 and samples.size > rate * 0.5

        def ended(utt_id: str | None) -> Any:
            def pred(ln: str) -> Any:
                o = _json(ln)
                return o and o.get("topic") == "events" and o.get("type") == "finished" and (
                    utt_id is None or o.get("id") == utt_id) and o  # fmt: skip

            return pred

        listen.wait_for(ended(result["id"]), 60, "listen to print the say's finished event")
        audio = [o for ln in listen.lines if (o := _json(ln)) and o.get("topic") == "audio"]
        assert audio and all("wav" not in o for o in audio)

        pub = cmds[2]
        assert pub[:3] == ["mosquitto_pub", "-p", str(DEMO_PORT)]
        if shutil.which("mosquitto_pub"):
            if port != DEMO_PORT:  # 1884 was taken: the demo said so and used another port
                pub = [pub[0], "-p", str(port), *pub[3:]]  # (the README says so too)
            subprocess.run(pub, check=True, timeout=30)
            listen.wait_for(
                lambda ln: (
                    (o := _json(ln)) and o.get("type") == "finished" and o.get("id") != result["id"]
                ),
                120,
                "mosquitto_pub's utterance",
            )
        # Told the port (no discovery, so no protocol hint): MQTT 5 first, then the same fallback
        # to 3.1.1 as the node's when the broker is amqtt.
        again = subprocess.run(
            [*python, "say", "Once more.", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            timeout=240,
            capture_output=True,
            text=True,
        )
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout.splitlines()[0])["end"] == "finished"
        assert listen.interrupt() == 0
        listen = None
    finally:
        if listen is not None:
            listen.p.kill()
        code = demo.interrupt()
    assert code == 0, "\n".join(demo.err[-20:])
    assert not (tmp_path / "demo.json").exists()
    assert not any("Traceback" in ln for ln in demo.err)
    # --log-format json: the console holds one kind of line, the libraries' log records included.
    assert all(_json(ln) for ln in demo.err + demo.lines if ln.strip()), demo.err + demo.lines

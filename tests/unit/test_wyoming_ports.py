"""The Wyoming door's other ports and choices: a snd-only port, an unreachable upstream, which
voice a Wyoming voice request picks (the scripted pipeline of test_wyoming_door)."""

from __future__ import annotations

import numpy as np
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.info import Describe, Info
from wyoming.tts import Synthesize, SynthesizeVoice

from avatar_node.wyoming import Door, WyomingServer, WyomingSettings
from tests.conftest import free_port
from tests.run_async import run_async
from tests.unit.test_wyoming_door import RATE, FakePipeline, Registry, exchange


def test_snd_only_port_and_an_unreachable_upstream():
    pipe = FakePipeline()
    dead = free_port()  # nothing listens here
    upstream = f"tcp://127.0.0.1:{dead}"
    settings = WyomingSettings(
        host="127.0.0.1",
        port=free_port(),
        snd_port=free_port(),
        upstream_tts=upstream,
        connect_timeout_s=2,
    )
    server = WyomingServer(Door(pipe, settings))
    server.start()
    try:
        assert server.snd_port == settings.snd_port
        (info,) = run_async(exchange(server.snd_port, [Describe().event()], ("info",)))
        parsed = Info.from_event(info)
        assert parsed.tts == [] and parsed.snd
        pcm = np.zeros(4000, dtype="<i2").tobytes()
        fmt = {"rate": RATE, "width": 2, "channels": 1}
        seq = [AudioStart(**fmt).event(), AudioChunk(audio=pcm, **fmt).event(), AudioStop().event()]
        played = run_async(exchange(server.snd_port, seq, ("played", "error")))
        assert [e.type for e in played] == ["played"]
        events = run_async(exchange(server.port, [Synthesize(text="Hi.").event()], ("error",)))
        err = Error.from_event(events[-1])
        assert err.code == "engine_error" and "unreachable" in err.text
    finally:
        server.stop()


def test_pick_voice_by_name_speaker_or_language():
    from avatar_node.wyoming.speak import pick_voice

    reg = Registry()
    assert pick_voice(reg, None) == (None, None)
    assert pick_voice(reg, SynthesizeVoice(name="other", speaker="bob")) == ("other", "bob")
    assert pick_voice(reg, SynthesizeVoice(name="default", speaker="1")) == ("default", 1)
    assert pick_voice(reg, SynthesizeVoice(language="en")) == ("default", None)
    assert pick_voice(reg, SynthesizeVoice(language="en-GB")) == ("default", None)
    assert pick_voice(reg, SynthesizeVoice(language="de_DE")) == (None, None)

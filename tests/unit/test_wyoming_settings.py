"""WyomingSettings: the documented defaults and a clear error for a bad upstream URI."""

import pytest
from pydantic import ValidationError

from avatar_node.wyoming import WyomingSettings


def test_defaults_are_the_documented_ones():
    s = WyomingSettings()
    assert (s.enabled, s.host, s.port, s.channel, s.upstream_tts) == (
        False, "0.0.0.0", 10200, "default", None
    )  # fmt: skip
    assert s.snd_port is None and s.mode == "queue" and s.priority == 5


@pytest.mark.parametrize("uri", ["piper:10200", "http://piper:10200", "tcp://piper", "tcp://:1"])
def test_upstream_must_be_a_tcp_uri(uri):
    with pytest.raises(ValidationError, match="upstream_tts must look like tcp://host:10200"):
        WyomingSettings(upstream_tts=uri)


def test_unknown_keys_are_refused():
    with pytest.raises(ValidationError, match="extra"):
        WyomingSettings(prot=10200)  # type: ignore[call-arg]

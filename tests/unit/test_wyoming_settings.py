"""WyomingSettings: the documented defaults and a clear error for a bad upstream URI."""

import pytest
from pydantic import ValidationError

from avatar_node.wyoming import WyomingSettings


def test_defaults_are_the_documented_ones():
    s = WyomingSettings()
    assert (s.enabled, s.host, s.port, s.channel, s.upstream_tts) == (
        False,
        "0.0.0.0",
        10200,
        "default",
        None,
    )
    assert s.snd_port is None and s.mode == "queue" and s.priority == 5


@pytest.mark.parametrize("uri", ["piper:10200", "http://piper:10200", "tcp://piper", "tcp://:1"])
def test_upstream_must_be_a_tcp_uri(uri):
    with pytest.raises(ValidationError, match="upstream_tts must look like tcp://host:10200"):
        WyomingSettings(upstream_tts=uri)


def test_unknown_keys_are_refused():
    with pytest.raises(ValidationError, match="extra"):
        WyomingSettings(prot=10200)  # type: ignore[call-arg]


def test_settings_load_without_the_wyoming_package_and_the_server_says_what_to_install():
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['wyoming'] = None\n"
        "from avatar_node.wyoming import WyomingSettings\n"
        "assert WyomingSettings().port == 10200\n"
        "import avatar_node.wyoming as w\n"
        "try:\n    w.serve\nexcept Exception as e:\n    print(type(e).__name__, e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "MissingDependency" in out.stdout and "avatar-node[wyoming]" in out.stdout

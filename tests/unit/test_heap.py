"""The heap setting of avatar_node.memory (its effect on a real decode: test_tts_shapes.py)."""

from __future__ import annotations

import pytest

from avatar_node import memory


def test_the_environment_wins_over_the_heap_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "131072")
    assert not memory.keep_buffers_in_heap()

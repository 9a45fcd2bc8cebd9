"""Alignment from the voice, and streaming inside a sentence, on real voices: the bundled Piper
joe-medium and the reference VITS-fast-fine-tuning checkpoint (chinese_cleaners, pinyin-style
Latin symbol set with tone digits, add_blank)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from avatar_node.tts import SynthesisOptions, Voice, load_voice
from avatar_node.tts.streaming import StreamPlan
from tests.conftest import fixture_path
from tests.unit.test_vits_alignment import check_covering

pytestmark = pytest.mark.integration

HELD_OUT = "Bob, open the map. Ah, we see you! Five quiet zebras jumped over thick fog."


@pytest.fixture(scope="module")
def piper() -> Voice:
    return load_voice(device="cpu", dtype="float32")


@pytest.fixture(scope="module")
def checkpoint(vits_config: Path, vits_checkpoint: Path) -> Voice:
    return load_voice(vits_config, vits_checkpoint, device="cpu", dtype="float32")


def checkpoint_ids() -> list[list[int]]:
    ids = []
    for name in ("case_L12_sid0", "case_L30_sid1", "case_L57_sid0"):
        with np.load(fixture_path("reference", "vits", f"{name}.npz")) as z:
            ids.append(z["x"][0].tolist())
    return ids


def check_aligned(voice: Voice, ids: list[int], options: SynthesisOptions) -> None:
    torch.manual_seed(1)
    whole = voice.synthesize_aligned(ids, options)
    assert whole.audio.size % voice.hop_length == 0 and whole.audio.size > 0
    check_covering(whole.phones, whole.duration_ms)  # exact: durations are whole frames
    assert "".join(p.phoneme for p in whole.phones) == voice.symbol_table.spelled(ids)
    assert all(p.phoneme for p in whole.phones)


@pytest.mark.parametrize("length_scale", [1.0, 0.6, 1.7])
def test_piper_alignment_covers_the_audio(piper: Voice, length_scale: float) -> None:
    for ids in piper.text_to_ids(HELD_OUT):
        check_aligned(piper, ids, SynthesisOptions(length_scale=length_scale))
    phones = piper.synthesize_aligned(piper.text_to_ids("Bob, open the map.")[0]).phones
    assert [p.viseme for p in phones][:4] == ["PP", "aa", "PP", "sil"]
    assert "PP" in {p.viseme for p in phones if p.phoneme.startswith("m")}


@pytest.mark.parametrize("length_scale", [1.0, 2.0])
def test_checkpoint_alignment_covers_the_audio(checkpoint: Voice, length_scale: float) -> None:
    assert checkpoint.symbol_table.kind == "latin"
    for ids in checkpoint_ids() + checkpoint.text_to_ids("你好，世界。"):
        check_aligned(checkpoint, ids, SynthesisOptions(speaker=1, length_scale=length_scale))


def snr_db(reference: np.ndarray, other: np.ndarray) -> float:
    noise = float(((reference - other) ** 2).sum())
    return float("inf") if noise == 0 else 10 * np.log10(float((reference**2).sum()) / noise)


def check_stream(voice: Voice, ids: list[int], options: SynthesisOptions, plan: StreamPlan) -> int:
    torch.manual_seed(7)
    whole = voice.synthesize_aligned(ids, options)
    torch.manual_seed(7)
    pieces = list(voice.stream_aligned(ids, options, plan))
    audio = np.concatenate([p.audio for p in pieces])
    assert audio.size == whole.audio.size
    assert snr_db(whole.audio, audio) >= 40.0
    position = 0
    for piece in pieces:
        assert piece.start_sample == position and piece.sample_rate == voice.sample_rate
        check_covering(piece.phones, piece.duration_ms)
        position += piece.audio.size
    assert [p.final for p in pieces] == [False] * (len(pieces) - 1) + [True]
    first = pieces[0].audio.size // voice.hop_length
    assert first == min(plan.first_frames, whole.audio.size // voice.hop_length) or len(pieces) == 1
    return len(pieces)


@pytest.mark.parametrize("plan", [StreamPlan(), StreamPlan(8, 2.0, 24), StreamPlan(1, 1.0, 1)])
def test_piper_stream_equals_the_whole_decode(piper: Voice, plan: StreamPlan) -> None:
    counts = [
        check_stream(piper, ids, SynthesisOptions(), plan) for ids in piper.text_to_ids(HELD_OUT)
    ]
    assert max(counts) > 1


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_checkpoint_stream_equals_the_whole_decode(checkpoint: Voice, dtype: str) -> None:
    checkpoint.to("cpu", dtype)
    try:
        for ids in checkpoint_ids():
            check_stream(checkpoint, ids, SynthesisOptions(speaker=0), StreamPlan(8, 2.0, 32))
    finally:
        checkpoint.to("cpu", "float32")

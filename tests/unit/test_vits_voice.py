"""The Voice API on a tiny random model, and the Piper espeak front-end conventions."""

from __future__ import annotations

import numpy as np
import pytest
import structlog
import torch

from avatar_node.errors import BadRequest, UnknownSpeaker
from avatar_node.tts import Voice
from avatar_node.tts.text.espeak import phonemes_to_ids, phonemize
from tests.unit.test_vits_modules import tiny_model


class FakeFrontend:
    """One id list per '|'-separated part of the text."""

    languages = ["xx"]

    def text_to_ids(self, text: str, language: str | None = None) -> list[list[int]]:
        return [
            [1, 0, *[3 + (ord(c) % 10) for c in part], 0, 2] for part in text.split("|") if part
        ]


def tiny_voice(n_speakers: int = 0) -> Voice:
    extra = {"n_speakers": n_speakers, "gin_channels": 4} if n_speakers else {}
    model = tiny_model(11, **extra)
    with torch.no_grad():  # durations of several frames, so length_scale has an effect
        model.dp.flows[0].m.fill_(-2.0)
        model.dp.flows[0].logs.zero_()
    return Voice(
        "tiny", model, FakeFrontend(), 16000,
        {"ann": 0, "bob": 1} if n_speakers else {}, noise_scale=0.667, noise_scale_w=0.8,
    )  # fmt: skip


def test_synthesize_yields_one_float32_array_per_model_call() -> None:
    voice = tiny_voice()
    chunks = list(voice.synthesize("abc|de|fgh"))
    assert len(chunks) == 3
    for chunk in chunks:
        assert chunk.dtype == np.float32 and chunk.ndim == 1
        assert chunk.size % voice.hop_length == 0 and chunk.size > 0
    assert voice.languages == ["xx"] and voice.sample_rate == 16000
    assert voice.synthesize_ids([]).size == 0
    with pytest.raises(BadRequest):
        voice.synthesize_ids([1, 99])


def test_warmup_runs_one_synthesis() -> None:
    voice = tiny_voice()
    voice.warmup()
    voice.warmup("")  # no ids from the front-end: falls back to a fixed id sequence


def test_speed_shortens_audio() -> None:
    voice = tiny_voice()
    ids = voice.text_to_ids("abcdefgh")[0]
    normal = voice.synthesize_ids(ids, noise_scale=0, noise_scale_w=0)
    fast = next(voice.synthesize("abcdefgh", speed=2.0, noise_scale=0, noise_scale_w=0))
    assert fast.size < normal.size


def test_resolve_speaker_single_and_multi() -> None:
    single = tiny_voice()
    assert single.resolve_speaker(None) is None and single.resolve_speaker(0) is None
    with pytest.raises(UnknownSpeaker):
        single.resolve_speaker("bob")
    multi = tiny_voice(n_speakers=2)
    assert multi.resolve_speaker(None) == 0
    assert multi.resolve_speaker("bob") == 1 and multi.resolve_speaker("1") == 1
    for bad in ("carol", 2, -1, 1.5, True):
        with pytest.raises(UnknownSpeaker):
            multi.resolve_speaker(bad)  # type: ignore[arg-type]
    with pytest.raises(UnknownSpeaker):
        next(multi.synthesize("abc", speaker="carol"))
    a = multi.synthesize_ids([1, 0, 5, 0, 2], "ann", 0, 0)
    b = multi.synthesize_ids([1, 0, 5, 0, 2], "bob", 0, 0)
    assert not np.array_equal(a, b)


def test_bfloat16_decoder_is_close_to_float32() -> None:
    voice = tiny_voice()
    ids = [1, 0, 4, 0, 7, 0, 2]
    reference = voice.synthesize_ids(ids, noise_scale=0, noise_scale_w=0)
    voice.to("cpu", "bfloat16")
    assert voice.model.dec.conv_pre.weight.dtype == torch.bfloat16
    assert voice.model.enc_p.proj.weight.dtype == torch.float32  # durations stay exact
    low = voice.synthesize_ids(ids, noise_scale=0, noise_scale_w=0)
    assert low.dtype == np.float32 and low.shape == reference.shape
    assert np.abs(low - reference).max() < 0.1


def test_piper_id_layout_and_missing_symbols_are_dropped() -> None:
    id_map = {"^": [1], "_": [0], "$": [2], "a": [5], "b": [6]}
    with structlog.testing.capture_logs() as logs:
        ids = phonemes_to_ids(["a", "x", "b"], id_map)
    assert ids == [1, 0, 5, 0, 6, 0, 2]
    assert any("missing" in entry["event"] for entry in logs)


def test_espeak_splits_sentences_like_piper() -> None:
    sentences = phonemize("Hello there, Dr. Smith. How are you?", "en-us")
    assert len(sentences) == 3  # "Dr." ends a sentence in espeak-ng
    assert sentences[0][-2:] == [",", " "] or sentences[0][-1] == "."
    assert sentences[-1][-1] == "?"
    assert all(len(symbol) == 1 for s in sentences for symbol in s)  # NFD code points
    raw = phonemize("[[ hɛloʊ ]] world", "en-us")
    assert raw[0][:6] == list("hɛloʊ") + [" "]

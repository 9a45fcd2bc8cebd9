"""Phone timelines from durations, the viseme table, and the aligned Voice API on a tiny model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from avatar_node.media.alignment import VISEMES, Phone
from avatar_node.tts import SynthesisOptions
from avatar_node.tts.alignment import SymbolTable, frame_phones, to_phones
from avatar_node.tts.text.visemes import markdown_table, role, viseme
from tests.unit.test_vits_voice import tiny_voice

REPO = Path(__file__).resolve().parents[2]


def check_covering(phones: list[Phone], duration_ms: float) -> None:
    assert phones, "no phones"
    assert phones[0].start_ms == 0.0
    for a, b in zip(phones, phones[1:], strict=False):
        assert a.end_ms == b.start_ms and a.end_ms > a.start_ms
    assert phones[-1].end_ms == pytest.approx(duration_ms, abs=1e-6)
    assert {p.viseme for p in phones} <= set(VISEMES)


def test_blanks_split_between_neighbours_and_modifiers_join_their_phone() -> None:
    table = SymbolTable(
        {0: "_", 1: "^", 2: "$", 3: "b", 4: "ˈ", 5: "ɑ", 6: "ː", 7: ",", 8: " "},
        frozenset({0, 1, 2}),
    )
    ids = [1, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8, 0, 2]
    frames = [2, 2, 3, 2, 1, 2, 4, 2, 3, 2, 5, 2, 1, 2, 3]
    timeline = frame_phones(ids, frames, table)
    assert [(p.phoneme, p.viseme) for p in timeline] == [
        ("b", "PP"), ("ˈɑː", "aa"), (", ", "sil"),
    ]  # fmt: skip
    # b: leading ^ _ (4) + 3 + half blank (1) + half of the blank after ˈ (1)
    assert [(p.start, p.end) for p in timeline] == [(0, 9), (9, 22), (22, sum(frames))]
    assert "".join(p.phoneme for p in timeline) == table.spelled(ids)
    phones = to_phones(timeline, 256, 22050)
    check_covering(phones, sum(frames) * 256 * 1000 / 22050)
    cut = to_phones(timeline, 256, 22050, 8.0, 10.0)
    assert [p.phoneme for p in cut] == ["b", "ˈɑː"]
    check_covering(cut, 2 * 256 * 1000 / 22050)


def test_only_blanks_is_one_silence() -> None:
    timeline = frame_phones([0, 0], [3, 4], SymbolTable({0: "_"}, frozenset({0})))
    assert [(p.phoneme, p.viseme, p.end) for p in timeline] == [("", "sil", 7.0)]


@pytest.mark.parametrize(
    ("symbol", "kind", "expected"),
    [
        ("p", "ipa", "PP"), ("m", "latin", "PP"), ("f", "ipa", "FF"), ("θ", "ipa", "TH"),
        ("ð", "ipa", "TH"), ("t", "ipa", "DD"), ("k", "ipa", "kk"), ("ʃ", "ipa", "CH"),
        ("tʃ", "ipa", "DD"), ("s", "ipa", "SS"), ("n", "ipa", "nn"), ("ɹ", "ipa", "RR"),
        ("ɑ", "ipa", "aa"), ("ɛ", "ipa", "E"), ("ɪ", "ipa", "ih"), ("ɔ", "ipa", "oh"),
        ("ʊ", "ipa", "ou"), ("j", "ipa", "ih"), ("j", "latin", "CH"), ("x", "ipa", "kk"),
        ("x", "latin", "CH"), ("ㄅ", "latin", "PP"), ("ㄩ", "ipa", "ou"), ("ㄓ", "ipa", "CH"),
        ("か", "latin", "aa"), ("み", "latin", "ih"), ("ん", "latin", "nn"), ("っ", "latin", "DD"),
        ("N", "latin", "nn"), ("Ｐ", "latin", "PP"), ("，", "ipa", "sil"), (" ", "ipa", "sil"),
        ("。", "latin", "sil"), ("é", "ipa", "E"), ("ˈa", "ipa", "aa"), ("ㅂ", "ipa", "PP"),
    ],
)  # fmt: skip
def test_viseme_table(symbol: str, kind: str, expected: str) -> None:
    assert viseme(symbol, kind) == expected  # type: ignore[arg-type]


def test_roles() -> None:
    assert role("ˈ") == "before" and role("ˌ") == "before"
    for symbol in ("ː", "ʰ", "3", "ˇ", "↓", "\u0303", "ー", "⁼"):
        assert role(symbol) == "after", symbol
    for symbol in ("a", "ᵻ", ",", "ʃ"):
        assert role(symbol) == "phone", symbol


def test_docs_table_is_generated_from_the_code() -> None:
    assert (REPO / "docs" / "visemes.md").read_text(encoding="utf-8") == markdown_table()


def test_tiny_voice_aligned_and_streamed_with_length_scale() -> None:
    voice = tiny_voice()
    ids = voice.text_to_ids("abcdefgh")[0]
    for scale in (1.0, 2.5):
        options = SynthesisOptions(noise_scale=0.0, noise_scale_w=0.0, length_scale=scale)
        whole = voice.synthesize_aligned(ids, options)
        assert whole.audio.dtype == np.float32 and whole.sample_rate == voice.sample_rate
        check_covering(whole.phones, whole.duration_ms)
        assert np.array_equal(whole.audio, voice.synthesize_ids(ids, None, 0.0, 0.0, scale))
    assert voice.options(speed=2.0).length_scale == voice.length_scale / 2
    with pytest.raises(ValueError):
        voice.options(speed=0)
    assert voice.synthesize_aligned([]).audio.size == 0
    assert list(voice.stream_aligned([])) == []

"""Text normalisation never raises on odd input (emoji, RTL, control characters, long words).

The only exception allowed is MissingDependency for a language whose optional package is absent
(Japanese without pyopenjtalk, Sanskrit without indic_transliteration, espeak for
english_cleaners2): that is an install problem, not odd input.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from avatar_node.errors import MissingDependency
from avatar_node.tts.text.cleaners import CLEANERS, clean_text, text_to_sequence

SYMBOLS = list("_,.!?-~…NQabdefghijklmnopstuvwxyzɑæʃʑçɯɪɔɛɹðəɫɥɸʊɾʒθβŋɦ⁼ʰ`^#*=ˈˌ→↓↑ ")

_pieces = st.one_of(
    st.text(max_size=12),  # any code point, controls and surrogates' neighbours included
    st.sampled_from(
        [
            "你好", "2024年3月15日", "3.5%", "Python", "$3.50", "21st", "1,000", "Dr.",
            "안녕하세요", "3개", "😀👍🏽", "\u202eשלום\u202c", "مرحبا", "\x00\x07\x1b", "\n\t",
            "…", "[ZH]", "[EN]", "[KO]", "[JA]", "[", "]", "ㄅㄆ", "ˉˊ", "ﬁ", "é", "\ufeff",
        ]
    ),
)  # fmt: skip
_texts = st.lists(_pieces, max_size=8).map("".join)
_wrapped = st.tuples(st.sampled_from(["ZH", "EN", "KO", ""]), _texts).map(
    lambda p: f"[{p[0]}]{p[1]}[{p[0]}]" if p[0] else p[1]
)
_cleaners = st.sampled_from(sorted(CLEANERS))


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(text=_wrapped, cleaner=_cleaners)
def test_cleaning_never_raises(text: str, cleaner: str) -> None:
    try:
        cleaned = clean_text(text, [cleaner])
    except MissingDependency:
        return
    assert isinstance(cleaned, str)
    ids, dropped = text_to_sequence(text, SYMBOLS, [cleaner], add_blank=True)
    assert len(ids) % 2 == 1
    assert all(0 <= i < len(SYMBOLS) for i in ids)
    assert all(ch not in SYMBOLS for ch in dropped)


@pytest.mark.parametrize(
    "text",
    [
        "[ZH]" + "啊" * 10_000 + "[ZH]",
        "[EN]" + "a" * 10_000 + "[EN]",
        "[EN]" + "7" * 10_000 + "[EN]",
        "[ZH]" + "7" * 10_000 + "[ZH]",
        "[KO]" + "7" * 10_000 + "개[KO]",
        "[ZH]" + "😀" * 10_000 + "[ZH]",
    ],
    ids=["hanzi", "latin", "en-digits", "zh-digits", "ko-digits", "emoji"],
)
def test_ten_thousand_character_words(text: str) -> None:
    start = time.monotonic()
    for cleaner in ("cjke_cleaners2", "cjks_cleaners", "chinese_cleaners", "basic_cleaners"):
        assert isinstance(clean_text(text, [cleaner]), str)
    assert time.monotonic() - start < 15

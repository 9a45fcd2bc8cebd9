"""Sentence splitting for whole texts and streamed deltas."""

from hypothesis import given, settings
from hypothesis import strategies as st

from avatar_node.pipeline.splitter import SentenceCutter, split_sentences


def test_sentences_abbreviations_and_numbers():
    text = "Hello Dr. Smith, how are you? I am fine. Pi is 3.14 today! 你好，世界。今天天气很好。"
    assert split_sentences(text) == [
        "Hello Dr. Smith, how are you?", "I am fine.", "Pi is 3.14 today!", "你好，世界。",
        "今天天气很好。",
    ]


def test_long_sentences_cut_at_clauses_and_first_chunk_short():
    text = ("This first sentence runs on, and on, with clause after clause; it keeps going, "
            "far beyond what a first chunk should be, before it finally ends. Short.")
    pieces = split_sentences(text, max_chars=100, first_max_chars=40)
    assert len(pieces[0]) <= 40 and pieces[0].endswith(",")
    assert all(len(p) <= 100 for p in pieces)
    assert " ".join(pieces).replace("  ", " ") == " ".join(text.split())


def test_huge_word_is_hard_cut():
    pieces = split_sentences("x" * 1000, max_chars=160)
    assert all(len(p) <= 160 for p in pieces) and "".join(pieces) == "x" * 1000


def test_stream_releases_only_complete_sentences():
    cut = SentenceCutter()
    assert cut.feed("Hello there") == []
    assert cut.feed(".") == []  # the '.' could still become '.5'
    assert cut.feed(" How are") == ["Hello there."]
    assert cut.feed(" you? The value is 3.") == ["How are you?"]
    assert cut.feed("14 exactly") == []
    assert cut.flush() == ["The value is 3.14 exactly"]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=600))
def test_splitter_never_raises_and_keeps_the_words(text):
    pieces = split_sentences(text, max_chars=50, first_max_chars=20)
    assert all(p.strip() for p in pieces)
    assert "".join("".join(pieces).split()) == "".join(text.split())


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=40), max_size=20))
def test_streamed_text_equals_whole_text(deltas):
    cut = SentenceCutter(max_chars=50, first_max_chars=20)
    out = []
    for d in deltas:
        out += cut.feed(d)
    out += cut.flush()
    assert "".join("".join(out).split()) == "".join("".join(deltas).split())

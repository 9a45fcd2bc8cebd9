"""Sentence splitting for streaming TTS.

:func:`split_sentences` cuts a whole text into sentences and cuts sentences that are too long at
clause boundaries (commas, semicolons, dashes, CJK clause marks), the first one shorter still so the
first sound comes quickly. :class:`SentenceCutter` does the same for text that arrives in deltas:
it only releases a sentence once the text after its terminator shows that it really ended.
"""

from __future__ import annotations

import re

# Sentence terminators. ASCII ones end a sentence only when followed by whitespace (or the end);
# CJK full-width ones end it at once.
_ASCII_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)")
_CJK_END = re.compile(r"[。！？；]+[”’）」』]*")
_NEWLINES = re.compile(r"\n\s*\n|\r\n\s*\r\n")
_CLAUSE = re.compile(r"[,;:，、；：—–]+\s*|\s+[-–—]\s+")
_ABBREVIATIONS = {
    "mr",
    "mrs",
    "ms",
    "dr",
    "prof",
    "sr",
    "jr",
    "st",
    "vs",
    "etc",
    "e.g",
    "i.e",
    "no",
    "fig",
    "mt",
    "inc",
    "ltd",
    "co",
    "approx",
    "dept",
    "est",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
}


def _is_abbreviation(text: str, end: int) -> bool:
    """True if the '.' at ``end`` closes an abbreviation or an initial ("J. Smith")."""
    if end >= len(text) or text[end] != ".":
        return False
    start = end
    while start > 0 and (text[start - 1].isalpha() or text[start - 1] == "."):
        start -= 1
    word = text[start:end]
    return word.lower() in _ABBREVIATIONS or (len(word) == 1 and word.isupper())


def _sentence_ends(text: str) -> list[int]:
    """Indices just past each sentence end in ``text`` (complete sentences only)."""
    ends: set[int] = set()
    for m in _ASCII_END.finditer(text):
        if m.group().startswith(".") and len(m.group().rstrip("\"'”’)]")) == 1:
            if _is_abbreviation(text, m.start()):
                continue
        ends.add(m.end())
    ends.update(m.end() for m in _CJK_END.finditer(text))
    ends.update(m.start() for m in _NEWLINES.finditer(text))
    return sorted(e for e in ends if text[:e].strip())


def _cut_long(sentence: str, limit: int) -> list[str]:
    """Cut at clause boundaries, then at spaces, then hard, so every piece is <= ``limit``."""
    if len(sentence) <= limit:
        return [sentence]
    best = None
    for m in _CLAUSE.finditer(sentence):
        if 0 < m.end() <= limit and sentence[m.end() :].strip():
            best = m.end()
    if best is None:
        space = sentence.rfind(" ", 0, limit + 1)
        best = space + 1 if space > 0 else limit
    head, tail = sentence[:best].strip(), sentence[best:].strip()
    return [head, *_cut_long(tail, limit)] if tail else [head]


def _first_short(pieces: list[str], first_limit: int) -> list[str]:
    """Cut the first piece at a clause boundary if it is longer than ``first_limit``."""
    if not pieces or len(pieces[0]) <= first_limit:
        return pieces
    first = pieces[0]
    cut = None
    for m in _CLAUSE.finditer(first):
        if 0 < m.end() <= first_limit and first[m.end() :].strip():
            cut = m.end()
    if cut is None:
        return pieces
    return [first[:cut].strip(), first[cut:].strip(), *pieces[1:]]


def split_sentences(text: str, max_chars: int = 160, first_max_chars: int | None = 80) -> list[str]:
    """Sentences of ``text`` (whitespace-normalised), long ones cut at clause boundaries."""
    pieces: list[str] = []
    start = 0
    for end in [*_sentence_ends(text), len(text)]:
        chunk = " ".join(text[start:end].split())
        start = end
        if chunk:
            pieces.extend(_cut_long(chunk, max_chars))
    if first_max_chars:
        pieces = _first_short(pieces, first_max_chars)
    return pieces


class SentenceCutter:
    """Accumulates streamed text and releases complete sentences."""

    def __init__(self, max_chars: int = 160, first_max_chars: int | None = 80):
        self.max_chars = max_chars
        self.first_max_chars = first_max_chars
        self._buffer = ""
        self._released = 0

    def feed(self, delta: str) -> list[str]:
        """Add text; return the sentences that are now complete."""
        self._buffer += delta
        ends = _sentence_ends(self._buffer)
        # A sentence end at the very end of the buffer may still grow ("3." -> "3.14").
        complete = [e for e in ends if e < len(self._buffer)]
        if not complete:
            # Long run-on text: release clause-cut pieces once the buffer is over the limit.
            if len(self._buffer) > self.max_chars:
                return self._take(self._last_clause_cut())
            return []
        return self._take(complete[-1])

    def flush(self) -> list[str]:
        """Release whatever is left (the stream ended)."""
        return self._take(len(self._buffer))

    def _last_clause_cut(self) -> int:
        cut = 0
        for m in _CLAUSE.finditer(self._buffer):
            if m.end() <= self.max_chars:
                cut = m.end()
        if cut == 0:
            space = self._buffer.rfind(" ", 0, self.max_chars + 1)
            cut = space + 1 if space > 0 else self.max_chars
        return cut

    def _take(self, upto: int) -> list[str]:
        text, self._buffer = self._buffer[:upto], self._buffer[upto:]
        first = self.first_max_chars if self._released == 0 else None
        out = split_sentences(text, self.max_chars, first)
        self._released += len(out)
        return out

"""Phone timelines from the model's own durations: ids + ``w_ceil`` frames → :class:`Phone` list.

Each input id lasts ``w_ceil`` decoder frames of ``hop_length`` samples, and the decoder output is
exactly ``sum(w_ceil)·hop`` samples, so a timeline built from the same durations is exact to the
sample. Symbols come from the voice's :class:`SymbolTable`:

* blanks (``add_blank``'s 0, Piper's ``_`` pad, ``^``/``$``) give half their frames to the phone
  before and half to the phone after (all of it at the ends of the sequence);
* modifiers (``ː``, ``ʰ``, tone digits, ...; :func:`~.text.visemes.role`) join their phone,
  their symbol appended to (or, for stress marks, prefixed to) its ``phoneme``;
* adjacent ``sil`` phones (a comma and its space) merge into one.

So the phones' ``phoneme`` strings, concatenated, spell the non-blank symbols of the ids, and the
phones are ordered, contiguous and cover ``[0, frames·hop/sample_rate·1000]`` ms.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from avatar_node.media.alignment import Phone

from .text.visemes import SymbolKind, role, viseme


@dataclass(frozen=True)
class SymbolTable:
    """What each model input id stands for, for building timelines."""

    symbols: Mapping[int, str]
    """id → symbol (a Piper ``phoneme_id_map`` inverted, or a VITS config's ``symbols``)."""
    blanks: frozenset[int] = field(default_factory=frozenset)
    """Ids folded into their neighbours (blank / pad / BOS / EOS)."""
    kind: SymbolKind = "ipa"
    """How plain ASCII letters read (IPA, or pinyin/romaji)."""

    def symbol(self, symbol_id: int) -> str:
        return self.symbols.get(symbol_id, f"#{symbol_id}")

    def spelled(self, ids: Sequence[int]) -> str:
        """The non-blank symbols of ``ids`` concatenated (what a timeline's phonemes spell)."""
        return "".join(self.symbol(i) for i in ids if i not in self.blanks)


@dataclass
class _Unit:
    phoneme: str
    viseme: str
    frames: float


@dataclass(frozen=True)
class FramePhone:
    """A phone on the frame clock (fractional frames: a blank's half)."""

    phoneme: str
    viseme: str
    start: float
    end: float


def frame_phones(
    ids: Sequence[int], frames: Sequence[float], table: SymbolTable
) -> list[FramePhone]:
    """The timeline of one model call in decoder frames (see the module docstring)."""
    if len(ids) != len(frames):
        raise ValueError(f"{len(ids)} ids but {len(frames)} durations")
    units: list[_Unit] = []
    carry, prefix = 0.0, ""
    for symbol_id, count in zip(ids, frames, strict=True):
        count = float(count)
        if symbol_id in table.blanks:
            if units:
                units[-1].frames += count / 2
                carry += count / 2
            else:
                carry += count
            continue
        symbol = table.symbol(symbol_id)
        kind = role(symbol)
        if kind == "after" and units and not prefix:
            units[-1].phoneme += symbol
            units[-1].frames += carry + count
            carry = 0.0
        elif kind != "phone":
            prefix += symbol
            carry += count
        else:
            name = viseme(symbol, table.kind)
            last = units[-1] if units else None
            if name == "sil" and last is not None and last.viseme == "sil" and not prefix:
                last.phoneme += symbol
                last.frames += carry + count
            else:
                units.append(_Unit(prefix + symbol, name, carry + count))
            carry, prefix = 0.0, ""
    if units:
        units[-1].phoneme += prefix
        units[-1].frames += carry
    elif carry or prefix:
        units.append(_Unit(prefix, "sil", carry))
    out: list[FramePhone] = []
    start = 0.0
    for unit in units:
        end = start + unit.frames
        out.append(FramePhone(unit.phoneme, unit.viseme, start, end))
        start = end
    return out


def to_phones(
    timeline: Sequence[FramePhone],
    hop_length: int,
    sample_rate: int,
    start: float = 0.0,
    end: float | None = None,
) -> list[Phone]:
    """Frames ``[start, end)`` of a frame timeline as :class:`Phone` on that window's own clock
    (ms from ``start``); phones cut at the window's edges, empty ones left out."""
    stop = timeline[-1].end if end is None and timeline else (end or 0.0)
    phones: list[Phone] = []
    for p in timeline:
        a, b = max(p.start, start), min(p.end, stop)
        if b > a:  # (frames·hop) first: whole frames give whole samples, as the audio has
            ms_a = (a - start) * hop_length * 1000.0 / sample_rate
            ms_b = (b - start) * hop_length * 1000.0 / sample_rate
            phones.append(Phone(p.phoneme, p.viseme, ms_a, ms_b))
    return phones

"""English number reading (keithito/tacotron rules, as VITS-fast-fine-tuning's English front-end).

Order of the steps over the (already lower-cased, ASCII) text:

1. thousands separators are removed inside digit groups (``1,000,000`` -> ``1000000``);
2. ``£N`` -> ``N pounds``;
3. ``$N[.M]`` -> ``N dollars, M cents`` (singular for 1; ``$0`` -> ``zero dollars``);
4. decimals: the point is read ``point`` (``3.14`` -> ``3 point 14``);
5. ordinals (``21st``) -> inflect words (``twenty-first``);
6. remaining integers -> inflect words without "and"; 1001..2999 are read as years
   (``1995`` -> ``nineteen ninety-five``, ``2005`` -> ``two thousand five``,
   ``1900`` -> ``nineteen hundred``, ``1905`` -> ``nineteen oh five``).

Numbers inflect cannot read (over 36 digits; the reference raises there) are read digit by digit.
"""

from __future__ import annotations

import re
from typing import Any

from avatar_node.tts.text import deps

_PURPOSE = "for English numbers"

_COMMA_NUMBER = re.compile(r"([0-9][0-9\,]+[0-9])")
_DECIMAL_NUMBER = re.compile(r"([0-9]+\.[0-9]+)")
_POUNDS = re.compile(r"£([0-9\,]*[0-9]+)")
_DOLLARS = re.compile(r"\$([0-9\.\,]*[0-9]+)")
_ORDINAL = re.compile(r"[0-9]+(st|nd|rd|th)")
_INTEGER = re.compile(r"[0-9]+")

_DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def _engine() -> Any:
    inflect = deps.require("inflect", _PURPOSE)
    return deps.singleton("inflect", inflect.engine)


def _digit_by_digit(digits: str) -> str:
    return " ".join(_DIGIT_NAMES[int(d)] for d in digits)


def _plural(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


def _dollars(match: re.Match[str]) -> str:
    amount = match.group(1)
    parts = amount.split(".")
    if len(parts) > 2:
        return amount + " dollars"
    try:
        dollars = int(parts[0]) if parts[0] else 0
        cents = int(parts[1]) if len(parts) > 1 and parts[1] else 0
    except ValueError:  # e.g. "$,5": the reference raises; read it as it stands
        return amount + " dollars"
    if dollars and cents:
        return (
            f"{dollars} {_plural(dollars, 'dollar', 'dollars')}, "
            f"{cents} {_plural(cents, 'cent', 'cents')}"
        )
    if dollars:
        return f"{dollars} {_plural(dollars, 'dollar', 'dollars')}"
    if cents:
        return f"{cents} {_plural(cents, 'cent', 'cents')}"
    return "zero dollars"


def _ordinal(match: re.Match[str]) -> str:
    token = match.group(0)
    try:
        return str(_engine().number_to_words(token))
    except Exception:  # noqa: BLE001 - inflect's NumOutOfRangeError (> 36 digits)
        return _digit_by_digit(token[:-2]) + " " + token[-2:]


def _integer(match: re.Match[str]) -> str:
    digits = match.group(0)
    try:
        return _read_integer(digits)
    except Exception:  # noqa: BLE001 - > 36 digits (inflect) or > 4300 digits (int())
        return _digit_by_digit(digits)


def _read_integer(digits: str) -> str:
    num = int(digits)
    words = _engine().number_to_words
    if 1000 < num < 3000:
        if num == 2000:
            return "two thousand"
        if 2000 < num < 2010:
            return "two thousand " + str(words(num % 100))
        if num % 100 == 0:
            return str(words(num // 100)) + " hundred"
        return str(words(num, andword="", zero="oh", group=2)).replace(", ", " ")
    return str(words(num, andword=""))


def normalize_numbers(text: str) -> str:
    """Spell out the numbers, money amounts and ordinals of lower-cased ASCII text."""
    if not any(ch.isdigit() for ch in text):
        return text
    text = _COMMA_NUMBER.sub(lambda m: m.group(1).replace(",", ""), text)
    text = _POUNDS.sub(lambda m: m.group(1) + " pounds", text)
    text = _DOLLARS.sub(_dollars, text)
    text = _DECIMAL_NUMBER.sub(lambda m: m.group(1).replace(".", " point "), text)
    text = _ORDINAL.sub(_ordinal, text)
    return _INTEGER.sub(_integer, text)

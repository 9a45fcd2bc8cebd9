"""Sanskrit front-end of VITS-fast-fine-tuning (``[SA]`` segments of ``cjks_cleaners``).

Devanagari is normalised (ॐ -> ओम्; a final danda -> ``.``, other dandas -> ``, ``, a double
danda -> ``.``), transliterated to IAST with ``indic_transliteration``, then IAST is mapped to
IPA with an ordered table (unaspirated stops marked ``⁼``, aspirates ``ʰ``, retroflexes with a
backtick, length ``ː``). A visarga ``ḥ`` is finally written as ``h`` plus an echo of the vowel
before it, followed by ``*``.
"""

from __future__ import annotations

import re

from avatar_node.tts.text import deps

_PURPOSE = "for Sanskrit ([SA] in cjks_cleaners)"

#: IAST -> IPA, literal, applied in this order (later rows see earlier rows' output).
IAST_TO_IPA: tuple[tuple[str, str], ...] = (
    ("a", "ə"),
    ("ā", "aː"),
    ("ī", "iː"),
    ("ū", "uː"),
    ("ṛ", "ɹ`"),
    ("ṝ", "ɹ`ː"),
    ("ḷ", "l`"),
    ("ḹ", "l`ː"),
    ("e", "eː"),
    ("o", "oː"),
    ("k", "k⁼"),
    ("k⁼h", "kʰ"),
    ("g", "g⁼"),
    ("g⁼h", "gʰ"),
    ("ṅ", "ŋ"),
    ("c", "ʧ⁼"),
    ("ʧ⁼h", "ʧʰ"),
    ("j", "ʥ⁼"),
    ("ʥ⁼h", "ʥʰ"),
    ("ñ", "n^"),
    ("ṭ", "t`⁼"),
    ("t`⁼h", "t`ʰ"),
    ("ḍ", "d`⁼"),
    ("d`⁼h", "d`ʰ"),
    ("ṇ", "n`"),
    ("t", "t⁼"),
    ("t⁼h", "tʰ"),
    ("d", "d⁼"),
    ("d⁼h", "dʰ"),
    ("p", "p⁼"),
    ("p⁼h", "pʰ"),
    ("b", "b⁼"),
    ("b⁼h", "bʰ"),
    ("y", "j"),
    ("ś", "ʃ"),
    ("ṣ", "s`"),
    ("r", "ɾ"),
    ("l\u0324", "l`"),
    ("h", "ɦ"),
    ("'", ""),
    ("~", "^"),
    ("ṃ", "^"),
)

_VISARGA = re.compile("(.)[`ː]*ḥ")


def devanagari_to_ipa(text: str) -> str:
    """Devanagari Sanskrit -> IPA."""
    text = text.replace("ॐ", "ओम्")
    text = re.sub(r"\s*।\s*$", ".", text)
    text = re.sub(r"\s*।\s*", ", ", text)
    text = re.sub(r"\s*॥", ".", text)
    sanscript = deps.require("indic_transliteration.sanscript", _PURPOSE)
    text = str(sanscript.transliterate(text, sanscript.DEVANAGARI, sanscript.IAST))
    for old, new in IAST_TO_IPA:
        text = text.replace(old, new)
    return _VISARGA.sub(lambda m: m.group(0)[:-1] + "h" + m.group(1) + "*", text)

"""Regenerate ``docs/visemes.png``: the bundled avatar saying a line, frame by frame.

The bundled voice synthesizes the line with its own alignment; the ``viseme`` engine renders
every 25 fps frame; each tile is the face of one frame with, under it, the time, the viseme and
the phoneme sounding at the frame's centre. Life (blinks, sway) is off so only the mouth moves.

    python docs/visemes_sheet.py [--text "..."] [--out docs/visemes.png] [--cols 10]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import cv2
import numpy as np

from avatar_node.lipsync import VisemeEngine, enrol_avatar
from avatar_node.media.alignment import Phone, shift
from avatar_node.tts import load_voice

TEXT = "Bob, open the map. Ah, we see you!"
TILE_W = 150
LABEL_H = 34
XSAMPA = {"ɑ": "A", "æ": "{", "ɐ": "6", "ʌ": "V", "ɛ": "E", "ə": "@", "ɜ": "3", "ɪ": "I",
          "ʊ": "U", "ɔ": "O", "ɒ": "Q", "ð": "D", "θ": "T", "ŋ": "N", "ʃ": "S", "ʒ": "Z",
          "ɹ": "r", "ɡ": "g", "ɾ": "4", "ʔ": "?", "ː": ":", "ˈ": "'", "ˌ": ",", "ɚ": "@`",
          "ɝ": "3`", "ᵻ": "1", "ɫ": "5", "ʧ": "tS", "ʤ": "dZ", "ç": "C", "ɬ": "K"}  # fmt: skip
"""IPA in X-SAMPA, so OpenCV's ASCII-only fonts can print the phonemes."""


def ascii_ipa(phoneme: str) -> str:
    return "".join(XSAMPA.get(c, c if c.isascii() else "~") for c in phoneme)


def speak(text: str) -> tuple[np.ndarray, int, list[Phone]]:
    """Audio, rate and the alignment of ``text`` on one clock (all its model calls joined)."""
    import torch

    torch.manual_seed(0)  # the voice's duration noise: the same sheet on every run
    voice = load_voice()
    audio, phones, offset = [], [], 0.0
    for ids in voice.text_to_ids(text):
        syn = voice.synthesize_aligned(ids)
        phones += shift(syn.phones, offset)
        audio.append(syn.audio)
        offset += syn.audio.size * 1000.0 / syn.sample_rate
    return np.concatenate(audio), voice.sample_rate, phones


def phone_at(phones: list[Phone], ms: float) -> Phone | None:
    for p in phones:
        if p.start_ms <= ms < p.end_ms:
            return p
    return None


def tile(face: np.ndarray, label: tuple[str, str], accent: bool) -> np.ndarray:
    h = round(face.shape[0] * TILE_W / face.shape[1])
    img = cv2.resize(face, (TILE_W, h), interpolation=cv2.INTER_AREA)
    band = np.full((LABEL_H, TILE_W, 3), 255, np.uint8)
    colour = (30, 30, 200) if accent else (40, 40, 40)
    cv2.putText(band, label[0], (5, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (110, 110, 110), 1,
                cv2.LINE_AA)  # fmt: skip
    cv2.putText(band, label[1], (5, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.55, colour, 1, cv2.LINE_AA)
    return cv2.copyMakeBorder(np.vstack([img, band]), 2, 2, 2, 2, cv2.BORDER_CONSTANT,
                              value=(255, 255, 255))  # fmt: skip


def sheet(text: str, cols: int) -> np.ndarray:
    avatar = enrol_avatar(cache_dir=tempfile.mkdtemp(prefix="visemes-sheet-"))
    audio, rate, phones = speak(text)
    n = round(audio.size * avatar.fps / rate)
    engine = VisemeEngine()
    frames = [f for batch in engine.render(avatar, audio, rate, 0, n, phones) for f in batch]
    x1, y1, x2, y2 = avatar.face or [0, 0, avatar.width, avatar.height]
    pad_x = (x2 - x1) // 8
    crop = (slice(max(0, y1), min(avatar.height, y2 + (y2 - y1) // 10)),
            slice(max(0, x1 - pad_x), min(avatar.width, x2 + pad_x)))  # fmt: skip
    tiles = []
    for k, frame in enumerate(frames):
        ms = k * 1000.0 / avatar.fps
        p = phone_at(phones, ms)
        vis, ph = (p.viseme, ascii_ipa(p.phoneme)) if p else ("sil", "")
        tiles.append(tile(frame[crop], (f"{ms / 1000:.2f}s", f"{vis}  {ph}".strip()),
                          vis in ("PP", "aa")))  # fmt: skip
    blank = np.full_like(tiles[0], 255)
    tiles += [blank] * (-len(tiles) % cols)
    rows = [np.hstack(tiles[i : i + cols]) for i in range(0, len(tiles), cols)]
    title = np.full((40, rows[0].shape[1], 3), 255, np.uint8)
    caption = (f'"{text}"  viseme engine, {avatar.fps:.0f} frames/s, every frame; '
               "viseme and phoneme (X-SAMPA) at the frame's time")  # fmt: skip
    cv2.putText(title, caption, (8, 27), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (20, 20, 20), 1,
                cv2.LINE_AA)  # fmt: skip
    return np.vstack([title, *rows])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--text", default=TEXT)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "visemes.png"))
    ap.add_argument("--cols", type=int, default=10)
    args = ap.parse_args()
    img = sheet(args.text, args.cols)
    cv2.imwrite(args.out, img, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(f"wrote {args.out} ({img.shape[1]}x{img.shape[0]})")


if __name__ == "__main__":
    main()

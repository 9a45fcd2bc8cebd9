"""The ``viseme`` engine: mouth shapes timed by the voice's phonemes, no model weights.

Each of the 15 OVR visemes has a :class:`~.mouth.Shape`. The shape of frame k is the target
shape averaged under a triangle of one frame's half-width around the frame's time, so each
shape blends into the next over about one frame (coarticulation, no snapping). Bilabials win:
a frame that a ``PP`` phone covers has its lips fully closed. Silence is the photo's own closed
mouth. Without phones (audio from elsewhere), the loudness under each frame drives an opening
between the closed mouth and a neutral vowel, so the face never freezes while sound plays.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import fields
from functools import lru_cache

import numpy as np

from ..media.alignment import VISEMES, Phone
from .avatar_data import Avatar
from .energy import frame_levels
from .mouth import MouthGeometry, Shape, draw_mouth, geometry_from

S = Shape
SHAPES: dict[str, Shape] = {
    "sil": S(),
    "PP": S(press=1.0, width=0.97),
    "FF": S(open=0.08, tuck=1.0, teeth_u=1.0),
    "TH": S(open=0.18, teeth_u=0.8, tongue=1.0),
    "DD": S(open=0.24, teeth_u=0.7, teeth_l=0.3, tongue=0.6),
    "kk": S(open=0.3, teeth_u=0.5, teeth_l=0.2, tongue=0.6),
    "CH": S(open=0.2, width=0.86, round=0.4, teeth_u=0.9, teeth_l=0.6),
    "SS": S(open=0.13, width=1.06, teeth_u=1.0, teeth_l=0.8),
    "nn": S(open=0.16, teeth_u=0.5, tongue=0.7),
    "RR": S(open=0.22, width=0.86, round=0.5, teeth_u=0.4),
    "aa": S(open=0.66, teeth_u=0.55, teeth_l=0.25, tongue=0.8),
    "E": S(open=0.38, width=1.1, teeth_u=0.8, teeth_l=0.4, tongue=0.4),
    "ih": S(open=0.27, width=1.08, teeth_u=0.8, teeth_l=0.4, tongue=0.3),
    "oh": S(open=0.48, width=0.8, round=0.8, teeth_u=0.25, tongue=0.5),
    "ou": S(open=0.26, width=0.7, round=1.0, teeth_u=0.1),
}
"""Mouth shape per OVR viseme (``open`` as a share of the mouth's half-width)."""
assert set(SHAPES) == set(VISEMES)

_FIELDS = [f.name for f in fields(Shape)]
_TABLE = np.array([[getattr(SHAPES[v], f) for f in _FIELDS] for v in VISEMES], np.float32)
_INDEX = {v: i for i, v in enumerate(VISEMES)}
STEP_MS = 4.0  # resolution of the timeline sampling


def shape_params(phones: Sequence[Phone], n_frames: int, fps: float) -> np.ndarray:
    """``[n_frames, len(fields)]`` shape parameters of each frame from a timeline."""
    out = np.tile(_TABLE[_INDEX["sil"]], (max(0, n_frames), 1))
    if n_frames <= 0 or not phones:
        return out
    frame_ms = 1000.0 / fps
    t = np.arange(-frame_ms, (n_frames + 1) * frame_ms, STEP_MS)
    starts = np.array([p.start_ms for p in phones])
    ends = np.array([p.end_ms for p in phones])
    vis = np.array([_INDEX.get(p.viseme, 0) for p in phones])
    j = np.searchsorted(starts, t, side="right") - 1
    inside = (j >= 0) & (t < ends[np.clip(j, 0, None)])
    v = np.where(inside, vis[np.clip(j, 0, None)], 0)
    target = _TABLE[v]  # [T, F]
    half = int(round(0.5 * frame_ms / STEP_MS))  # triangle of half a frame each side
    kernel = np.concatenate([np.arange(1, half + 2), np.arange(half, 0, -1)]).astype(np.float32)
    kernel /= kernel.sum()
    pad = len(kernel) // 2
    padded = np.pad(target, ((pad, pad), (0, 0)), mode="edge")
    cols = [np.convolve(padded[:, c], kernel, "valid") for c in range(target.shape[1])]
    smooth = np.stack(cols, 1)
    centres = np.arange(n_frames) * frame_ms
    idx = np.clip(np.round((centres - t[0]) / STEP_MS).astype(int), 0, len(t) - 1)
    out = smooth[idx]
    # bilabials close the lips fully on the frames they cover
    pp = vis == _INDEX["PP"]
    for s, e in zip(starts[pp], ends[pp], strict=True):
        ks = np.flatnonzero((centres + 0.5 * frame_ms > s) & (centres - 0.5 * frame_ms < e))
        out[ks] = _TABLE[_INDEX["PP"]]
    return out


def audio_params(audio: np.ndarray, sample_rate: int, n_frames: int, fps: float) -> np.ndarray:
    """Shape parameters from loudness alone: closed in silence, a neutral vowel when loud."""
    level = frame_levels(audio, sample_rate, n_frames, fps)[:, None]
    vowel = 0.5 * (_TABLE[_INDEX["aa"]] + _TABLE[_INDEX["E"]])
    rest = _TABLE[_INDEX["sil"]]
    return rest + (vowel - rest) * np.minimum(1.0, level * 1.1)


def to_shape(row: np.ndarray) -> Shape:
    return Shape(**{f: float(x) for f, x in zip(_FIELDS, row, strict=True)})


@lru_cache(maxsize=64)
def _geometry(avatar: Avatar, i: int) -> MouthGeometry:
    return geometry_from(
        avatar.frames[i], avatar.mouth_box(i), avatar.lip_line(i), float(avatar.boxes[i][3])
    )


class VisemeEngine:
    """Viseme-timed mouth shapes drawn on the real lips of the avatar (no model weights)."""

    name = "viseme"

    def __init__(self, batch_size: int = 16) -> None:
        self.batch_size = max(1, int(batch_size))

    def warmup(self, avatar: Avatar) -> None:
        """Measure the face's colours and prepare the maps of every viseme once."""
        if avatar.has_face[0]:
            g = _geometry(avatar, 0)
            frame = avatar.frames[0].copy()
            for shape in SHAPES.values():
                draw_mouth(frame, g, shape)

    def params(
        self,
        avatar: Avatar,
        audio: np.ndarray,
        sample_rate: int,
        n_frames: int,
        phones: Sequence[Phone] | None,
    ) -> np.ndarray:
        if phones is None:
            return audio_params(audio, sample_rate, n_frames, avatar.fps)
        return shape_params(phones, n_frames, avatar.fps)

    def render(
        self,
        avatar: Avatar,
        audio: np.ndarray,
        sample_rate: int,
        first_frame: int,
        n_frames: int,
        phones: Sequence[Phone] | None = None,
    ) -> Iterator[np.ndarray]:
        if n_frames <= 0:
            return
        rows = self.params(avatar, audio, sample_rate, n_frames, phones)
        for start in range(0, n_frames, self.batch_size):
            k = np.arange(start, min(n_frames, start + self.batch_size))
            idx = (first_frame + k) % avatar.n_frames
            frames = avatar.frames[idx].copy()
            for row, (i, p) in enumerate(zip(idx, rows[k], strict=True)):
                if avatar.has_face[i]:
                    draw_mouth(frames[row], _geometry(avatar, int(i)), to_shape(p))
            yield frames


def viseme_at(phones: Sequence[Phone], ms: float) -> str:
    """The viseme sounding at ``ms`` (``sil`` outside the timeline)."""
    for p in phones:
        if p.start_ms <= ms < p.end_ms:
            return p.viseme
    return "sil"


__all__ = ["SHAPES", "VisemeEngine", "audio_params", "shape_params", "viseme_at"]

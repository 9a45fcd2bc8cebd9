"""The ``energy`` fallback engine: the mouth opens and closes with the audio's loudness.

Used when no Wav2Lip checkpoint is configured, so the demo shows a moving mouth without model
weights. Per frame, the RMS level of the audio under that frame sets an opening in 0..1; the
lower face below the mouth line is pulled down (a smooth warp, cheeks stay attached) and a dark
mouth cavity is blended into the gap. Frames without a face pass through unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from functools import lru_cache

import cv2
import numpy as np

from ..media.alignment import Phone
from .avatar_data import Avatar

MOUTH_LINE = 0.67  # mouth line as a share of the crop box height (Haar box + chin + pads)
MOUTH_HALF_WIDTH = 0.14  # share of the box width
MAX_DROP = 0.09  # jaw drop at full opening, share of the box height
CAVITY_BGR = (28, 22, 52)


def frame_levels(
    audio: np.ndarray,
    sample_rate: int,
    n_frames: int,
    fps: float,
    floor_db: float = -48.0,
    ceil_db: float = -16.0,
) -> np.ndarray:
    """Mouth opening ``[n_frames]`` in 0..1 from the RMS of the audio under each frame."""
    x = np.asarray(audio, np.float32).reshape(-1)
    out = np.zeros(n_frames, np.float32)
    for k in range(n_frames):
        a = round(k * sample_rate / fps)
        b = max(a + 1, round((k + 1) * sample_rate / fps))
        seg = x[a:b]
        if seg.size:
            rms = float(np.sqrt(np.mean(seg.astype(np.float64) ** 2)))
            db = 20.0 * math.log10(rms + 1e-9)
            out[k] = min(1.0, max(0.0, (db - floor_db) / (ceil_db - floor_db)))
    # a little smoothing: fast attack, slower release
    for k in range(1, n_frames):
        out[k] = max(out[k], 0.55 * out[k - 1])
    return out


@lru_cache(maxsize=256)
def _warp(
    box: tuple[int, int, int, int], drop: int, shape: tuple[int, int]
) -> tuple[tuple[int, int, int, int], np.ndarray, np.ndarray, np.ndarray]:
    """ROI, remap maps and cavity alpha for one box and jaw drop (pixels)."""
    x1, y1, x2, y2 = box
    h, w = shape
    bw, bh = x2 - x1, y2 - y1
    cx = (x1 + x2) / 2.0
    my = y1 + MOUTH_LINE * bh
    rx1, rx2 = max(0, int(cx - 0.4 * bw)), min(w, int(cx + 0.4 * bw) + 1)
    ry1, ry2 = max(0, int(my - 0.1 * bh)), min(h, int(y2 + 0.25 * bh) + 1)
    yy, xx = np.mgrid[ry1:ry2, rx1:rx2].astype(np.float32)
    # horizontal weight: full under the mouth, fading out towards the cheeks
    wx = np.clip(1.0 - np.abs(xx - cx) / (0.38 * bw), 0.0, 1.0) ** 0.7
    # vertical: rigid jaw drop from the mouth line to the chin, neck compresses below it
    below = np.clip((yy - my) / max(1.0, 0.04 * bh), 0.0, 1.0)
    neck = np.clip(1.0 - (yy - y2) / (0.25 * bh), 0.0, 1.0)
    disp = drop * wx * below * neck
    map_x = (xx - rx1).astype(np.float32)
    map_y = (yy - ry1 - disp).astype(np.float32)
    # mouth cavity: an ellipse in the opened gap, soft edged
    mw = MOUTH_HALF_WIDTH * bw
    ey = my + 0.5 * drop
    ell = ((xx - cx) / mw) ** 2 + ((yy - ey) / max(1.0, 0.5 * drop + 1.0)) ** 2
    alpha = np.clip((1.0 - ell) * 3.0, 0.0, 1.0) * min(1.0, drop / 3.0)
    return (rx1, ry1, rx2, ry2), map_x, map_y, alpha[..., None].astype(np.float32)


def open_mouth(
    frame: np.ndarray, box: np.ndarray | tuple[int, int, int, int], level: float
) -> None:
    """Open the mouth of the face in ``box`` by ``level`` (0..1), in place."""
    b = tuple(int(v) for v in box)
    drop = int(round(level * MAX_DROP * (b[3] - b[1])))
    if drop <= 0:
        return
    (rx1, ry1, rx2, ry2), map_x, map_y, alpha = _warp(b, drop, frame.shape[:2])  # type: ignore[arg-type]
    roi = frame[ry1:ry2, rx1:rx2]
    warped = cv2.remap(roi, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    cavity = np.array(CAVITY_BGR, np.float32)
    out = warped.astype(np.float32) * (1.0 - alpha) + cavity * alpha
    frame[ry1:ry2, rx1:rx2] = np.clip(out + 0.5, 0, 255).astype(np.uint8)


class EnergyEngine:
    """Loudness-driven mouth movement (no model weights)."""

    name = "energy"

    def __init__(self, batch_size: int = 16) -> None:
        self.batch_size = max(1, int(batch_size))

    def warmup(self, avatar: Avatar) -> None:
        """Nothing to prime."""

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
        levels = frame_levels(audio, sample_rate, n_frames, avatar.fps)
        for start in range(0, n_frames, self.batch_size):
            k = np.arange(start, min(n_frames, start + self.batch_size))
            idx = (first_frame + k) % avatar.n_frames
            frames = avatar.frames[idx].copy()
            for row, (i, lvl) in enumerate(zip(idx, levels[k], strict=True)):
                if avatar.has_face[i]:
                    open_mouth(frames[row], avatar.boxes[i], float(lvl))
            yield frames

"""Paste generated 96×96 faces back into full avatar frames, optionally with a feathered edge."""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np


@lru_cache(maxsize=64)
def feather_mask(width: int, height: int, feather: int) -> np.ndarray:
    """``[h,w,1]`` float32 alpha: 1 inside, ramping linearly to 0 over ``feather`` px."""
    f = max(1, int(feather))
    x = np.minimum(np.arange(width) + 0.5, width - np.arange(width) - 0.5) / f
    y = np.minimum(np.arange(height) + 0.5, height - np.arange(height) - 0.5) / f
    mask = np.clip(np.minimum(y[:, None], x[None, :]), 0.0, 1.0).astype(np.float32)
    mask.setflags(write=False)
    return mask[..., None]


def paste_face(
    frame: np.ndarray,
    box: np.ndarray | tuple[int, int, int, int],
    face96: np.ndarray,
    feather: int = 0,
) -> None:
    """Resize ``face96`` (BGR uint8) to the box and write it into ``frame`` in place.

    With ``feather == 0`` this is Wav2Lip's plain paste (``cv2.resize`` to the crop, copy).
    """
    x1, y1, x2, y2 = (int(v) for v in box)
    w, h = x2 - x1, y2 - y1
    if w <= 0 or h <= 0:
        return
    patch = cv2.resize(face96, (w, h))
    if feather <= 0:
        frame[y1:y2, x1:x2] = patch
        return
    alpha = feather_mask(w, h, feather)
    roi = frame[y1:y2, x1:x2].astype(np.float32)
    blended = roi + alpha * (patch.astype(np.float32) - roi)
    frame[y1:y2, x1:x2] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)


def to_uint8_hwc(pred: np.ndarray) -> np.ndarray:
    """Model output ``[B,3,96,96]`` in 0..1 → ``[B,96,96,3]`` uint8, truncated as the reference."""
    return (pred.transpose(0, 2, 3, 1) * 255).astype(np.uint8)

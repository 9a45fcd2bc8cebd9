"""Find the mouth and the eyes of an enrolled face once, at enrolment.

Eyes: OpenCV's stump eye cascade (bundled, see ``assets/README.md``) in the upper half of the
face box; the best left/right pair of similar size and height wins. Mouth: the lips are the
reddest band of the lower face (CIE Lab ``a*``), the lip line is the darkest row across them.
Anything not found plausibly falls back to the face-proportional estimate; configured boxes
(``mouth_box``, ``eyes`` in output pixels) win over both.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ..log import get_logger
from .avatar_data import PROPORTIONAL, FaceFeatures, RelBox, to_relative
from .haar import EYE_CASCADE_FILE, detect

log = get_logger(__name__)

Quad = tuple[float, float, float, float]
DETECT_WIDTH = 224  # face crops are searched at this width


def _eye_candidates(face: np.ndarray) -> list[tuple[Quad, int]]:
    """Eye detections ``((x1, y1, x2, y2) in face-crop pixels, neighbours)``."""
    h, w = face.shape[:2]
    top, bottom = int(0.15 * h), int(0.55 * h)
    gray = cv2.cvtColor(face[top:bottom], cv2.COLOR_BGR2GRAY)
    out: list[tuple[Quad, int]] = []
    for img in (gray, cv2.equalizeHist(gray)):  # glasses defeat one or the other
        for (x, y, bw, bh), n in detect(img, EYE_CASCADE_FILE, 2, max(12, int(0.09 * w)), 1.05):
            out.append(((x, y + top, x + bw, y + top + bh), n))
    return out


def _best_pair(cands: list[tuple[Quad, int]], w: int, h: int) -> tuple[Quad, Quad] | None:
    best, best_score = None, 0.0
    for a, na in cands:
        for b, nb in cands:
            ca, cb = (a[0] + a[2]) / 2, (b[0] + b[2]) / 2
            if not (ca < 0.5 * w < cb):
                continue
            sa, sb = a[2] - a[0], b[2] - b[0]
            dy = abs((a[1] + a[3]) / 2 - (b[1] + b[3]) / 2)
            if max(sa, sb) > 1.6 * min(sa, sb) or dy > 0.08 * h or not 0.25 < (cb - ca) / w < 0.6:
                continue
            score = min(na, nb) - 0.5 * dy
            if score > best_score:
                best, best_score = (a, b), score
    return best


def _eye_opening(box: Quad) -> Quad:
    """The cascade box is eye + brow margin: keep the opening (the box's middle band)."""
    x1, y1, x2, y2 = box
    s = x2 - x1
    cy = y1 + 0.55 * (y2 - y1)
    return (x1 + 0.12 * s, cy - 0.17 * s, x2 - 0.12 * s, cy + 0.15 * s)


def find_eyes(face: np.ndarray) -> tuple[RelBox, RelBox] | None:
    """Left and right eye openings as fractions of the face crop, or None."""
    h, w = face.shape[:2]
    pair = _best_pair(_eye_candidates(face), w, h)
    if pair is None:
        return None
    rel = [to_relative(_eye_opening(b), (0, 0, w, h)) for b in pair]
    return rel[0], rel[1]


def find_mouth(face: np.ndarray) -> tuple[RelBox, float] | None:
    """Lips' box and lip line as fractions of the face crop, or None."""
    h, w = face.shape[:2]
    x1, x2, y1, y2 = int(0.22 * w), int(0.78 * w), int(0.55 * h), int(0.84 * h)
    roi = face[y1:y2, x1:x2]
    if min(roi.shape[:2]) < 8:
        return None
    lab = cv2.cvtColor(roi, cv2.COLOR_BGR2LAB)
    a = cv2.GaussianBlur(lab[..., 1].astype(np.float32), (0, 0), 1.2)
    mask = (a > np.percentile(a, 82)).astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((2, 3), np.uint8))
    n, labels, stats, cent = cv2.connectedComponentsWithStats(mask)
    rw = roi.shape[1]
    best, best_area = -1, 0
    for i in range(1, n):
        bx, by, bw, bh, area = stats[i]
        central = abs(cent[i][0] - rw / 2) < 0.18 * rw
        if central and bw > 0.3 * rw and bw > 2.0 * bh and area > best_area:
            best, best_area = i, area
    if best < 0:
        return None
    bx, by, bw, bh, _ = stats[best]
    if not (0.22 < bw / w < 0.6 and 0.025 < bh / h < 0.2):
        return None
    gray = cv2.cvtColor(roi, cv2.COLOR_BGR2GRAY).astype(np.float32)
    cols = slice(bx + bw // 3, bx + 2 * bw - 2 * bw // 3)
    rows = np.arange(by, by + bh)
    line = float(rows[np.argmin(gray[by : by + bh, cols].mean(axis=1))]) + 0.5
    box = (x1 + bx, y1 + by, x1 + bx + bw, y1 + by + bh)
    return to_relative(box, (0, 0, w, h)), (y1 + line) / h


def _configured(
    boxes: Sequence[Sequence[float]] | None, face_box: np.ndarray
) -> list[RelBox] | None:
    return None if not boxes else [to_relative(tuple(b), face_box) for b in boxes]


def face_features(
    frame: np.ndarray,
    face_box: np.ndarray,
    mouth_box: Sequence[float] | None = None,
    eyes: Sequence[Sequence[float]] | None = None,
    detect_features: bool = True,
) -> FaceFeatures:
    """Features of the face in ``face_box`` of ``frame``: configured, detected or proportional."""
    x1, y1, x2, y2 = (int(v) for v in face_box)
    face = frame[y1:y2, x1:x2]
    if face.size and face.shape[1] != DETECT_WIDTH:  # the same search at any output size
        s = DETECT_WIDTH / face.shape[1]
        face = cv2.resize(
            face,
            (DETECT_WIDTH, max(1, round(face.shape[0] * s))),
            interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC,
        )
    sources = []
    eye_rel = _configured(eyes, face_box)
    if eye_rel is not None and len(eye_rel) == 2:
        sources.append("configured")
        eyes_out = (eye_rel[0], eye_rel[1])
    else:
        found = find_eyes(face) if detect_features else None
        sources.append("detected" if found else "proportional")
        eyes_out = found or PROPORTIONAL.eyes
    mouth_rel = _configured([mouth_box] if mouth_box else None, face_box)
    if mouth_rel is not None:
        sources.append("configured")
        m = mouth_rel[0]
        mouth_out, line = m, m[1] + 0.5 * (m[3] - m[1])
    else:
        got = find_mouth(face) if detect_features else None
        sources.append("detected" if got else "proportional")
        mouth_out, line = got or (PROPORTIONAL.mouth, PROPORTIONAL.lip_line)
    source = sources[0] if sources[0] == sources[1] else f"eyes {sources[0]}, mouth {sources[1]}"
    log.debug("face features", eyes=eyes_out, mouth=mouth_out, lip_line=line, source=source)
    return FaceFeatures(mouth=mouth_out, lip_line=line, eyes=eyes_out, source=source)

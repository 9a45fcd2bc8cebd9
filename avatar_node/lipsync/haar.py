"""Frontal face detection with OpenCV's Haar cascade, evaluated in NumPy when OpenCV lacks it.

OpenCV 5 wheels no longer ship ``CascadeClassifier`` nor the cascade files (they moved to
opencv-contrib), so the package bundles ``haarcascade_frontalface_default.xml`` (Intel License
Agreement, kept in the file's header) and evaluates the stump cascade itself: an image pyramid,
integral images, variance-normalised Haar features, stage rejection, and neighbour grouping like
``detectMultiScale``. ``cv2.CascadeClassifier`` is used instead when the installed OpenCV has it.
"""

from __future__ import annotations

import gzip
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import cv2
import numpy as np

CASCADE_FILE = "haarcascade_frontalface_default.xml.gz"
EYE_CASCADE_FILE = "haarcascade_eye.xml.gz"  # Shameem Hameed's stump eye detector (Intel License)
Box = tuple[int, int, int, int]  # x, y, w, h


@dataclass(frozen=True)
class _Stage:
    threshold: float
    feature: np.ndarray  # [k] feature index of each stump
    node_threshold: np.ndarray  # [k]
    left: np.ndarray  # [k] leaf value when feature < threshold
    right: np.ndarray  # [k]


@dataclass(frozen=True)
class HaarCascade:
    """A parsed stump cascade: window size, stages and up to 3 weighted rectangles per feature."""

    width: int
    height: int
    stages: tuple[_Stage, ...]
    rects: np.ndarray  # [F,3,4] int x, y, w, h (zero-weight padding)
    weights: np.ndarray  # [F,3] float

    @classmethod
    def from_xml(cls, text: str) -> HaarCascade:
        root = ET.fromstring(text).find("cascade")
        if root is None or (root.findtext("featureType") or "").strip() != "HAAR":
            raise ValueError("not a Haar cascade")
        stages = []
        for st in root.find("stages") or []:
            weak = st.find("weakClassifiers")
            items = list(weak) if weak is not None else []
            nodes = [w.findtext("internalNodes", "").split() for w in items]
            leaves = [w.findtext("leafValues", "").split() for w in items]
            if any(len(n) != 4 for n in nodes):
                raise ValueError("only stump (depth-1) cascades are supported")
            stages.append(
                _Stage(
                    threshold=float(st.findtext("stageThreshold", "0")),
                    feature=np.array([int(n[2]) for n in nodes]),
                    node_threshold=np.array([float(n[3]) for n in nodes]),
                    left=np.array([float(v[0]) for v in leaves]),
                    right=np.array([float(v[1]) for v in leaves]),
                )
            )
        feats = list(root.find("features") or [])
        rects = np.zeros((len(feats), 3, 4), np.int64)
        weights = np.zeros((len(feats), 3), np.float64)
        for i, f in enumerate(feats):
            if (f.findtext("tilted") or "0").strip() == "1":
                raise ValueError("tilted Haar features are not supported")
            for j, r in enumerate(f.find("rects") or []):
                vals = (r.text or "").split()
                rects[i, j] = [int(v) for v in vals[:4]]
                weights[i, j] = float(vals[4])
        return cls(
            int(root.findtext("width", "24")),
            int(root.findtext("height", "24")),
            tuple(stages),
            rects,
            weights,
        )

    def _windows(self, gray: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-left corners of the windows of one pyramid level that pass every stage."""
        h, w = gray.shape
        img = gray.astype(np.float64)
        ii = np.zeros((h + 1, w + 1), np.float64)
        ii[1:, 1:] = img.cumsum(0).cumsum(1)
        sq = np.zeros((h + 1, w + 1), np.float64)
        sq[1:, 1:] = (img * img).cumsum(0).cumsum(1)
        stride = w + 1
        ys, xs = np.mgrid[0 : h - self.height + 1 : step, 0 : w - self.width + 1 : step]
        base = (ys * stride + xs).ravel()

        def rect_sum(table: np.ndarray, ofs: np.ndarray, x, y, rw, rh) -> np.ndarray:
            t = table.ravel()
            a = ofs + y * stride + x
            return t[a + rh * stride + rw] - t[a + rw] - t[a + rh * stride] + t[a]

        iw, ih = self.width - 2, self.height - 2
        s = rect_sum(ii, base, 1, 1, iw, ih)
        nf = iw * ih * rect_sum(sq, base, 1, 1, iw, ih) - s * s
        nf = np.where(nf > 0, np.sqrt(np.maximum(nf, 0)), 1.0)
        for stage in self.stages:
            if base.size == 0:
                break
            r = self.rects[stage.feature]  # [k,3,4]
            wt = self.weights[stage.feature]  # [k,3]
            ofs = base[:, None, None]
            val = (rect_sum(ii, ofs, r[..., 0], r[..., 1], r[..., 2], r[..., 3]) * wt).sum(-1)
            val = val / nf[:, None]
            acc = np.where(val < stage.node_threshold, stage.left, stage.right).sum(1)
            keep = acc >= stage.threshold
            base, nf = base[keep], nf[keep]
        return base % stride, base // stride

    def detect(
        self, gray: np.ndarray, scale_factor: float = 1.1, min_neighbors: int = 4, min_size: int = 0
    ) -> list[tuple[Box, int]]:
        """``(x, y, w, h), neighbours`` of each grouped detection, like ``detectMultiScale``."""
        raw: list[Box] = []
        factor = 1.0
        h, w = gray.shape
        while True:
            sw, sh = round(w / factor), round(h / factor)
            if sw < self.width or sh < self.height:
                break
            win = round(self.width * factor)
            if win >= min_size:
                level = (
                    gray
                    if factor == 1.0
                    else cv2.resize(gray, (sw, sh), interpolation=cv2.INTER_LINEAR)
                )
                xs, ys = self._windows(level, 1 if factor > 2.0 else 2)
                raw += [
                    (round(x * factor), round(y * factor), win, round(self.height * factor))
                    for x, y in zip(xs.tolist(), ys.tolist(), strict=True)
                ]
            factor *= scale_factor
        return group_rectangles(raw, min_neighbors)


def group_rectangles(
    rects: list[Box], min_neighbors: int, eps: float = 0.2
) -> list[tuple[Box, int]]:
    """Cluster similar rectangles, average each cluster, keep those with > min_neighbors."""
    n = len(rects)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(n):
        x1, y1, w1, h1 = rects[i]
        for j in range(i):
            x2, y2, w2, h2 = rects[j]
            d = eps * (min(w1, w2) + min(h1, h2)) * 0.5
            if (
                abs(x1 - x2) <= d
                and abs(y1 - y2) <= d
                and abs(x1 + w1 - x2 - w2) <= d
                and abs(y1 + h1 - y2 - h2) <= d
            ):
                parent[find(i)] = find(j)
    groups: dict[int, list[Box]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(rects[i])
    out = []
    for members in groups.values():
        if len(members) > min_neighbors:
            m = np.mean(np.array(members, np.float64), axis=0)
            out.append(
                (
                    (int(round(m[0])), int(round(m[1])), int(round(m[2])), int(round(m[3]))),
                    len(members),
                )
            )
    return out


@lru_cache(maxsize=4)
def _cascade_xml(name: str = CASCADE_FILE) -> str:
    data = resources.files("avatar_node.assets").joinpath(name).read_bytes()
    return gzip.decompress(data).decode("utf-8")


@lru_cache(maxsize=4)
def load_cascade(name: str = CASCADE_FILE) -> HaarCascade:
    return HaarCascade.from_xml(_cascade_xml(name))


def detect(
    gray: np.ndarray,
    name: str = CASCADE_FILE,
    min_neighbors: int = 4,
    min_size: int = 24,
    scale_factor: float = 1.1,
) -> list[tuple[Box, int]]:
    """Grouped detections ``((x, y, w, h), neighbours)`` of one bundled cascade in a grey image."""
    if hasattr(cv2, "CascadeClassifier"):  # OpenCV 4.x or opencv-contrib: the C++ evaluator
        boxes, counts = _cv2_classifier(name).detectMultiScale2(
            gray, scale_factor, min_neighbors, minSize=(min_size, min_size)
        )
        return [
            ((int(b[0]), int(b[1]), int(b[2]), int(b[3])), int(n))
            for b, n in zip(boxes, counts, strict=True)
        ]
    return load_cascade(name).detect(gray, scale_factor, min_neighbors, min_size)


def detect_faces(
    image_bgr: np.ndarray, max_side: int = 320, min_rel_size: float = 0.12, min_neighbors: int = 4
) -> list[Box]:
    """Frontal faces in a BGR image as ``(x, y, w, h)`` in image pixels, most neighbours first.

    The search runs on a copy scaled to at most ``max_side`` pixels and ignores faces smaller
    than ``min_rel_size`` of the image's shorter side (avatars show one large face).
    """
    h, w = image_bgr.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    small = (
        image_bgr
        if scale == 1.0
        else cv2.resize(
            image_bgr,
            (max(1, round(w * scale)), max(1, round(h * scale))),
            interpolation=cv2.INTER_AREA,
        )
    )
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
    gray = cv2.equalizeHist(gray)
    min_size = max(24, int(min_rel_size * min(gray.shape)))
    found = detect(gray, CASCADE_FILE, min_neighbors, min_size)
    # the most neighbours is the most confident detection (background false positives have few)
    found.sort(key=lambda d: (d[1], d[0][2]), reverse=True)
    return [
        (round(x / scale), round(y / scale), round(bw / scale), round(bh / scale))
        for (x, y, bw, bh), _ in found
    ]


@lru_cache(maxsize=4)
def _cv2_classifier(name: str):  # type: ignore[no-untyped-def]
    import os
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".xml", delete=False) as f:
        f.write(_cascade_xml(name))
    try:
        return cv2.CascadeClassifier(f.name)  # type: ignore[attr-defined]
    finally:
        os.unlink(f.name)

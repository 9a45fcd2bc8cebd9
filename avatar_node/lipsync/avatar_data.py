"""The :class:`Avatar` dataclass (what enrolment produces) and its face features.

An Avatar holds the output frames, the face crop box per frame, the 96×96 Wav2Lip face inputs
and :class:`FaceFeatures`: where the mouth and the eyes are, relative to the face box, so that
the viseme engine and :mod:`.life` find them in every frame of a looping video too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

FaceBox = tuple[int, int, int, int]  # x1, y1, x2, y2 in frame pixels
RelBox = tuple[float, float, float, float]  # x1, y1, x2, y2 as fractions of the face box


@dataclass(frozen=True)
class FaceFeatures:
    """Mouth and eyes as fractions (0..1) of the face crop box's width and height."""

    mouth: RelBox
    """Bounding box of the lips (corners left/right, top of the upper lip, bottom of the lower)."""
    lip_line: float
    """Where the lips meet, as a fraction of the face box height."""
    eyes: tuple[RelBox, RelBox]
    """The eye openings, left then right in image order."""
    source: str = "proportional"
    """``detected``, ``configured`` or ``proportional`` (face-proportional estimate)."""


PROPORTIONAL = FaceFeatures(
    mouth=(0.34, 0.615, 0.66, 0.725),
    lip_line=0.665,
    eyes=((0.22, 0.30, 0.42, 0.40), (0.58, 0.30, 0.78, 0.40)),
)
"""Typical geometry of a frontal face in the enrolment crop box (Haar box + chin + pads)."""


def to_pixels(rel: RelBox, box: np.ndarray | FaceBox) -> np.ndarray:
    """``rel`` in the pixels of the frame whose face box is ``box`` (float64 ``[4]``)."""
    x1, y1, x2, y2 = (float(v) for v in box)
    w, h = x2 - x1, y2 - y1
    return np.array([x1 + rel[0] * w, y1 + rel[1] * h, x1 + rel[2] * w, y1 + rel[3] * h])


def to_relative(px: np.ndarray | tuple[float, ...], box: np.ndarray | FaceBox) -> RelBox:
    """Inverse of :func:`to_pixels`."""
    x1, y1, x2, y2 = (float(v) for v in box)
    w, h = max(1.0, x2 - x1), max(1.0, y2 - y1)
    a, b, c, d = (float(v) for v in px)
    return ((a - x1) / w, (b - y1) / h, (c - x1) / w, (d - y1) / h)


@dataclass(eq=False)
class Avatar:
    """A still image (one frame) or a looping video, ready for the lip-sync engines."""

    name: str
    fps: float
    frames: np.ndarray  # [N,H,W,3] BGR uint8
    boxes: np.ndarray  # [N,4] int32 crop box (x1, y1, x2, y2); -1 where no face was found
    faces96: np.ndarray  # [N,96,96,3] BGR uint8 crops (INTER_LINEAR), zeros where no face
    key: str = ""  # identity of the prepared data (file sha256 + options)
    source: str = ""
    jpeg_quality: int = 80
    cache_hit: bool = False  # True when the faces came from the on-disk cache
    features: FaceFeatures = PROPORTIONAL
    _has_face: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._has_face = (self.boxes[:, 0] >= 0) & (self.boxes[:, 2] > self.boxes[:, 0])

    @property
    def width(self) -> int:
        return int(self.frames.shape[2])

    @property
    def height(self) -> int:
        return int(self.frames.shape[1])

    @property
    def n_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def is_still(self) -> bool:
        return self.n_frames == 1

    @property
    def has_face(self) -> np.ndarray:
        """``[N]`` bool: whether frame i has a face (frames without one pass through)."""
        return self._has_face

    @property
    def idle_frame(self) -> np.ndarray:
        """The resting frame (frame 0), BGR uint8."""
        return self.frames[0]

    @property
    def face(self) -> list[int] | None:
        """``[x1, y1, x2, y2]`` of the enrolled face in output pixels (first frame with one)."""
        found = np.flatnonzero(self._has_face)
        return [int(v) for v in self.boxes[found[0]]] if found.size else None

    def index(self, i: int) -> int:
        """Frame index in the loop for running frame number ``i``."""
        return i % self.n_frames

    def frame(self, i: int) -> np.ndarray:
        """Frame ``i`` of the loop (BGR uint8, read-only view)."""
        return self.frames[i % self.n_frames]

    def mouth_box(self, i: int = 0) -> np.ndarray:
        """Lips' box ``[x1, y1, x2, y2]`` (float) in frame ``i``'s pixels."""
        return to_pixels(self.features.mouth, self.boxes[i % self.n_frames])

    def lip_line(self, i: int = 0) -> float:
        """Row (float pixels) where the lips meet in frame ``i``."""
        y1, y2 = self.boxes[i % self.n_frames][[1, 3]]
        return float(y1 + self.features.lip_line * (y2 - y1))

    def eye_boxes(self, i: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Left and right eye boxes (float pixels) in frame ``i``."""
        box = self.boxes[i % self.n_frames]
        left, right = self.features.eyes
        return to_pixels(left, box), to_pixels(right, box)

    def face_inputs(self, indices: np.ndarray | list[int]) -> np.ndarray:
        """Wav2Lip face batch ``[n,6,96,96]`` float32 for avatar frames ``indices``.

        As Wav2Lip's inference datagen: the lower half (rows 48..95) of a copy is zeroed,
        the masked copy comes first (channels 0-2) and the unmasked face second (3-5), /255.
        """
        faces = self.faces96[np.asarray(indices) % self.n_frames]
        masked = faces.copy()
        masked[:, 48:] = 0
        batch = (np.concatenate([masked, faces], axis=3) / 255.0).astype(np.float32)
        return np.ascontiguousarray(batch.transpose(0, 3, 1, 2))

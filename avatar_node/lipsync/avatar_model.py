"""The enrolled :class:`Avatar`: frames, face boxes and the prepared 96×96 Wav2Lip face inputs."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

FaceBox = tuple[int, int, int, int]  # x1, y1, x2, y2 in frame pixels


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

    def index(self, i: int) -> int:
        """Frame index in the loop for running frame number ``i``."""
        return i % self.n_frames

    def frame(self, i: int) -> np.ndarray:
        """Frame ``i`` of the loop (BGR uint8, read-only view)."""
        return self.frames[i % self.n_frames]

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

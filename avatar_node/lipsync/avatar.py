"""Avatar enrolment: load a still image or a short looping video, find the face once, cache it.

Enrolment detects the face in every frame (Haar cascade, see :mod:`.haar`) unless a face box is
configured, smooths the boxes of a video over time, and prepares the 96×96 BGR face crops that
Wav2Lip takes. The result is cached on disk (npz), keyed by the file's sha256 and the options,
so a restart skips detection. A frame without a face is passed through unchanged by the engines.
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib import resources
from pathlib import Path

import cv2
import numpy as np

from ..errors import ConfigError
from ..log import get_logger
from .avatar_data import Avatar, FaceBox
from .features import face_features
from .haar import detect_faces

log = get_logger(__name__)

CACHE_VERSION = 3
CHIN_EXTENSION = 0.10  # Haar boxes end near the lower lip: extend by this share of the height
SMOOTH_WINDOW = 5  # frames over which a video's face boxes are averaged
MAX_VIDEO_FRAMES = 750
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".gif", ".mpg", ".mpeg"}


class AvatarLoadError(ConfigError):
    """The avatar file is missing, unreadable, or (with ``require_face``) shows no face."""


def default_avatar_path() -> Path:
    """The bundled public-domain portrait (see ``avatar_node/assets/README.md``)."""
    return Path(str(resources.files("avatar_node.assets").joinpath("default_avatar.jpg")))


def default_cache_dir() -> Path:
    env = os.environ.get("AVATAR_CACHE_DIR")
    if env:
        return Path(env) / "avatars"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "avatar-node" / "avatars"


def _read_frames(path: Path, fps: float) -> tuple[np.ndarray, float]:
    """All frames ``[N,H,W,3]`` BGR uint8 and the frame rate (a still image is one frame)."""
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if img is not None:
            return img[None], fps
    cap = cv2.VideoCapture(str(path))
    frames: list[np.ndarray] = []
    try:
        video_fps = cap.get(cv2.CAP_PROP_FPS) if cap.isOpened() else 0.0
        while len(frames) < MAX_VIDEO_FRAMES:
            ok, frame = cap.read()
            if not ok:
                break
            frames.append(frame if frame.ndim == 3 else cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    finally:
        cap.release()
    if not frames:
        raise AvatarLoadError(f"cannot read avatar image or video: {path}")
    if len(frames) == MAX_VIDEO_FRAMES:
        log.warning("avatar video truncated", path=str(path), frames=MAX_VIDEO_FRAMES)
    return np.stack(frames), (video_fps if video_fps and video_fps > 0 else fps)


def _resize(frames: np.ndarray, size: int | tuple[int, int] | None) -> np.ndarray:
    if size is None:
        return frames
    h, w = frames.shape[1:3]
    if isinstance(size, int):
        s = size / max(h, w)
        tw, th = max(1, round(w * s)), max(1, round(h * s))
    else:
        tw, th = int(size[0]), int(size[1])
    if (tw, th) == (w, h):
        return frames
    interp = cv2.INTER_AREA if tw < w else cv2.INTER_CUBIC
    return np.stack([cv2.resize(f, (tw, th), interpolation=interp) for f in frames])


def _crop_box(
    det: tuple[int, int, int, int], pads: tuple[int, int, int, int], w: int, h: int
) -> FaceBox:
    """Haar ``(x, y, w, h)`` → crop ``(x1, y1, x2, y2)``: chin extension, then Wav2Lip's pads."""
    x, y, bw, bh = det
    top, bottom, left, right = pads
    y2 = y + bh + round(CHIN_EXTENSION * bh)
    return (max(0, x - left), max(0, y - top), min(w, x + bw + right), min(h, y2 + bottom))


def _smooth(boxes: np.ndarray, found: np.ndarray, window: int) -> np.ndarray:
    """Average each found box with the found boxes within ``window`` frames (centred)."""
    out = boxes.copy()
    idx = np.flatnonzero(found)
    for i in idx:
        near = idx[np.abs(idx - i) <= window // 2]
        out[i] = np.round(boxes[near].mean(axis=0)).astype(boxes.dtype)
    return out


def _track(frame: np.ndarray, prev: tuple[int, int, int, int]) -> tuple[int, int, int, int] | None:
    """Detect the face again near its previous box (a video's next frame): a small search."""
    x, y, bw, bh = prev
    h, w = frame.shape[:2]
    rx1, ry1 = max(0, x - bw // 2), max(0, y - bh // 2)
    rx2, ry2 = min(w, x + bw + bw // 2), min(h, y + bh + bh // 2)
    roi = frame[ry1:ry2, rx1:rx2]
    if min(roi.shape[:2]) < 24:
        return None
    faces = detect_faces(roi, min_rel_size=0.6 * bw / max(1, min(roi.shape[:2])))
    if not faces:
        return None
    fx, fy, fw, fh = faces[0]
    return (fx + rx1, fy + ry1, fw, fh)


def _detect_boxes(frames: np.ndarray, pads: tuple[int, int, int, int]) -> np.ndarray:
    """Crop box per frame (-1 where no face); a video is tracked near the previous face."""
    n, h, w = frames.shape[:3]
    boxes = np.full((n, 4), -1, np.int32)
    prev: tuple[int, int, int, int] | None = None
    for i, frame in enumerate(frames):
        det = _track(frame, prev) if prev is not None else None
        if det is None:
            faces = detect_faces(frame)
            det = faces[0] if faces else None
        if det is not None:
            boxes[i] = _crop_box(det, pads, w, h)
        prev = det
    found = boxes[:, 0] >= 0
    if n > 1:
        boxes = _smooth(boxes, found, SMOOTH_WINDOW)
    return boxes


def crop_faces(frames: np.ndarray, boxes: np.ndarray, size: int = 96) -> np.ndarray:
    """``[N,size,size,3]`` crops resized with INTER_LINEAR (zeros where a frame has no face)."""
    out = np.zeros((len(frames), size, size, 3), np.uint8)
    for i, (frame, (x1, y1, x2, y2)) in enumerate(zip(frames, boxes, strict=True)):
        if x1 >= 0 and x2 > x1 and y2 > y1:
            out[i] = cv2.resize(frame[y1:y2, x1:x2], (size, size))
    return out


def _cache_key(digest: str, options: dict) -> str:
    blob = json.dumps({"v": CACHE_VERSION, "sha256": digest, **options}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def enrol_avatar(
    source: str | Path | None = None,
    *,
    name: str = "default",
    fps: float = 25.0,
    face_box: tuple[int, int, int, int] | None = None,
    pads: tuple[int, int, int, int] = (0, 10, 0, 0),
    size: int | tuple[int, int] | None = None,
    jpeg_quality: int = 80,
    cache_dir: str | Path | None = None,
    require_face: bool = False,
    mouth_box: tuple[float, float, float, float] | None = None,
    eyes: tuple[tuple[float, float, float, float], ...] | None = None,
) -> Avatar:
    """Load an avatar image or video and prepare its faces (cached on disk).

    ``face_box`` is ``(x1, y1, x2, y2)`` in output pixels and skips detection; ``pads`` is
    Wav2Lip's ``(top, bottom, left, right)`` added to detected boxes; ``size`` is the output
    size, an int for the longer side or ``(width, height)``; ``fps`` applies to still images
    (a video keeps its own rate). ``require_face`` raises :class:`AvatarLoadError` when no
    frame shows a face; otherwise such frames are passed through unchanged. ``mouth_box``
    (lips) and ``eyes`` (two boxes) in output pixels override the detected features.
    """
    path = Path(source) if source is not None else default_avatar_path()
    if not path.is_file():
        raise AvatarLoadError(f"avatar file not found: {path}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    frames, rate = _read_frames(path, float(fps))
    frames = _resize(frames, size)
    n, h, w = frames.shape[:3]
    options = {
        "face_box": list(face_box) if face_box else None,
        "pads": list(pads),
        "size": list(size) if isinstance(size, tuple) else size,
    }
    key = _cache_key(digest, options)
    cache_file = Path(cache_dir or default_cache_dir()) / f"{key}.npz"
    boxes = faces = None
    if cache_file.is_file():
        try:
            with np.load(cache_file) as z:
                if z["boxes"].shape == (n, 4) and z["faces96"].shape[0] == n:
                    boxes, faces = z["boxes"], z["faces96"]
        except (OSError, ValueError, KeyError) as exc:
            log.warning("ignoring unreadable avatar cache", file=str(cache_file), error=str(exc))
    cache_hit = boxes is not None
    if boxes is None or faces is None:
        if face_box is not None:
            x1, y1, x2, y2 = (int(v) for v in face_box)
            box = (max(0, x1), max(0, y1), min(w, x2), min(h, y2))
            if box[2] <= box[0] or box[3] <= box[1]:
                raise AvatarLoadError(f"face_box {face_box} is empty inside a {w}x{h} avatar")
            boxes = np.tile(np.array(box, np.int32), (n, 1))
        else:
            boxes = _detect_boxes(frames, pads)
        faces = crop_faces(frames, boxes)
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache_file.with_suffix(f".{os.getpid()}.tmp.npz")
            np.savez(tmp, boxes=boxes, faces96=faces)
            os.replace(tmp, cache_file)
        except OSError as exc:
            log.warning("cannot write avatar cache", file=str(cache_file), error=str(exc))
    found = np.flatnonzero((boxes[:, 0] >= 0) & (boxes[:, 2] > boxes[:, 0]))
    features = (
        face_features(frames[found[0]], boxes[found[0]], mouth_box, eyes) if found.size else None
    )
    avatar = Avatar(
        name=name,
        fps=float(rate),
        frames=frames,
        boxes=boxes,
        faces96=faces,
        key=key,
        source=str(path),
        jpeg_quality=jpeg_quality,
        cache_hit=cache_hit,
        **({"features": features} if features is not None else {}),
    )
    n_faces = int(avatar.has_face.sum())
    if n_faces == 0 and require_face:
        raise AvatarLoadError(f"no face found in avatar {path}; set a face_box")
    log.info(
        "enrolled avatar",
        avatar=name,
        width=w,
        height=h,
        frames=n,
        fps=rate,
        faces=n_faces,
        cache="hit" if cache_hit else "miss",
        features=avatar.features.source,
    )
    if n_faces == 0:
        log.warning("no face found in avatar: frames pass through unchanged", path=str(path))
    return avatar

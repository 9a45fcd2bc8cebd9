"""Life for any engine's frames: blinks, breathing and a slight head sway, on the channel clock.

Blinks: one per 4 s slot, placed at a random offset of ±1 s in its slot, so consecutive blinks
are 2–6 s apart (never two within 500 ms) and 100–150 ms long (a fast close, a slower open).
Placement is a hash of the seed and the slot, so any time ``t`` is answered without history and
the same seed gives the same blinks. A blink slides the upper lid (the skin above each eye,
stretched) down over the eye, with a dark lash line at its edge.

Idle motion: breathing (the body below the chin rises by ~1.5 px, 4.5 s period) and a head sway
(~2 px, 9 s and 7 s periods), one smooth displacement field that is zero at the frame edges.
Motion is quantised to 1/4 px so a low-rate idle stream can skip unchanged frames (:meth:`key`).
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from functools import lru_cache

import cv2
import numpy as np

from .avatar_data import Avatar

SLOT_S = 4.0
IDLE_FPS = 2.0  # rate of the idle stream's motion frames (blink frames come on top, idle_times)


def _unit(seed: int, slot: int, salt: int) -> float:
    h = hashlib.blake2b(f"{seed}:{slot}:{salt}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "little") / 2**64


class Life:
    """Blinks and idle motion for one avatar; ``apply`` works on any engine's output frame."""

    def __init__(
        self,
        avatar: Avatar,
        blink: bool = True,
        idle_motion: bool = True,
        seed: int | None = None,
        idle_fps: float = IDLE_FPS,
    ) -> None:
        self.avatar = avatar
        self.blink = blink and bool(avatar.has_face[0])
        self.idle_motion = idle_motion
        self.seed = int(seed if seed is not None else np.random.SeedSequence().entropy % 2**31)  # type: ignore[operator]
        self.idle_fps = float(idle_fps)
        self._idle: OrderedDict[tuple[float, ...], np.ndarray] = OrderedDict()
        self._bases: OrderedDict[tuple[float, ...], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    # ---- blinks ----
    def blink_at(self, slot: int) -> tuple[float, float]:
        """(start, duration) in seconds of the blink of 4 s slot ``slot``."""
        start = (slot + 0.5) * SLOT_S + (2 * _unit(self.seed, slot, 0) - 1) * 1.0
        return start, 0.10 + 0.05 * _unit(self.seed, slot, 1)

    def blinks(self, t0: float, t1: float) -> list[tuple[float, float]]:
        """Blinks (start, duration) that start in ``[t0, t1)``."""
        out = []
        for slot in range(int(math.floor(t0 / SLOT_S)) - 1, int(math.floor(t1 / SLOT_S)) + 1):
            start, dur = self.blink_at(slot)
            if t0 <= start < t1:
                out.append((start, dur))
        return out

    def closure(self, t: float) -> float:
        """How closed the eyes are at ``t`` (0 open .. 1 shut)."""
        if not self.blink:
            return 0.0
        slot = int(math.floor(t / SLOT_S))
        for s in (slot - 1, slot, slot + 1):
            start, dur = self.blink_at(s)
            x = (t - start) / dur
            if 0.0 <= x < 1.0:
                return min(1.0, x / 0.4) if x < 0.4 else max(0.0, 1.0 - (x - 0.4) / 0.6)
        return 0.0

    # ---- motion ----
    def motion(self, t: float) -> tuple[float, float, float]:
        """(head dx, head dy, breath dy) in pixels at ``t``, quantised to 1/4 px."""
        if not self.idle_motion:
            return (0.0, 0.0, 0.0)
        ph = _unit(self.seed, 0, 7) * 2 * math.pi
        scale = max(1.0, self.avatar.height / 512)
        dx = 1.6 * math.sin(2 * math.pi * t / 9.0 + ph) * scale
        dy = 0.8 * math.sin(2 * math.pi * t / 7.0 + 2 * ph) * scale
        br = 1.5 * (0.5 - 0.5 * math.cos(2 * math.pi * t / 4.5)) * scale
        q = lambda v: round(v * 4) / 4  # noqa: E731
        return (q(dx), q(dy + 0.3 * br), q(br))

    def key(self, t: float) -> tuple[float, float, float, float]:
        """What the frame at ``t`` looks like: equal keys, equal frames."""
        return (*self.motion(t), _lid(self.closure(t)))

    def changed(self, t_prev: float, t: float) -> bool:
        return self.key(t_prev) != self.key(t)

    def idle_times(self, t0: float, t1: float) -> list[float]:
        """When to publish idle frames in ``[t0, t1)``: ticks at ``idle_fps`` whose frame changed,
        plus the closed and reopened frames of each blink (so a low rate still shows blinks)."""
        times = [t0 + i / self.idle_fps for i in range(int((t1 - t0) * self.idle_fps) + 1)]
        for start, dur in self.blinks(t0, t1):
            times += [start + 0.4 * dur, start + dur]
        times = sorted(t for t in times if t0 <= t < t1)
        out: list[float] = []
        for t in times:
            if not out or self.changed(out[-1], t):
                out.append(t)
        return out

    # ---- frames ----
    def apply(self, frame: np.ndarray, t: float, index: int = 0) -> np.ndarray:
        """``frame`` (avatar frame ``index``'s geometry) with life at ``t``; a new array."""
        out = frame
        c = _lid(self.closure(t))
        if c > 0 and self.avatar.has_face[index % self.avatar.n_frames]:
            out = out.copy()
            for eye in self.avatar.eye_boxes(index):
                _close_eye(out, eye, c)
        disp = self.motion(t)
        if any(disp):
            out = self._moved(out, index % self.avatar.n_frames, disp)
        return out if out is not frame else frame.copy()

    def _moved(self, frame: np.ndarray, i: int, disp: tuple[float, float, float]) -> np.ndarray:
        """``frame`` under the head/breath warp. For a still avatar the warped photo is cached
        per displacement and only the part of ``frame`` that differs from the photo (the mouth,
        blinking eyes) is warped again: the same pixels as warping the whole frame."""
        box = self.avatar.boxes[i]
        if not self.avatar.is_still:
            return _move(frame, box, *disp)
        with self._lock:
            base = self._bases.get(disp)
        if base is None:
            base = _move(self.avatar.frames[i], box, *disp)
            with self._lock:
                self._bases[disp] = base
                while len(self._bases) > 8:
                    self._bases.popitem(last=False)
        h, w = frame.shape[:2]
        diff = cv2.absdiff(frame, self.avatar.frames[i]).reshape(h, w * 3)
        x, y, bw, bh = cv2.boundingRect(diff)
        out = base.copy()
        if bw == 0 or bh == 0:
            return out
        pad = int(math.ceil(sum(abs(v) for v in disp))) + 2  # the farthest a pixel moves, +2
        x1, x2 = max(0, x // 3 - pad), min(w, (x + bw + 2) // 3 + pad)
        y1, y2 = max(0, y - pad), min(h, y + bh + pad)
        m1, m2 = _maps((h, w), _box(box, h, w), *disp)
        out[y1:y2, x1:x2] = cv2.remap(
            frame,
            m1[y1:y2, x1:x2],
            m2[y1:y2, x1:x2],
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
        return out

    def idle_frame(self, t: float) -> np.ndarray:
        """The resting frame with life at ``t`` (a new array; the last frames are cached by
        :meth:`key`, so a blink or a sway that comes back costs no warp)."""
        key = self.key(t)
        with self._lock:
            frame = self._idle.get(key)
            if frame is not None:
                self._idle.move_to_end(key)
                return frame.copy()
        frame = self.apply(self.avatar.idle_frame, t)
        with self._lock:
            self._idle[key] = frame
            while len(self._idle) > 32:
                self._idle.popitem(last=False)
        return frame.copy()


def _lid(closure: float) -> float:
    """Closure quantised to 1/8 (what :meth:`Life.key` and :meth:`Life.apply` both use)."""
    return round(closure * 8) / 8


def _close_eye(frame: np.ndarray, eye: np.ndarray, c: float) -> None:
    """Slide the upper lid down over ``eye`` by ``c`` (in place)."""
    x1, y1, x2, y2 = (float(v) for v in eye)
    eh, ew = y2 - y1, x2 - x1
    lid = 0.9 * eh  # skin above the eye that stretches into the lid
    rx1, rx2 = int(x1 - 0.15 * ew), int(x2 + 0.15 * ew) + 1
    ry1, ry2 = int(y1 - lid), int(y2 + 2) + 1
    h, w = frame.shape[:2]
    rx1, ry1, rx2, ry2 = max(0, rx1), max(0, ry1), min(w, rx2), min(h, ry2)
    if rx2 - rx1 < 3 or ry2 - ry1 < 3:
        return
    yy, xx = np.mgrid[ry1:ry2, rx1:rx2].astype(np.float32)
    dxn = (xx - (x1 + x2) / 2) / (0.5 * ew * 1.15)
    arc = np.clip(1 - dxn * dxn, 0, 1) ** 0.5  # the lid travels most in the middle
    edge = y1 + c * eh * arc  # the lid's edge
    top = y1 - lid
    src = np.where(yy < edge, top + (yy - top) * lid / np.maximum(edge - top, 1e-3), yy)
    roi = frame[ry1:ry2, rx1:rx2]
    mx = (xx - rx1).astype(np.float32)
    my = np.clip(src - ry1, 0, ry2 - ry1 - 1).astype(np.float32)
    warped = cv2.remap(roi, mx, my, cv2.INTER_LINEAR).astype(np.float32)
    lash = 0.45 * c * np.exp(-(((yy - edge) / 1.2) ** 2)) * (arc > 0)
    frame[ry1:ry2, rx1:rx2] = np.clip(warped * (1 - lash[..., None]) + 0.5, 0, 255).astype(np.uint8)


@lru_cache(maxsize=8)
def _weights(shape: tuple[int, int], box: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Head weight ``[h,w]`` (1 on the head, 0 at the frame edges) and body weight ``[h,1]``."""
    h, w = shape
    x1, y1, x2, y2 = box
    cx, cy, bw, bh = (x1 + x2) / 2, (y1 + y2) / 2, max(8, x2 - x1), max(8, y2 - y1)
    xs, ys = np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)
    wx = np.clip(1.3 - np.abs(xs - cx) / bw, 0, 1) * np.clip(np.minimum(xs, w - 1 - xs) / 8, 0, 1)
    wy = np.clip(1.3 - np.abs(ys - cy) / bh, 0, 1) * np.clip(np.minimum(ys, h - 1 - ys) / 8, 0, 1)
    head = (np.minimum(wy[:, None], 1) * np.minimum(wx[None, :], 1)).astype(np.float32)
    body = (np.clip((ys - y2) / (0.3 * bh), 0, 1) * np.clip((h - 1 - ys) / 8, 0, 1))[:, None]
    return head, body.astype(np.float32)


def _box(box: np.ndarray, h: int, w: int) -> tuple[int, ...]:
    """The face box, or the middle of the frame for a frame without a face."""
    return tuple(int(v) for v in box) if box[0] >= 0 else (w // 4, h // 4, 3 * w // 4, 3 * h // 4)


def _move(frame: np.ndarray, box: np.ndarray, dx: float, dy: float, br: float) -> np.ndarray:
    h, w = frame.shape[:2]
    m1, m2 = _maps((h, w), _box(box, h, w), dx, dy, br)
    return cv2.remap(frame, m1, m2, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


@lru_cache(maxsize=32)
def _maps(
    shape: tuple[int, int], box: tuple[int, ...], dx: float, dy: float, br: float
) -> tuple[np.ndarray, np.ndarray]:
    """Fixed-point remap maps of one (quantised) displacement: the motion changes every few
    frames, so during speech most frames reuse the maps of the previous one."""
    head, body = _weights(shape, box)
    base_x, base_y = _grid(*shape)
    map_x = base_x - dx * head
    map_y = base_y - dy * head + br * body
    return cv2.convertMaps(map_x, map_y, cv2.CV_16SC2)


@lru_cache(maxsize=4)
def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return xs, ys

"""Draw one mouth shape on a photo: warp the real lips apart and paint the cavity between them.

The lips of the photo stay lips: a backward map lifts the upper lip and drops the lower lip and
jaw (the opening is a lens that is widest in the middle and closes at the corners), squeezes or
stretches the mouth sideways (rounding, spreading), and presses the lips together for ``PP``.
The gap between the moved lips is the mouth cavity: a dark, warm gradient, the upper teeth as an
off-white band under the upper lip (fading towards the corners), the lower teeth, the tongue as
a shaded ellipse at the bottom, and a soft shadow where the lips meet the cavity. For ``FF`` the
upper teeth rest on the top of the lower lip. Maps and colours depend only on the geometry and
the (quantised) shape, so they are cached and a frame costs one remap and one blend.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np


@dataclass(frozen=True)
class Shape:
    """A mouth shape; ``open`` is the lip gap as a share of the mouth's half-width."""

    open: float = 0.0
    width: float = 1.0  # horizontal scale of the mouth (<1 round, >1 spread)
    round: float = 0.0  # 0..1: rounder opening
    press: float = 0.0  # 0..1: lips pressed together (bilabials)
    tuck: float = 0.0  # 0..1: lower lip under the upper teeth (labiodentals)
    teeth_u: float = 0.0  # 0..1: upper teeth shown
    teeth_l: float = 0.0  # 0..1: lower teeth shown
    tongue: float = 0.0  # 0..1: tongue shown

    def quantised(self) -> Shape:
        q = [
            round(v * 48) / 48
            for v in (
                self.open,
                self.round,
                self.press,
                self.tuck,
                self.teeth_u,
                self.teeth_l,
                self.tongue,
            )
        ]
        return Shape(q[0], round(self.width * 96) / 96, *q[1:])


@dataclass(frozen=True)
class MouthGeometry:
    """Pixels of one face: lips' box, lip line, chin, and the colours taken from the photo."""

    box: tuple[float, float, float, float]  # lips x1, y1, x2, y2
    line: float  # where the lips meet
    chin: float  # bottom of the face box
    lip_bgr: tuple[float, float, float]
    teeth_bgr: tuple[float, float, float]
    shape: tuple[int, int]  # frame height, width


def geometry_from(frame: np.ndarray, box: np.ndarray, line: float, chin: float) -> MouthGeometry:
    """Measure the lip and skin colours of the photo around ``box`` (lips) once."""
    x1, y1, x2, y2 = (float(v) for v in box)
    cx, hw = (x1 + x2) / 2, (x2 - x1) / 2
    lips = frame[int(y1) : int(y2) + 1, int(cx - 0.5 * hw) : int(cx + 0.5 * hw) + 1]
    lip = lips.reshape(-1, 3).astype(np.float64).mean(axis=0) if lips.size else (90, 90, 160)
    skin = frame[int(y2) : int(y2 + (y2 - y1)) + 1, int(x1) : int(x2) + 1]
    lum = float(skin.mean()) if skin.size else 150.0
    k = min(1.15, max(0.75, (lum / 150.0) ** 0.5))
    teeth = tuple(float(min(250.0, c * k)) for c in (170.0, 196.0, 218.0))
    h, w = frame.shape[:2]
    lip_bgr = (float(lip[0]), float(lip[1]), float(lip[2]))
    teeth_bgr = (teeth[0], teeth[1], teeth[2])
    return MouthGeometry((x1, y1, x2, y2), float(line), float(chin), lip_bgr, teeth_bgr, (h, w))


WARM = np.array([0.8, 0.78, 1.0], np.float32)  # the cavity is redder than the lips (BGR)

Prepared = tuple[
    tuple[int, int, int, int], np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray
]


@lru_cache(maxsize=1024)
def prepare(g: MouthGeometry, s: Shape) -> Prepared | None:
    """ROI, remap maps, alpha ``[h,w,1]``, premultiplied cavity colour and lip shading."""
    if s.open <= 0 and s.press <= 0 and s.tuck <= 0 and abs(s.width - 1) < 1e-3:
        return None
    x1, y1, x2, y2 = g.box
    cx, hw = (x1 + x2) / 2, max(2.0, (x2 - x1) / 2)
    ly = g.line
    tu, tl = max(1.5, ly - y1), max(1.5, y2 - ly)
    op = s.open * hw
    up, down = 0.36 * op, 0.64 * op
    chin = max(g.chin, y2 + 2 * tl)
    h, w = g.shape
    rx1, rx2 = max(0, int(cx - 1.9 * hw)), min(w, int(cx + 1.9 * hw) + 1)
    ry1 = max(0, int(ly - max(2.5 * tu, 1.3 * hw) - 1))
    ry2 = min(h, int(chin + 0.35 * (chin - ly) + down) + 1)
    yy, xx = np.mgrid[ry1:ry2, rx1:rx2].astype(np.float32)
    dx = xx - cx
    # sideways: scale about the centre, strongest at the mouth, fading over the cheeks
    near = np.exp(-((dx / (1.2 * hw)) ** 2) - ((yy - ly) / (0.6 * hw + down)) ** 2)
    near *= np.clip((yy - ry1) / (0.4 * hw), 0, 1) * np.clip((ry2 - 1 - yy) / (0.4 * hw), 0, 1)
    near *= np.clip((xx - rx1) / (0.3 * hw), 0, 1) * np.clip((rx2 - 1 - xx) / (0.3 * hw), 0, 1)
    src_x = cx + dx / (1.0 + (s.width - 1.0) * near)
    # the opening: a lens between the corners, rounder for rounded vowels
    dxn = dx / (0.8 * hw * s.width)
    lens = np.clip(1.0 - dxn * dxn, 0.0, 1.0) ** (0.62 - 0.3 * s.round)
    broad = np.clip(1.0 - np.abs(dx) / (1.9 * hw), 0.0, 1.0) ** 0.6
    tuck = s.tuck * 0.35 * tl * lens
    if s.tuck > 0:
        up = max(up, s.tuck * 0.1 * hw)
    yu = ly - up * lens
    yl = ly + down * lens + tuck
    # upper lip and skin above it move up; lower lip, chin and jaw move down
    d_up = yu - yy
    g_up = np.clip(1.0 - d_up / (2.2 * tu + up + 1.0), 0.0, 1.0)
    src_up = yy + up * lens * g_up
    d_lo = yy - yl
    jaw = down * broad
    span = np.maximum(1.6 * tl + 0.5 * down, 1.5 * jaw + 1.0)
    k = np.clip(d_lo / span, 0.0, 1.0)
    disp = down * lens * (1.0 - k) + jaw * k
    disp *= np.clip(1.0 - (yy - chin) / (0.35 * (chin - ly) + 1.0), 0.0, 1.0)
    src_lo = yy - disp
    src_y = np.where(yy < yu, src_up, np.where(yy > yl, src_lo, ly))
    if s.press > 0:  # pressed lips: a little thinner, a darker seam
        band = np.abs(yy - ly) < (tu + tl)
        src_y = np.where(band, ly + (src_y - ly) * (1.0 + 0.18 * s.press), src_y)
    gap = np.maximum(yl - yu, 1e-3)
    # a soft inner lip edge (about 2 px), fading out towards the corners
    alpha = np.clip((np.minimum(yy - yu, yl - yy) + 0.6) / 2.0, 0.0, 1.0)
    alpha *= np.clip(lens * 4.0, 0.0, 1.0)
    alpha *= min(1.0, (s.open * hw + s.tuck * 4.0) / 1.5)
    colour = _cavity(g, s, yy, yu, gap, lens, hw)
    shade = np.ones_like(yy)
    edge = np.minimum(np.abs(yy - yu), np.abs(yy - yl))
    shade -= 0.22 * np.exp(-((edge / 2.0) ** 2)) * (lens > 0.02) * min(1.0, op / 3.0)
    shade -= 0.2 * s.press * np.exp(-(((yy - ly) / 1.4) ** 2)) * lens
    if s.tuck > 0:  # the lower lip in the teeth's shadow
        shade -= 0.12 * s.tuck * np.clip(1.0 - (yy - yl) / tl, 0.0, 1.0) * (yy > yl) * lens
    alpha3 = alpha[..., None].astype(np.float32)
    colour = colour * alpha3
    mx = (src_x - rx1).astype(np.float32)
    my = (src_y - ry1).astype(np.float32)
    keep = (shade[..., None] * (1.0 - alpha3)).astype(np.float32)
    return (rx1, ry1, rx2, ry2), mx, my, alpha3, colour.astype(np.float32), keep


def _cavity(
    g: MouthGeometry,
    s: Shape,
    yy: np.ndarray,
    yu: np.ndarray,
    gap: np.ndarray,
    lens: np.ndarray,
    hw: float,
) -> np.ndarray:
    """Colour of the inside of the mouth: cavity, tongue, lower and upper teeth (back to front)."""
    v = np.clip((yy - yu) / gap, 0.0, 1.0)[..., None]
    lip = np.array(g.lip_bgr, np.float32)
    depth = (0.3 + 0.22 * np.abs(2 * v - 1) ** 2) * (0.5 + 0.5 * lens[..., None])
    out = lip * WARM * depth  # dark red-brown, a little lighter next to the lips
    if s.tongue > 0:
        top = 1.0 - 0.5 * s.tongue
        t = np.clip((v - top) / 0.12, 0.0, 1.0) * (lens[..., None] > 0.3)
        tshade = 0.42 + 0.3 * np.clip((v - top) / 0.35, 0.0, 1.0)
        out = out * (1 - t) + lip * np.array([0.95, 0.95, 1.05], np.float32) * tshade * t
    teeth = np.array(g.teeth_bgr, np.float32)
    px = (yy - yu)[..., None]  # pixels below the upper lip
    if s.teeth_l > 0:
        hl = s.teeth_l * np.minimum(0.28 * gap, 0.14 * hw)[..., None]
        below = gap[..., None] - px
        t = np.clip((hl - below) / 1.2, 0.0, 1.0) * (lens[..., None] ** 1.5)
        out = out * (1 - t) + teeth * 0.5 * t
    if s.teeth_u > 0 or s.tuck > 0:
        hu = np.maximum(
            s.teeth_u * np.minimum(0.42 * gap, 0.24 * hw) * np.sqrt(lens), s.tuck * gap
        )[..., None]
        t = np.clip((hu - px) / 1.6, 0.0, 1.0) * np.clip(lens[..., None] * 1.4, 0.0, 1.0) ** 1.5
        down = np.clip(px / np.maximum(hu, 1.0), 0, 1)  # 0 under the lip .. 1 at the tooth edge
        bright = (0.84 + 0.14 * down) * (0.5 + 0.5 * lens[..., None] ** 0.7)
        out = out * (1 - t) + teeth * bright * t
    return out.astype(np.float32)


def draw_mouth(frame: np.ndarray, g: MouthGeometry, shape: Shape) -> None:
    """Draw ``shape`` on ``frame`` (in place; the frame's face must be the one ``g`` measured)."""
    prep = prepare(g, shape.quantised())
    if prep is None:
        return
    (rx1, ry1, rx2, ry2), mx, my, _, colour, keep = prep
    roi = frame[ry1:ry2, rx1:rx2]
    warped = cv2.remap(roi, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    out = warped.astype(np.float32) * keep + colour
    frame[ry1:ry2, rx1:rx2] = np.clip(out + 0.5, 0, 255).astype(np.uint8)

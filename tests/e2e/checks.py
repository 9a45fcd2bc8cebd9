"""Checks shared by the kiosk e2e tests. None depends on how busy the machine is."""

from __future__ import annotations

import numpy as np
from kiosk_driver import Kiosk
from synthetic import MOUTH_BOX

#: The page draws a frame up to DRAW_LOOKAHEAD_S (8 ms) before it is due and never more than
#: LATE_DROP_FRAMES (2) frame intervals after (later ones are counted late, not drawn): clock.js.
EARLY_MS = 8.0 + 0.5
LATE_MS = 2 * 40.0 + 0.5


def mouth_change(k: Kiosk, idle: list[float]) -> float:
    """Mean grey-level change of the synthetic face's mouth box against ``idle``."""
    return float(np.abs(np.array(k.region(MOUTH_BOX)) - np.array(idle)).mean())


def assert_in_sync(k: Kiosk, uid: str) -> dict[str, float]:
    """Frames of ``uid`` were drawn on the audio clock: in seq order, none ahead of its sound,
    none beyond the late bound."""
    drawn = k.js(
        "(id) => window.avatarKiosk.offsets.filter((o) => o.id === id)"
        ".map((o) => [o.seq, o.offsetMs])",
        uid,
    )
    assert drawn, "no frame drawn"
    seqs = [s for s, _ in drawn]
    assert seqs == sorted(set(seqs)), f"frames drawn out of order: {seqs}"
    offsets = [o for _, o in drawn]
    assert min(offsets) >= -EARLY_MS, f"a frame was drawn before its sound: {min(offsets)} ms"
    assert max(offsets) <= LATE_MS, f"a frame past the drop bound was drawn: {max(offsets)} ms"
    return k.js("(id) => window.avatarKiosk.offsetSummary(id)", uid)


def assert_accounted(k: Kiosk) -> dict[str, int]:
    """Every frame received was drawn, skipped (two due in one refresh), late, undecodable, left
    over when its utterance ended, or is still held: none is lost or leaks. Returns the stats."""
    st = k.stats()
    held = k.js("() => window.avatarKiosk.held().frames")
    done = (st["framesDrawn"] + st["framesSkipped"] + st["framesLate"] + st["framesUnplayed"]
            + st["badFrames"] + held)  # fmt: skip
    assert done == st["framesReceived"], (st, held)
    return st

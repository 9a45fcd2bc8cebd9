"""How many channels can speak at once in real time: voice + lip sync + JPEG.

    python bench/channels.py [--channels 1 2 4 6 8] [--modes lock2 free1] [--lead-ms 300]
    python bench/channels.py --engine wav2lip [--checkpoint wav2lip.pth] --channels 1 2 3

Every channel is one thread that speaks the 40-word paragraph of bench/tts_rtf.py: per sentence
``Voice.stream_aligned`` pieces (the first sentence in windows, the rest whole), the frames of
each piece from the ``viseme`` engine (``create_engine("viseme")``; ``--engine wav2lip``: Wav2Lip at
``dtype: auto``, one engine shared by every channel as in the node, with ``--checkpoint`` or the
reference fixture checkpoint rebuilt as bench/lipsync.py does), the bundled portrait, 25 fps,
on the piece's frame clock as the pipeline does: ``pipeline.clock.frame_span``) and their JPEGs
from one shared :class:`~avatar_node.media.jpeg.JpegPool` (2 workers). No MQTT. All channels
share one voice (one model copy). A channel keeps up when
every frame is ready before it is due: playback starts when the channel's first frames are
ready, plus ``--lead-ms`` (the page's buffering lead), and frame k is due ``k / fps`` later.
Printed per channel count: the worst lateness over all frames of all channels (negative: spare
time), the worst time from a channel's start to its first frames, the wall time, the cores the
process got (CPU time / wall time), and whether every channel kept up; the figure is the largest
count that did.

Modes (torch thread settings; ``avatar_node.tts`` sets ``OMP_WAIT_POLICY=PASSIVE`` first):

- ``lock2``: ``torch.set_num_threads(2)``, one model call at a time (a lock around each
  piece, as the voice registry holds it): TTS uses both cores, channels queue for it;
- ``free1``: ``torch.set_num_threads(1)``, no lock: up to one piece per core in parallel, no
  intra-op threads to fight over the 2 cores;
- ``lock1``: 1 thread and the lock (a baseline: half the machine for TTS).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import avatar_node.tts  # noqa: E402, F401  (before torch: OpenMP settings, as in the node)

FPS = 25.0
MODES = {"lock2": (2, True), "free1": (1, False), "lock1": (1, True)}


def speak(voice, engine, avatar, pool, lock, text: str, lead_s: float) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """One channel: the worst lateness of its frames (≤ 0: kept up) and the time from its
    start to its first frames, in seconds."""
    began = time.perf_counter()
    from avatar_node.media.alignment import shift
    from avatar_node.pipeline.clock import frame_span
    from avatar_node.tts import WHOLE_SENTENCE, StreamPlan

    options = voice.options()
    rate = voice.sample_rate
    start: float | None = None
    worst = -1e9
    offset = 0  # samples of the utterance before this sentence
    for k, ids in enumerate(voice.text_to_ids(text)):
        plan = StreamPlan() if k == 0 else WHOLE_SENTENCE  # first sentence in windows
        pieces = iter(voice.stream_aligned(ids, options, plan))
        end = 0
        while True:
            with lock:
                piece = next(pieces, None)
            if piece is None:
                break
            first_sample = offset + piece.start_sample
            end = piece.start_sample + piece.audio.size
            f0, count = frame_span(first_sample, piece.audio.size, rate, FPS)
            phones = shift(piece.phones, first_sample * 1000 / rate - f0 * 1000 / FPS)
            done = f0
            for batch in engine.render(avatar, piece.audio, rate, f0, count, phones):
                pool.submit(batch).result()
                now = time.perf_counter()
                if start is None:
                    start = now + lead_s
                done += len(batch)
                worst = max(worst, now - (start + (done - 1) / FPS))
        offset += end
    assert start is not None
    return worst, start - lead_s - began


def run(
    n: int, mode: str, lead_s: float, voice, engine, avatar, pool
) -> tuple[float, float, float]:  # type: ignore[no-untyped-def]
    import torch
    from tts_rtf import PARAGRAPH

    threads, locked = MODES[mode]
    torch.set_num_threads(threads)
    lock: contextlib.AbstractContextManager = (
        threading.Lock() if locked else contextlib.nullcontext()
    )  # type: ignore[type-arg]
    worst = [(float("inf"), float("inf"))] * n  # a channel that fails never kept up

    def channel(i: int) -> None:
        worst[i] = speak(voice, engine, avatar, pool, lock, PARAGRAPH, lead_s)

    t0, cpu0 = time.perf_counter(), time.process_time()
    workers = [threading.Thread(target=channel, args=(i,)) for i in range(n)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    wall = time.perf_counter() - t0
    late, first = (max(column) for column in zip(*worst, strict=True))
    return late, first, wall, (time.process_time() - cpu0) / wall


def main() -> None:
    from avatar_node.lipsync import enrol_avatar
    from avatar_node.lipsync.factory import create_engine
    from avatar_node.media.jpeg import JpegPool
    from avatar_node.tts import load_voice

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, nargs="+", default=[1, 2, 4, 6, 8])
    parser.add_argument("--modes", nargs="+", default=["lock2", "free1"], choices=list(MODES))
    parser.add_argument("--lead-ms", type=float, default=300.0)
    parser.add_argument("--engine", choices=["viseme", "wav2lip"], default="viseme")
    parser.add_argument("--checkpoint", help="wav2lip.pth for --engine wav2lip")
    args = parser.parse_args()

    voice = load_voice(device="cpu")
    with tempfile.TemporaryDirectory(prefix="bench-channels-") as tmp:
        checkpoint = args.checkpoint
        if args.engine == "wav2lip" and checkpoint is None:
            from lipsync import fixture_checkpoint

            checkpoint = fixture_checkpoint(tmp)
            if checkpoint is None:
                raise SystemExit("--engine wav2lip needs --checkpoint (no shared fixtures here)")
        engine = create_engine(args.engine, checkpoint=checkpoint, device="cpu")
    avatar = enrol_avatar(fps=FPS)
    engine.warmup(avatar)
    voice.warmup()
    dtype = getattr(engine, "dtype", None)
    label = engine.name + ("" if dtype is None else " " + str(dtype).removeprefix("torch."))
    print(f"voice {voice.name} (decoder {str(voice.dtype).removeprefix('torch.')}), engine "
          f"{label}, avatar {avatar.frames.shape[2]}x{avatar.frames.shape[1]} at {FPS:g} "
          f"fps, lead {args.lead_ms:.0f} ms")  # fmt: skip
    print(f"load average {os.getloadavg()[0]:.1f} (cores {os.cpu_count()})")
    print(f"{'mode':<6} {'channels':>8} {'worst lateness ms':>18} {'first frame ms':>14} "
          f"{'wall s':>7} {'cores':>6}  real time")  # fmt: skip
    with JpegPool(workers=2, quality=avatar.jpeg_quality) as pool:
        for mode in args.modes:
            best = 0
            for n in args.channels:
                late, first, wall, cores = run(
                    n, mode, args.lead_ms / 1000, voice, engine, avatar, pool
                )
                ok = late <= 0
                best = n if ok else best
                print(f"{mode:<6} {n:>8} {late * 1000:>18.0f} {first * 1000:>14.0f} "
                      f"{wall:>7.1f} {cores:>6.2f}  {'yes' if ok else 'no'}")  # fmt: skip
                if not ok:
                    break
            print(f"  {mode}: {best} channel(s) speak at once in real time "
                  f"(load average now {os.getloadavg()[0]:.1f})")  # fmt: skip


if __name__ == "__main__":
    main()

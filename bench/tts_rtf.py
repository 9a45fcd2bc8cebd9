"""Real-time factor of our torch VITS vs piper-tts (onnxruntime) on the same Piper voice.

    python bench/tts_rtf.py [--runs 5] [--threads 1 2] [--model x.onnx]

For a 40-word English paragraph, in one process, with 1 and 2 threads: the median over
``--runs`` of (synthesis time / audio duration) for both engines, and their ratio
(torch / onnxruntime; < 1 means the torch path is faster), plus the ratio in CPU time of the
calling thread (robust against other processes on a shared machine; meaningful for 1 thread).
Both run the same sentence split and the json's default noise, so every run has new lengths.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch

PARAGRAPH = (
    "The old lighthouse keeper climbed the narrow stairs every evening at dusk. "
    "He polished the great lens, checked the oil, and watched the ships pass safely by. "
    "Nobody in the village knew his real name, yet everyone trusted his light."
)


def time_interleaved(engines: list, runs: int) -> list[tuple[float, float, float]]:  # type: ignore[type-arg]
    """Per engine (``fn() -> seconds of audio``): median wall-clock RTF, median RTF in CPU time
    of the calling thread (insensitive to other processes; meaningful for 1 thread only) and
    median audio seconds. Runs alternate between engines so outside load hits both alike.
    """
    for fn in engines:
        fn()  # warm-up (allocator, oneDNN primitives, onnxruntime arenas)
    wall: list[list[float]] = [[] for _ in engines]
    cpu: list[list[float]] = [[] for _ in engines]
    audio: list[list[float]] = [[] for _ in engines]
    for _ in range(runs):
        for k, fn in enumerate(engines):
            start, start_cpu = time.perf_counter(), time.thread_time()
            seconds = fn()
            wall[k].append((time.perf_counter() - start) / seconds)
            cpu[k].append((time.thread_time() - start_cpu) / seconds)
            audio[k].append(seconds)
    return [
        (statistics.median(w), statistics.median(c), statistics.median(a))
        for w, c, a in zip(wall, cpu, audio, strict=True)
    ]


def run_onnx(reference, rate: int) -> float:  # type: ignore[no-untyped-def]
    chunks = list(reference.synthesize(PARAGRAPH))
    return sum(np.asarray(c.audio_float_array).size for c in chunks) / rate


def main() -> None:
    from piper import PiperVoice

    from avatar_node.tts import default_voice_path, load_voice

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--model", type=Path, default=None, help="Piper .onnx (default: joe)")
    args = parser.parse_args()
    model = args.model or default_voice_path()
    assert len(PARAGRAPH.split()) == 40

    ours = load_voice(model, device="cpu")
    rate = ours.sample_rate

    def run_torch() -> float:
        return sum(a.size for a in ours.synthesize(PARAGRAPH)) / rate

    print(f"voice {model.name}, {len(PARAGRAPH.split())} words, median of {args.runs} runs")
    print(
        f"{'threads':>7} {'torch RTF':>10} {'onnx RTF':>10} {'ratio':>7} "
        f"{'cpu ratio':>9} {'audio s':>8}"
    )
    for threads in args.threads:
        torch.set_num_threads(threads)
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        reference = PiperVoice.load(model)
        reference.session = onnxruntime.InferenceSession(
            str(model), sess_options=options, providers=["CPUExecutionProvider"]
        )

        (rtf_torch, cpu_torch, seconds), (rtf_onnx, cpu_onnx, _) = time_interleaved(
            [run_torch, lambda v=reference: run_onnx(v, rate)], args.runs
        )
        print(
            f"{threads:>7} {rtf_torch:>10.3f} {rtf_onnx:>10.3f} {rtf_torch / rtf_onnx:>7.2f} "
            f"{cpu_torch / cpu_onnx:>9.2f} {seconds:>8.2f}"
        )


if __name__ == "__main__":
    main()

"""Real-time factor of our torch VITS vs piper-tts (onnxruntime) on the same Piper voice.

    python bench/tts_rtf.py [--runs 5] [--threads 2 1] [--model x.onnx]

For a 40-word English paragraph, in one process, with 2 and 1 threads: the median over
``--runs`` of (synthesis time / audio duration) for

- **torch default**: ``load_voice(model)`` as a user gets it, warmed up as the node does
  (``dtype: auto``: the HiFi-GAN decoder in bfloat16 where the CPU has native bfloat16 and it
  measures faster, float32 elsewhere), ``Voice.synthesize``: whole sentences, each sentence's
  latent computed on the voice's worker thread while the one before is decoded (2+ threads);
- **torch stream**: the same voice through ``Voice.stream_calls`` as a TTS stage uses it: the
  utterance's first sentence in windows (first audio inside the first sentence), the later
  sentences in one piece each (``WHOLE_SENTENCE``: ready long before the one before has played);
- **stream all**: every sentence in windows (the cost of the seams);
- **torch float32**: ``dtype="float32"`` (the parity path);
- **onnxruntime**: ``piper.PiperVoice`` (piper-tts 1.8) with ``intra_op_num_threads`` set,
  otherwise its default session options (as wyoming-piper runs it);

and the ratios torch / onnxruntime (< 1: torch is faster). Runs alternate between engines so
outside load hits all alike; the CPU time of the calling thread is printed too (for 1 thread it
is insensitive to other processes). All engines run the same sentence split and the json's
default noise, so every run has new lengths. ``avatar_node.tts`` is imported before torch, as in
the node (it sets ``OMP_WAIT_POLICY=PASSIVE`` unless the environment sets it).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from avatar_node.tts import default_voice_path, load_voice  # before torch: OpenMP settings
from avatar_node.tts.streaming import StreamPlan

# isort: split

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


def onnx_voice(model: Path, threads: int):  # type: ignore[no-untyped-def]
    import onnxruntime
    from piper import PiperVoice

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    reference = PiperVoice.load(model)
    reference.session = onnxruntime.InferenceSession(
        str(model), sess_options=options, providers=["CPUExecutionProvider"]
    )
    return reference


def rtf_table(model: Path, threads_list: list[int], runs: int) -> dict[int, dict[str, float]]:
    default = load_voice(model, device="cpu")
    exact = load_voice(model, device="cpu", dtype="float32")
    for voice in (default, exact):
        voice.warmup()  # as the node does at start: the decoder's kernels, built once
    rate = default.sample_rate

    def whole(voice) -> float:  # type: ignore[no-untyped-def]
        return sum(a.size for a in voice.synthesize(PARAGRAPH)) / rate

    def stream(every: bool) -> float:
        options, calls = default.options(), default.text_to_ids(PARAGRAPH)
        if not every:  # as the node's TTS stage: the next latent starts during this decode
            pieces = default.stream_calls(calls, options, StreamPlan())
            return sum(piece.audio.size for piece in pieces) / rate
        samples, ahead = 0, default.prepare(calls[0], options, StreamPlan())
        for k, ids in enumerate(calls):
            prepared = ahead
            if k + 1 < len(calls):
                ahead = default.prepare(calls[k + 1], options, StreamPlan())
            pieces = default.stream_aligned(ids, options, StreamPlan(), prepared)
            samples += sum(piece.audio.size for piece in pieces)
        return samples / rate

    names = ["torch default", "torch stream", "stream all", "torch float32", "onnxruntime"]
    print(f"voice {model.name}, {len(PARAGRAPH.split())} words, median of {runs} runs; "
          f"torch default decoder dtype {str(default.dtype).removeprefix('torch.')}, "
          f"OMP_WAIT_POLICY={__import__('os').environ.get('OMP_WAIT_POLICY')}")  # fmt: skip
    print(f"{'threads':>7} {'engine':<14} {'RTF':>7} {'cpu RTF':>8} {'/ onnx':>7} "
          f"{'cpu / onnx':>10} {'audio s':>8}")  # fmt: skip
    results: dict[int, dict[str, float]] = {}
    for threads in threads_list:
        torch.set_num_threads(threads)
        reference = onnx_voice(model, threads)
        rows = time_interleaved(
            [lambda: whole(default), lambda: stream(False), lambda: stream(True),
             lambda: whole(exact), lambda v=reference: run_onnx(v, rate)], runs,
        )  # fmt: skip
        onnx_wall, onnx_cpu, _ = rows[-1]
        results[threads] = {}
        for name, (wall, cpu, seconds) in zip(names, rows, strict=True):
            results[threads][name] = wall / onnx_wall
            print(f"{threads:>7} {name:<14} {wall:>7.3f} {cpu:>8.3f} {wall / onnx_wall:>7.2f} "
                  f"{cpu / onnx_cpu:>10.2f} {seconds:>8.2f}")  # fmt: skip
    return results


def main(argv: list[str] | None = None) -> dict[int, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, nargs="+", default=[2, 1])
    parser.add_argument("--model", type=Path, default=None, help="Piper .onnx (default: joe)")
    args = parser.parse_args(argv)
    assert len(PARAGRAPH.split()) == 40
    results = rtf_table(args.model or default_voice_path(), args.threads, args.runs)
    for threads, row in results.items():
        target = 0.80 if threads >= 2 else 1.0
        ratio = row["torch default"]
        print(f"  {threads} thread(s): torch default / onnxruntime = {ratio:.2f} "
              f"(target <= {target:.2f}: {'met' if ratio <= target else 'NOT met'}); "
              f"streaming {row['torch stream']:.2f}, every sentence streamed "
              f"{row['stream all']:.2f}")  # fmt: skip
    return results


if __name__ == "__main__":
    main()

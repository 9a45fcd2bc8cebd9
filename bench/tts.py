"""TTS benchmark: real-time factor vs piper-tts (bench/tts_rtf.py), time to first audio, and the
real-time factor of a VITS-fast-fine-tuning checkpoint voice in float32 and bfloat16.

Time to first audio: publish ``say`` → the first ``audio`` message at a subscriber, through a
private mosquitto, median of runs. Baselines measured in the same run: an MQTT round trip on the
same broker (transport floor) and the in-process synthesis time of the same first sentence
(model floor), so the figure reads as "floor + overhead".

VITS checkpoint (``--skip-vits`` to leave it out; ``--skip-rtf --skip-latency`` for it alone):
the reference fixture's ``G_latest.pth`` (192 hidden, upsample 8/8/2/2, 512 initial channels, 2
speakers; random weights, so the "speech" is noise but the compute is the real one) is rebuilt
into a temporary folder with ``fixtures/reference/build_checkpoints.py``. On the CPU with 2 torch
threads, the fixture's ``case_L57_sid0`` ids (57 ids with blanks, speaker 0), ``noise_scale``
0.667, ``noise_scale_w`` 0.6, ``length_scale`` 1, and one fixed set of injected standard-normal
noise (``eps_dp``, ``eps_z``) so every engine and run has the same durations. Engines, runs
interleaved, median of ``--vits-runs`` (≥ 5) after one warm-up each; RTF = wall time of one
``infer`` call / seconds of audio:

- **baseline**, reference-style eager float32 with weight norm *not* folded: a deep copy of our
  float32 model in which every layer the checkpoint stores as a ``weight_g``/``weight_v`` pair
  (``dec.ups.*``, ``dec.resblocks.*.convs1/convs2.*``, and in ``flow.flows.*.enc`` the WN
  ``in_layers``, ``res_skip_layers`` and ``cond_layer``) gets
  ``torch.nn.utils.parametrizations.weight_norm`` again, loaded with the checkpoint's own
  ``weight_g``/``weight_v``, so ``g·v/‖v‖`` is recomputed on every call as the reference (which
  never calls ``remove_weight_norm``) does. The decoder runs a reference-style forward: plain
  ``[B, C, T]`` ``conv1d``/``conv_transpose1d`` (no channels-last, no polyphase upsampling),
  non-in-place leaky ReLU and residual adds, mean over the resblocks. It runs under
  ``torch.no_grad`` like ``cmd_inference.py``. Text encoder, duration predictor and the
  frame expansion are our modules (no weight norm there in the reference either; the reference
  expands with a path matrix and a matmul, which is negligible at this size). Its audio is
  checked against ours in float32 (max |diff| printed).
- **float32**: ``load_voice(config, G_latest.pth, device="cpu", dtype="float32")``.
- **bfloat16**: ``load_voice(..., dtype="bfloat16")``: the HiFi-GAN decoder in bfloat16, text
  encoder, duration predictor and flow in float32 (``Voice.to``).

Printed: RTF of each, speed-ups over the baseline and bf16 over fp32, and for bfloat16 vs
float32 whether the durations (``w_ceil``) are identical and the SNR of the audio in dB
(target ≥ 30 dB; target speed-up of bfloat16 over the baseline ≥ 1.5×).

    .venv/bin/python bench/tts.py [--runs 5] [--skip-rtf] [--skip-latency] [--skip-vits]
                                  [--vits-runs 7]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PARAGRAPH = (
    "Welcome to the museum. Our new exhibition opens today, with paintings from twelve artists "
    "who lived by the sea. Please keep your ticket with you, and ask any guide if you need help "
    "finding your way."
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_broker(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = free_port()
    conf = workdir / "m.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n")
    proc = subprocess.Popen([exe, "-c", str(conf)], stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    return proc, port


def mqtt_round_trip_ms(port: int, runs: int) -> float:
    from avatar_node.client import AvatarClient

    got = threading.Event()
    with AvatarClient("127.0.0.1", port, "rt") as c:
        c.subscribe("rt/echo", lambda t, p: got.set())
        times = []
        for _ in range(runs):
            got.clear()
            t0 = time.perf_counter()
            c.publish("rt/echo", b"x")
            got.wait(5)
            times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def first_audio(port: int, runs: int) -> tuple[float, float]:
    from avatar_node.app import Node
    from avatar_node.client import AvatarClient
    from avatar_node.settings import Settings

    settings = Settings(mqtt={"port": port, "topic_prefix": "bench"}, web={"enabled": False},
                        node={"phrase_cache_mb": 0})  # fmt: skip
    node = Node(settings, load_avatars=False)
    node.start()
    voice = node.voices.get("default").voice
    first_sentence = PARAGRAPH.split(". ")[0] + "."
    direct = []
    for _ in range(runs):
        t0 = time.perf_counter()
        for ids in voice.text_to_ids(first_sentence):
            voice.synthesize_ids(ids)
        direct.append((time.perf_counter() - t0) * 1000)
    latencies = []
    with AvatarClient("127.0.0.1", port, "bench") as c:
        col = c.collector(frames=False)
        c.say("Warm up.", id="warm")
        col.wait_end("warm")
        for i in range(runs):
            t0 = time.monotonic()
            utt_id = c.say(PARAGRAPH, id=f"b{i}")
            utt = col.wait_end(utt_id, 120)
            assert utt.t_first_audio is not None
            latencies.append((utt.t_first_audio - t0) * 1000)
    node.stop()
    return statistics.median(latencies), statistics.median(direct)


VITS_FIXTURE = REPO.parent / "shared" / "fixtures" / "reference"


def _reference_resblock(block, x):  # type: ignore[no-untyped-def]
    """ResBlock "1" / "2" as the reference runs it: ``[B, C, T]``, nothing in place."""
    from torch import nn
    from torch.nn import functional as F

    from avatar_node.tts.vits.generator import LRELU_SLOPE

    pairs = (
        zip(block.convs1, block.convs2, strict=True) if hasattr(block, "convs1")
        else ((conv, None) for conv in block.convs)
    )  # fmt: skip
    for conv1, conv2 in pairs:
        xt = nn.Conv1d.forward(conv1, F.leaky_relu(x, LRELU_SLOPE))
        if conv2 is not None:
            xt = nn.Conv1d.forward(conv2, F.leaky_relu(xt, LRELU_SLOPE))
        x = xt + x
    return x


def _reference_decoder_forward(dec, x, g=None):  # type: ignore[no-untyped-def]
    """HiFi-GAN generator, reference style: plain 1-D convolutions on ``[B, C, T]``."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    from avatar_node.tts.vits.generator import LRELU_SLOPE

    x = nn.Conv1d.forward(dec.conv_pre, x)
    if g is not None and dec.cond is not None:
        x = x + nn.Conv1d.forward(dec.cond, g)
    for i, up in enumerate(dec.ups):
        x = nn.ConvTranspose1d.forward(up, F.leaky_relu(x, LRELU_SLOPE))
        xs = None
        for j in range(dec.num_kernels):
            y = _reference_resblock(dec.resblocks[i * dec.num_kernels + j], x)
            xs = y if xs is None else xs + y
        x = xs / dec.num_kernels
    x = nn.Conv1d.forward(dec.conv_post, F.leaky_relu(x))
    return torch.tanh(x)


def reference_style_baseline(model, checkpoint: Path):  # type: ignore[no-untyped-def]
    """Float32 deep copy of ``model`` with weight norm re-applied (the checkpoint's g and v)
    on every layer stored as a ``weight_g``/``weight_v`` pair, and a reference-style decoder."""
    import copy
    import types

    import torch
    from torch.nn.utils.parametrizations import weight_norm

    baseline = copy.deepcopy(model).float()
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)["model"]
    modules = dict(baseline.named_modules())
    wrapped = []
    for key in state:
        if not key.endswith(".weight_g"):
            continue
        layer = key.removesuffix(".weight_g")
        if layer not in modules:  # enc_q: not used by inference
            continue
        module = modules[layer]
        weight_norm(module, name="weight", dim=0)
        params = module.parametrizations.weight  # type: ignore[union-attr]
        with torch.no_grad():
            params.original0.copy_(state[key].float())
            params.original1.copy_(state[layer + ".weight_v"].float())
        wrapped.append(layer)
    baseline.requires_grad_(False)
    baseline.dec.forward = types.MethodType(_reference_decoder_forward, baseline.dec)
    return baseline, wrapped


def build_vits_checkpoint(out: Path) -> Path:
    """Rebuild the fixture's ``G_latest.pth`` (VITS pack only) into ``out``."""
    pack = out / "pack"
    pack.mkdir(parents=True)
    (pack / "vits").symlink_to(VITS_FIXTURE / "vits", target_is_directory=True)
    script = VITS_FIXTURE / "build_checkpoints.py"
    subprocess.run([sys.executable, str(script), str(out), str(pack)], check=True,
                   capture_output=True, timeout=300)  # fmt: skip
    return out / "vits" / "G_latest.pth"


def vits_rtf(runs: int, threads: int = 2) -> None:
    import numpy as np
    import torch

    from avatar_node.tts import load_voice

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from tts_rtf import time_interleaved

    torch.set_num_threads(threads)
    config = VITS_FIXTURE / "vits" / "finetune_speaker.json"
    with np.load(VITS_FIXTURE / "vits" / "case_L57_sid0.npz") as case:
        ids = torch.from_numpy(case["x"])
        sid = torch.from_numpy(case["sid"])
    lengths = torch.tensor([ids.shape[1]])
    noise = {"noise_scale": 0.667, "noise_scale_w": 0.6, "length_scale": 1.0}
    gen = torch.Generator().manual_seed(1234)
    eps = {"eps_dp": torch.randn(1, 2, ids.shape[1], generator=gen),
           "eps_z": torch.randn(1, 192, 4096, generator=gen)}  # fmt: skip

    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = build_vits_checkpoint(Path(tmp))
        fp32 = load_voice(config, checkpoint, device="cpu", dtype="float32")
        bf16 = load_voice(config, checkpoint, device="cpu", dtype="bfloat16")
        baseline, wrapped = reference_style_baseline(fp32.model, checkpoint)
    rate, hop = fp32.sample_rate, fp32.hop_length

    def ours(voice):  # type: ignore[no-untyped-def]
        with torch.inference_mode():
            return voice.model.infer(ids, lengths, sid, **noise, **eps)

    def reference():  # type: ignore[no-untyped-def]
        with torch.no_grad():
            return baseline.infer(ids, lengths, sid, **noise, **eps)

    def seconds(out) -> float:  # type: ignore[no-untyped-def]
        return int(out.y_lengths[0]) * hop / rate

    out32, out16, out_ref = ours(fp32), ours(bf16), reference()
    n = int(out32.y_lengths[0]) * hop
    a32 = out32.audio[0, 0, :n].double()
    a16 = out16.audio[0, 0, :n].double()
    same_durations = torch.equal(out32.w_ceil, out16.w_ceil) and torch.equal(
        out32.w_ceil, out_ref.w_ceil
    )
    snr = 10 * torch.log10(a32.square().sum() / (a32 - a16).square().sum()).item()
    ref_diff = (out_ref.audio[0, 0, :n].double() - a32).abs().max().item()

    engines = [lambda: seconds(reference()), lambda: seconds(ours(fp32)),
               lambda: seconds(ours(bf16))]  # fmt: skip
    (r_ref, _, audio_s), (r32, _, _), (r16, _, _) = time_interleaved(engines, runs)

    print(
        f"\nVITS checkpoint (fixture G_latest.pth), CPU, {threads} threads, "
        f"case_L57_sid0 ({ids.shape[1]} ids), {audio_s:.2f} s of audio, median of {runs} runs"
    )
    print(
        f"  baseline: reference-style eager fp32, weight norm re-applied on {len(wrapped)} layers"
        f"; audio vs our fp32 max |diff| {ref_diff:.1e}"
    )
    print(f"  {'engine':<34} {'RTF':>7} {'x baseline':>11}")
    print(f"  {'baseline (eager fp32, wn unfolded)':<34} {r_ref:>7.3f} {1.0:>11.2f}")
    print(f"  {'ours float32':<34} {r32:>7.3f} {r_ref / r32:>11.2f}")
    print(f"  {'ours bfloat16 (decoder)':<34} {r16:>7.3f} {r_ref / r16:>11.2f}  (target >= 1.5)")
    print(f"  bfloat16 vs float32: {r32 / r16:.2f}x faster; durations (w_ceil) identical: "
          f"{same_durations}; SNR {snr:.1f} dB (target >= 30)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-rtf", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-vits", action="store_true")
    parser.add_argument("--vits-runs", type=int, default=7)
    args = parser.parse_args()
    if not args.skip_rtf:
        import tts_rtf

        sys.argv = [sys.argv[0], "--runs", str(args.runs)]  # tts_rtf parses its own arguments
        tts_rtf.main()
    if not args.skip_vits:
        vits_rtf(max(5, args.vits_runs))
    if args.skip_latency:
        return
    with tempfile.TemporaryDirectory() as tmp:
        proc, port = start_broker(Path(tmp))
        try:
            rt = mqtt_round_trip_ms(port, 20)
            first, direct = first_audio(port, args.runs)
        finally:
            proc.terminate()
    print("\nTime to first audio (publish say -> first audio message at a subscriber)")
    print(f"  MQTT round trip (baseline)          {rt:8.1f} ms")
    print(f"  first sentence, in-process (floor)  {direct:8.1f} ms")
    print(f"  first audio through the broker      {first:8.1f} ms  "
          f"= {first / direct:.2f} x the in-process floor  (target <= 250 ms)")  # fmt: skip


if __name__ == "__main__":
    main()

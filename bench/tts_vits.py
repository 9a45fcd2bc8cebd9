"""Real-time factor of a VITS-fast-fine-tuning checkpoint voice: reference-style baseline,
float32 and bfloat16 (run by bench/tts.py; ``python bench/tts_vits.py`` runs it alone).

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
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

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


if __name__ == "__main__":
    vits_rtf(7)

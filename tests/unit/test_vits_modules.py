"""Unit tests of the VITS modules with tiny random configurations."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from avatar_node.errors import CheckpointError
from avatar_node.tts.vits import VitsHParams, VitsSynthesizer
from avatar_node.tts.vits.spline import rational_quadratic_spline
from avatar_node.tts.vits.text_encoder import RelativeSelfAttention
from avatar_node.tts.vits.weights import build_model, fold_weight_norm, prepare_state_dict

TINY = dict(
    n_vocab=20, inter_channels=8, hidden_channels=8, filter_channels=16, n_heads=2, n_layers=2,
    kernel_size=3, resblock="2", resblock_kernel_sizes=(3, 5), resblock_dilation_sizes=((1, 2),
    (2, 3)), upsample_rates=(4, 2), upsample_initial_channel=16, upsample_kernel_sizes=(8, 4),
)  # fmt: skip


def tiny_model(seed: int = 0, **overrides: object) -> VitsSynthesizer:
    torch.manual_seed(seed)
    model = VitsSynthesizer(VitsHParams(**{**TINY, **overrides}))  # type: ignore[arg-type]
    with torch.no_grad():  # random, non-degenerate values everywhere (flows are not identities)
        for p in model.parameters():
            p.normal_(0, 0.3)
    return model.eval().requires_grad_(False)


@pytest.mark.filterwarnings("ignore:.*weight_norm.*:FutureWarning")
def test_weight_norm_folding_equals_unfolded_layer() -> None:
    torch.manual_seed(0)
    for conv in (torch.nn.Conv1d(6, 5, 3, padding=1), torch.nn.ConvTranspose1d(6, 4, 8, 4, 2)):
        wn = torch.nn.utils.weight_norm(conv)  # the legacy weight_g/weight_v keys
        with torch.no_grad():
            wn.weight_g.mul_(torch.rand_like(wn.weight_g) + 0.5)
        x = torch.randn(2, 6, 11)
        expected = wn(x)
        state = {k: v for k, v in wn.state_dict().items()}
        folded, origin = prepare_state_dict({f"layer.{k}": v for k, v in state.items()})
        plain = type(conv)(*_conv_args(conv))
        plain.load_state_dict({"weight": folded["layer.weight"], "bias": folded["layer.bias"]})
        assert origin["layer.weight"] == "layer.weight_g/weight_v"
        torch.testing.assert_close(plain(x), expected, atol=1e-6, rtol=1e-5)


def _conv_args(conv: torch.nn.Module) -> tuple:
    return (conv.in_channels, conv.out_channels, conv.kernel_size[0], conv.stride[0],  # type: ignore[union-attr]
            conv.padding[0])  # type: ignore[union-attr]  # fmt: skip


def test_parametrized_weight_norm_keys_are_folded_too() -> None:
    torch.manual_seed(0)
    conv = torch.nn.utils.parametrizations.weight_norm(torch.nn.Conv1d(4, 3, 3, padding=1))
    with torch.no_grad():
        conv.parametrizations.weight.original0.mul_(1.7)
    x = torch.randn(1, 4, 9)
    folded, _ = prepare_state_dict({f"c.{k}": v for k, v in conv.state_dict().items()})
    plain = torch.nn.Conv1d(4, 3, 3, padding=1)
    plain.load_state_dict({"weight": folded["c.weight"], "bias": folded["c.bias"]})
    torch.testing.assert_close(plain(x), conv(x), atol=1e-6, rtol=1e-5)


def test_fold_weight_norm_uses_all_dims_but_zero() -> None:
    v = torch.randn(4, 3, 5)
    g = torch.rand(4, 1, 1) + 0.5
    w = fold_weight_norm(v, g)
    norms = w.flatten(1).norm(dim=1)
    torch.testing.assert_close(norms, g.flatten())


def test_spline_inverse_undoes_forward_and_tails_are_identity() -> None:
    torch.manual_seed(1)
    x = torch.linspace(-7, 7, 301).reshape(1, 1, 301)
    # one spline for all points (monotonicity), then per-point splines (round trip)
    w, h, d = (torch.randn(n).expand(1, 1, 301, n) for n in (10, 10, 9))
    y = rational_quadratic_spline(x, w, h, d, inverse=False, tail_bound=5.0)
    back = rational_quadratic_spline(y, w, h, d, inverse=True, tail_bound=5.0)
    torch.testing.assert_close(back, x, atol=1e-4, rtol=0)
    outside = x.abs() > 5
    assert torch.equal(y[outside], x[outside])
    assert bool((y[~outside].diff() > 0).all())  # monotonic inside
    w, h, d = torch.randn(1, 1, 301, 10), torch.randn(1, 1, 301, 10), torch.randn(1, 1, 301, 9)
    y = rational_quadratic_spline(x, w, h, d, inverse=False, tail_bound=5.0)
    back = rational_quadratic_spline(y, w, h, d, inverse=True, tail_bound=5.0)
    torch.testing.assert_close(back, x, atol=1e-4, rtol=0)


def naive_relative_attention(layer: RelativeSelfAttention, x: torch.Tensor) -> torch.Tensor:
    """Explicit double loop over (query, key) pairs: the definition of relative attention."""
    b, c, t = x.shape
    h, d, w = layer.n_heads, layer.head_channels, layer.window_size
    q = layer.conv_q(x).view(b, h, d, t)
    k = layer.conv_k(x).view(b, h, d, t)
    v = layer.conv_v(x).view(b, h, d, t)
    out = torch.zeros(b, h, d, t)
    for i in range(t):
        scores = torch.zeros(b, h, t)
        for j in range(t):
            scores[..., j] = (q[..., i] * k[..., j]).sum(-1) / math.sqrt(d)
            if abs(j - i) <= w:
                scores[..., j] += (q[..., i] * layer.emb_rel_k[:, j - i + w]).sum(-1) / math.sqrt(d)
        p = torch.softmax(scores, -1)
        for j in range(t):
            out[..., i] += p[..., j, None] * v[..., j]
            if abs(j - i) <= w:
                out[..., i] += p[..., j, None] * layer.emb_rel_v[:, j - i + w]
    return layer.conv_o(out.reshape(b, c, t))


@pytest.mark.parametrize("length", [3, 12])
def test_relative_attention_matches_definition(length: int) -> None:
    torch.manual_seed(2)
    layer = RelativeSelfAttention(8, 2, window_size=4).eval()
    with torch.no_grad():
        layer.emb_rel_k.normal_()
        layer.emb_rel_v.normal_()
        x = torch.randn(1, 8, length)
        mask = torch.ones(1, 1, length)
        got = layer(x, mask.unsqueeze(2) * mask.unsqueeze(-1))
        torch.testing.assert_close(got, naive_relative_attention(layer, x), atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize(
    "overrides",
    [{}, {"resblock": "1", "resblock_dilation_sizes": ((1, 3), (1, 3))}, {"use_sdp": False},
     {"n_speakers": 3, "gin_channels": 4}],
    ids=["sdp-res2", "res1", "deterministic-dp", "multispeaker"],
)  # fmt: skip
def test_tiny_model_output_length_and_masking(overrides: dict) -> None:
    model = tiny_model(**overrides)
    ids = torch.randint(1, 20, (1, 7))
    sid = torch.tensor([2]) if overrides.get("n_speakers") else None
    with torch.inference_mode():
        out = model.infer(ids, torch.tensor([7]), sid, 0.0, 0.0, intermediates=True)
    frames = int(out.w_ceil.sum())
    assert int(out.y_lengths[0]) == max(frames, 1)
    assert out.audio.shape == (1, 1, out.y_lengths[0] * model.hp.hop_length)
    assert torch.isfinite(out.audio).all() and out.audio.abs().max() <= 1
    assert out.attn is not None and int(out.attn.sum()) == frames  # one token per frame


def test_padded_batch_row_matches_single_call_before_the_tail() -> None:
    model = tiny_model(3)
    ids = torch.randint(1, 20, (2, 9))
    ids[1, 5:] = 0
    lengths = torch.tensor([9, 5])
    with torch.inference_mode():
        batch = model.infer(ids, lengths, None, 0.0, 0.0, intermediates=True)
        single = model.infer(ids[1:, :5], lengths[1:], None, 0.0, 0.0, intermediates=True)
    assert batch.m_p is not None and single.m_p is not None
    torch.testing.assert_close(batch.m_p[1:, :, :5], single.m_p, atol=1e-5, rtol=1e-4)
    assert torch.equal(batch.w_ceil[1:, :, :5], single.w_ceil)
    assert int(batch.y_lengths[1]) == int(single.y_lengths[0])


def test_seeded_noise_is_reproducible_and_injectable() -> None:
    model = tiny_model(4)
    ids = torch.randint(1, 20, (1, 6))
    with torch.inference_mode():
        torch.manual_seed(7)
        first = model.infer(ids, torch.tensor([6]), None, 0.667, 0.8, intermediates=True)
        torch.manual_seed(7)
        again = model.infer(ids, torch.tensor([6]), None, 0.667, 0.8)
        injected = model.infer(ids, torch.tensor([6]), None, 0.667, 0.8,
                               eps_dp=first.eps_dp, eps_z=first.eps_z)  # fmt: skip
    assert torch.equal(first.audio, again.audio)
    torch.testing.assert_close(first.audio, injected.audio, atol=1e-6, rtol=0)


def _state_of(model: VitsSynthesizer) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_strict_loading_names_missing_and_misshaped_keys() -> None:
    model = tiny_model(5)
    hp = model.hp
    state = _state_of(model)
    rebuilt = build_model(hp, state, {}, "tiny")
    assert all(torch.equal(rebuilt.state_dict()[k], v) for k, v in state.items())

    missing = dict(state)
    del missing["flow.flows.2.enc.in_layers.1.weight"]
    with pytest.raises(CheckpointError, match=r"flow\.flows\.2\.enc\.in_layers\.1\.weight"):
        build_model(hp, missing, {}, "tiny")
    bad = dict(state)
    bad["dec.conv_pre.weight"] = torch.zeros(3, 3, 7)
    with pytest.raises(CheckpointError, match=r"dec\.conv_pre\.weight has shape \[3, 3, 7\]"):
        build_model(hp, bad, {}, "tiny")
    extra = {**state, "something.else": torch.zeros(1)}
    with pytest.raises(CheckpointError, match="unexpected key something.else"):
        build_model(hp, extra, {}, "tiny")


def test_unused_training_keys_are_dropped() -> None:
    state = {
        "enc_q.pre.weight": torch.zeros(1),
        "dp.post_pre.weight": torch.zeros(1),
        "dp.flows.1.pre.weight": torch.zeros(1),
        "module.dec.conv_post.weight": torch.ones(1),
    }
    prepared, _ = prepare_state_dict(state)
    assert list(prepared) == ["dec.conv_post.weight"]


def test_leaky_relu_in_place_does_not_touch_the_residual_input() -> None:
    model = tiny_model(6)
    x = torch.randn(1, 8, 5)
    before = x.clone()
    with torch.inference_mode():
        model.dec(x)
    assert torch.equal(x, before)
    assert F.leaky_relu(torch.tensor([-1.0]), 0.1).item() == pytest.approx(-0.1)


@pytest.mark.parametrize(
    ("c_in", "c_out", "kernel", "stride", "padding"),
    [(8, 4, 16, 8, 4), (6, 4, 8, 4, 2), (4, 4, 4, 2, 1), (5, 3, 3, 2, 1), (4, 2, 7, 3, 0)],
)
def test_polyphase_upsampling_equals_transposed_convolution(
    c_in: int, c_out: int, kernel: int, stride: int, padding: int
) -> None:
    from avatar_node.tts.vits.generator import ConvTranspose1dNHWC

    torch.manual_seed(8)
    layer = ConvTranspose1dNHWC(c_in, c_out, kernel, stride, padding=padding)
    x = torch.randn(2, c_in, 13)
    expected = F.conv_transpose1d(x, layer.weight, layer.bias, stride, padding)
    with torch.inference_mode():
        got = layer(x.unsqueeze(2).contiguous(memory_format=torch.channels_last)).squeeze(2)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)

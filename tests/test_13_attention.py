"""Module 13: attention -- F.scaled_dot_product_attention and nn.MultiheadAttention.

SDPA against PyTorch on every backend (bool and float masks in several broadcast
shapes, causal with L == S and L != S, T = 1, odd head sizes, 2-D/3-D/5-D inputs),
forward and all three gradients; finite differences in float64; fully masked rows
(ours: zeros, zero gradients); the dropout path; the mask handed to the kernel
keeps its broadcast dims. MultiheadAttention: a PyTorch module's state_dict loads
into ours and outputs, averaged weights and every gradient match.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch as tt
import tinytorch.nn.functional as F
from tinytorch import nn
from tinytorch.autograd import gradcheck
from tinytorch.nn.functional.attention import _kernel_mask
from tinytorch.random import default_generator

TOL = 2e-5

# (id, q shape, k shape, v shape, mask: None | ("bool"|"float", shape), causal)
CASES = [
    ("plain-4d", (2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 4), None, False),
    ("bool-LS", (2, 2, 5, 4), (2, 2, 6, 4), (2, 2, 6, 3), ("bool", (5, 6)), False),
    ("bool-keypad", (2, 2, 4, 3), (2, 2, 7, 3), (2, 2, 7, 3), ("bool", (2, 1, 1, 7)), False),
    ("bool-heads", (2, 3, 4, 4), (2, 3, 4, 4), (2, 3, 4, 4), ("bool", (1, 3, 4, 4)), False),
    ("float-full", (1, 2, 5, 4), (1, 2, 5, 4), (1, 2, 5, 4), ("float", (1, 2, 5, 5)), False),
    ("causal-square", (2, 2, 6, 5), (2, 2, 6, 5), (2, 2, 6, 5), None, True),
    ("causal-L<S", (1, 2, 3, 4), (1, 2, 5, 4), (1, 2, 5, 4), None, True),
    ("causal-L>S", (1, 1, 5, 4), (1, 1, 3, 4), (1, 1, 3, 2), None, True),
    ("T1", (2, 2, 1, 4), (2, 2, 1, 4), (2, 2, 1, 4), None, True),
    ("odd-dims", (1, 3, 7, 3), (1, 3, 5, 3), (1, 3, 5, 5), ("float", (7, 5)), False),
    ("3d", (3, 5, 4), (3, 6, 4), (3, 6, 2), ("bool", (3, 5, 6)), False),
    ("2d", (4, 3), (6, 3), (6, 3), None, True),
    ("5d", (2, 1, 2, 3, 4), (2, 1, 2, 3, 4), (2, 1, 2, 3, 4), ("bool", (1, 1, 2, 3, 3)),
     False),
]


def _mask(rng, spec):
    if spec is None:
        return None
    kind, shape = spec
    if kind == "bool":
        mask = rng.random(shape) > 0.3
        mask[..., 0] = True  # every row sees a key: PyTorch's kernels agree there
        return mask
    return rng.standard_normal(shape).astype(np.float32)


def _run_both(torch, q, k, v, mask, causal, dropout_p=0.0):
    rng = np.random.default_rng(9)
    qt, kt, vt = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    mt = None if mask is None else torch.tensor(mask)
    ref = torch.nn.functional.scaled_dot_product_attention(qt, kt, vt, attn_mask=mt,
                                                           is_causal=causal)
    g = rng.standard_normal(tuple(ref.shape)).astype(q.dtype)
    ref.backward(torch.tensor(g))
    ours = [tt.Tensor(a.copy(), requires_grad=True) for a in (q, k, v)]
    out = F.scaled_dot_product_attention(*ours, attn_mask=None if mask is None else
                                         tt.Tensor(mask), is_causal=causal)
    out.backward(g)
    return (out, *ours), (ref, qt, kt, vt)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_sdpa_matches_torch(torch, backend, case):
    _, qs, ks, vs, mask_spec, causal = case
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal(s).astype(np.float32) for s in (qs, ks, vs))
    mask = _mask(rng, mask_spec)
    ours, ref = _run_both(torch, q, k, v, mask, causal)
    for got, want in zip(ours, (ref[0], ref[1].grad, ref[2].grad, ref[3].grad), strict=True):
        np.testing.assert_allclose(got.data if got.grad is None else got.grad.data,
                                   want.detach().numpy(), rtol=TOL, atol=TOL)
    assert ours[0].shape == tuple(ref[0].shape) and ours[0].dtype == np.float32


@pytest.mark.parametrize("causal,mask_kind", [(True, None), (False, "bool"), (False, "float")])
def test_sdpa_gradcheck_float64(backend, causal, mask_kind):
    rng = np.random.default_rng(3)
    q, k, v = (tt.Tensor(rng.standard_normal(s), requires_grad=True)
               for s in ((1, 2, 3, 3), (1, 2, 4, 3), (1, 2, 4, 2)))
    mask = None
    if mask_kind == "bool":
        mask = tt.Tensor(np.array([[1, 0, 1, 1], [1, 1, 0, 0], [0, 1, 1, 1]], dtype=bool))
    elif mask_kind == "float":
        mask = tt.Tensor(rng.standard_normal((2, 3, 4)))
    assert gradcheck(lambda q, k, v: F.scaled_dot_product_attention(
        q, k, v, attn_mask=mask, is_causal=causal, scale=0.7), [q, k, v])


def test_fully_masked_rows_give_zeros_not_nan(torch, backend):
    rng = np.random.default_rng(4)
    q, k, v = (rng.standard_normal((1, 2, 4, 3)).astype(np.float32) for _ in range(3))
    mask = np.ones((1, 2, 4, 4), dtype=bool)
    mask[0, 1, 2, :] = False  # head 1, query 2 may see nothing
    ours = [tt.Tensor(a.copy(), requires_grad=True) for a in (q, k, v)]
    out = F.scaled_dot_product_attention(*ours, attn_mask=tt.Tensor(mask))
    out.sum().backward()
    assert np.all(out.data[0, 1, 2] == 0) and np.all(np.isfinite(out.data))
    assert np.all(ours[0].grad.data[0, 1, 2] == 0)
    for t in ours:
        assert np.all(np.isfinite(t.grad.data))
    # every other row is plain attention: torch agrees there
    ref = torch.nn.functional.scaled_dot_product_attention(
        *(torch.tensor(a) for a in (q, k, v)), attn_mask=torch.tensor(mask)).numpy()
    keep = np.ones((1, 2, 4), dtype=bool)
    keep[0, 1, 2] = False
    np.testing.assert_allclose(out.data[keep], ref[keep], rtol=TOL, atol=TOL)
    # the composite path (need_weights, dropout) follows the same rule
    weighted, weights = nn.functional.attention.attention_with_weights(
        *(tt.Tensor(a) for a in (q, k, v)), _kernel_mask(mask, (1, 2), 4, 4, np.float32),
        1 / np.sqrt(3), False)
    np.testing.assert_allclose(weighted.data, out.data, rtol=TOL, atol=TOL)
    assert np.all(weights.data[0, 1, 2] == 0)


def test_kernel_mask_keeps_broadcast_dims():
    f32 = np.float32
    assert _kernel_mask(np.ones((5, 6), bool), (2, 3), 5, 6, f32).shape == (1, 1, 5, 6)
    assert _kernel_mask(np.ones((2, 1, 1, 6), bool), (2, 3), 5, 6, f32).shape == (2, 1, 5, 6)
    assert _kernel_mask(np.ones((3, 5, 6), bool), (2, 3), 5, 6, f32).shape == (1, 3, 5, 6)
    assert _kernel_mask(np.ones((2, 1, 1, 1, 6)), (2, 4, 3), 5, 6, f32).shape == (8, 1, 5, 6)
    m = _kernel_mask(np.array([[True, False]]), (), 1, 2, f32)
    assert m.dtype == f32 and m[0, 0, 0, 0] == 0 and m[0, 0, 0, 1] == -np.inf


def test_sdpa_errors():
    q = tt.randn(1, 2, 3, 4)
    with pytest.raises(ValueError, match="attn_mask should not be set when is_causal"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=tt.ones(3, 3).bool(), is_causal=True)
    with pytest.raises(ValueError, match=r"attn_mask of shape \(4, 3\) does not broadcast"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=tt.ones(4, 3).bool())
    with pytest.raises(ValueError, match="need the same E"):
        F.scaled_dot_product_attention(q, tt.randn(1, 2, 3, 5), q)
    with pytest.raises(TypeError, match="one float dtype"):
        F.scaled_dot_product_attention(q, q.double(), q)
    with pytest.raises(TypeError, match="bool .* or float"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=tt.ones(3, 3).long())


def test_dropout_path_drops_attention_weights():
    rng = np.random.default_rng(5)
    q, k, v = (tt.Tensor(rng.standard_normal((2, 2, 4, 3)).astype(np.float32))
               for _ in range(3))
    tt.manual_seed(7)
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=0.3, is_causal=True)
    tt.manual_seed(7)
    keep = default_generator().random((2, 2, 4, 4), dtype=np.float32) >= 0.3
    scores = q.data @ np.swapaxes(k.data, -1, -2) / np.sqrt(3)
    scores[..., np.triu(np.ones((4, 4), bool), 1)] = -np.inf
    p = np.exp(scores - scores.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    np.testing.assert_allclose(out.data, (p * keep / 0.7) @ v.data, rtol=1e-5, atol=1e-6)
    zero = F.scaled_dot_product_attention(q, k, v, dropout_p=1.0)
    assert not zero.data.any()


# ---- MultiheadAttention -------------------------------------------------------------------

def _mha_pair(torch, E, H, bias=True, batch_first=True):
    ref = torch.nn.MultiheadAttention(E, H, bias=bias, batch_first=batch_first)
    ours = nn.MultiheadAttention(E, H, bias=bias, batch_first=batch_first)
    ours.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    return ours, ref


MHA_CASES = [
    # (id, self-attention?, key_padding_mask, attn_mask, need_weights, average, causal)
    ("self", True, None, None, True, True, False),
    ("cross", False, None, None, True, True, False),
    ("keypad-bool", True, "bool", None, True, True, False),
    ("attn-bool-LS", False, None, "bool-LS", True, False, False),
    ("attn-float-NH", True, "float", "float-NH", True, True, False),
    ("no-weights-causal", True, None, "causal", False, True, True),
    ("no-weights-keypad", False, "bool", "bool-LS", False, True, False),
]


def _mha_masks(rng, torch, kpm, am, N, H, L, S):
    key_padding = attn = None
    if kpm == "bool":
        key_padding = np.zeros((N, S), bool)
        key_padding[0, -2:] = True  # the last two keys of sample 0 are padding
    elif kpm == "float":
        key_padding = rng.standard_normal((N, S)).astype(np.float32)
    if am == "bool-LS":
        attn = rng.random((L, S)) < 0.3
        attn[:, 0] = False  # never block the first key: no row is fully masked
    elif am == "float-NH":
        attn = rng.standard_normal((N * H, L, S)).astype(np.float32)
    elif am == "causal":
        attn = np.triu(np.ones((L, S), bool), 1)
    return key_padding, attn


@pytest.mark.parametrize("case", MHA_CASES, ids=[c[0] for c in MHA_CASES])
def test_mha_matches_torch_with_its_state_dict(torch, case):
    _, self_attn, kpm, am, need_weights, average, causal = case
    N, L, S, E, H = 2, 4, 4 if self_attn else 6, 8, 2
    rng = np.random.default_rng(6)
    ours, ref = _mha_pair(torch, E, H)
    assert list(ours.state_dict()) == list(ref.state_dict())
    q = rng.standard_normal((N, L, E)).astype(np.float32)
    kv = q if self_attn else rng.standard_normal((N, S, E)).astype(np.float32)
    key_padding, attn = _mha_masks(rng, torch, kpm, am, N, H, L, S)
    qt = torch.tensor(q, requires_grad=True)
    kt = qt if self_attn else torch.tensor(kv, requires_grad=True)
    ref_out, ref_w = ref(qt, kt, kt, key_padding_mask=None if key_padding is None else
                         torch.tensor(key_padding), need_weights=need_weights,
                         attn_mask=None if attn is None else torch.tensor(attn),
                         average_attn_weights=average, is_causal=causal)
    g = rng.standard_normal(tuple(ref_out.shape)).astype(np.float32)
    (ref_out * torch.tensor(g)).sum().backward()
    qs = tt.Tensor(q.copy(), requires_grad=True)
    ks = qs if self_attn else tt.Tensor(kv.copy(), requires_grad=True)
    out, w = ours(qs, ks, ks, key_padding_mask=key_padding, need_weights=need_weights,
                  attn_mask=attn, average_attn_weights=average, is_causal=causal)
    out.backward(g)
    np.testing.assert_allclose(out.data, ref_out.detach().numpy(), rtol=TOL, atol=TOL)
    if need_weights:
        np.testing.assert_allclose(w.data, ref_w.detach().numpy(), rtol=TOL, atol=TOL)
    else:
        assert w is None and ref_w is None
    np.testing.assert_allclose(qs.grad.data, qt.grad.numpy(), rtol=1e-4, atol=1e-4)
    if not self_attn:
        np.testing.assert_allclose(ks.grad.data, kt.grad.numpy(), rtol=1e-4, atol=1e-4)
    ref_params = dict(ref.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.data, ref_params[name].grad.numpy(), rtol=1e-4,
                                   atol=1e-4, err_msg=name)


@pytest.mark.parametrize("variant", ["seq-first", "no-bias", "unbatched"])
def test_mha_layouts_and_bias(torch, variant):
    rng = np.random.default_rng(8)
    ours, ref = _mha_pair(torch, 6, 3, bias=variant != "no-bias",
                          batch_first=variant != "seq-first")
    shape = (5, 6) if variant == "unbatched" else (5, 2, 6) if variant == "seq-first" \
        else (2, 5, 6)
    x = rng.standard_normal(shape).astype(np.float32)
    xt = torch.tensor(x, requires_grad=True)
    ref_out, ref_w = ref(xt, xt, xt)
    ref_out.sum().backward()
    xs = tt.Tensor(x.copy(), requires_grad=True)
    out, w = ours(xs, xs, xs)
    out.sum().backward()
    np.testing.assert_allclose(out.data, ref_out.detach().numpy(), rtol=TOL, atol=TOL)
    np.testing.assert_allclose(w.data, ref_w.detach().numpy(), rtol=TOL, atol=TOL)
    np.testing.assert_allclose(xs.grad.data, xt.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_mha_init_and_errors():
    mha = nn.MultiheadAttention(8, 2)
    assert mha.in_proj_weight.shape == (24, 8) and mha.in_proj_bias.shape == (24,)
    assert mha.out_proj.weight.shape == (8, 8) and not mha.in_proj_bias.data.any()
    bound = np.sqrt(6 / (24 + 8))  # Xavier-uniform over the whole (3E, E) matrix
    assert np.abs(mha.in_proj_weight.data).max() <= bound
    with pytest.raises(ValueError, match="divisible by num_heads"):
        nn.MultiheadAttention(8, 3)
    x = tt.randn(2, 4, 8)
    with pytest.raises(ValueError, match=r"key_padding_mask must have shape \(2, 4\)"):
        mha(x, x, x, key_padding_mask=np.zeros((4, 2), bool))
    with pytest.raises(ValueError, match=r"attn_mask must have shape \(4, 4\)"):
        mha(x, x, x, attn_mask=np.zeros((3, 4), bool))
    with pytest.raises(ValueError, match="must end in 8"):
        mha(x, tt.randn(2, 4, 7), x)

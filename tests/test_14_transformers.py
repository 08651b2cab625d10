"""Module 14: transformers -- LayerNorm, the pre-norm block and TinyGPT.

LayerNorm against PyTorch and finite differences on every backend; the whole GPT,
forward and every parameter's gradient, against the same architecture in PyTorch
with copied weights (``tests/_torch_gpt.py``); weight tying; causality;
``generate`` (reproducible, crops its context, top_k/temperature rules); the FLOP
count against a hand count; GPT-2's initialisation and the optimizer groups.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinytorch as tt
import tinytorch.nn.functional as F
from tinytorch import nn
from tinytorch.autograd import gradcheck
from tinytorch.models import GPT

LN_CASES = [((2, 5, 7), 7, True, True), ((3, 4, 6), (4, 6), True, True),
            ((4, 9), 9, False, False), ((2, 3, 5), 5, True, False), ((1, 1), 1, True, True)]


@pytest.mark.parametrize("shape,normalized,affine,bias", LN_CASES)
def test_layer_norm_matches_torch(torch, backend, shape, normalized, affine, bias):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) * 3 + 1).astype(np.float32)
    ours = nn.LayerNorm(normalized, elementwise_affine=affine, bias=bias)
    ref = torch.nn.LayerNorm(normalized, elementwise_affine=affine, bias=bias)
    if affine:
        w = rng.standard_normal(ours.normalized_shape).astype(np.float32)
        ours.weight.data[...] = w
        ref.weight.data.copy_(torch.tensor(w))
    xt = torch.tensor(x, requires_grad=True)
    g = rng.standard_normal(shape).astype(np.float32)
    ref(xt).backward(torch.tensor(g))
    xs = tt.Tensor(x.copy(), requires_grad=True)
    y = ours(xs)
    y.backward(g)
    np.testing.assert_allclose(y.data, ref(torch.tensor(x)).detach().numpy(), rtol=1e-5,
                               atol=1e-5)
    np.testing.assert_allclose(xs.grad.data, xt.grad.numpy(), rtol=1e-4, atol=1e-4)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.data, getattr(ref, name).grad.numpy(), rtol=1e-4,
                                   atol=1e-4)
    assert repr(ours) == repr(ref)


@pytest.mark.parametrize("with_weight,with_bias", [(True, True), (False, True), (False, False)])
def test_layer_norm_gradcheck_float64(backend, with_weight, with_bias):
    rng = np.random.default_rng(1)
    x = tt.Tensor(rng.standard_normal((3, 2, 4)), requires_grad=True)
    w = tt.Tensor(rng.standard_normal((2, 4)), requires_grad=True) if with_weight else None
    b = tt.Tensor(rng.standard_normal((2, 4)), requires_grad=True) if with_bias else None
    inputs = [t for t in (x, w, b) if t is not None]

    def fn(*args):
        it = iter(args)
        return F.layer_norm(next(it), (2, 4), next(it) if with_weight else None,
                            next(it) if with_bias else None)
    assert gradcheck(fn, inputs)


def test_layer_norm_errors():
    with pytest.raises(ValueError, match=r"does not end in normalized_shape \(5,\)"):
        F.layer_norm(tt.zeros(2, 4), 5)
    with pytest.raises(ValueError, match=r"weight must have shape normalized_shape \(4,\)"):
        F.layer_norm(tt.zeros(2, 4), 4, weight=tt.ones(3))
    with pytest.raises(ValueError, match="normalized_shape must be a positive int"):
        nn.LayerNorm(0)


# ---- the GPT -----------------------------------------------------------------------------

def _tiny_gpt(**overrides):
    tt.manual_seed(0)
    config = dict(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16)
    config.update(overrides)
    return GPT(**config)


@pytest.mark.parametrize("bias,tie", [(True, True), (False, False)])
def test_gpt_forward_and_backward_match_torch(torch, backend, bias, tie):
    from tests import _torch_gpt

    model = _tiny_gpt(bias=bias, tie_weights=tie)
    ref = _torch_gpt.load_from(model)
    rng = np.random.default_rng(2)
    idx, targets = rng.integers(0, 11, (2, 8)), rng.integers(0, 11, (2, 8))
    ref_logits, ref_loss = ref(torch.tensor(idx), torch.tensor(targets))
    ref_loss.backward()
    logits, loss = model(tt.Tensor(idx), tt.Tensor(targets))
    loss.backward()
    np.testing.assert_allclose(logits.data, ref_logits.detach().numpy(), rtol=1e-4, atol=1e-4)
    assert loss.item() == pytest.approx(ref_loss.item(), rel=1e-5)
    ref_params = dict(ref.named_parameters())
    names = [name for name, _ in model.named_parameters()]
    assert names == list(ref_params)
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad.data, ref_params[name].grad.numpy(), rtol=1e-3,
                                   atol=1e-5, err_msg=name)


def test_weight_tying_shares_one_parameter():
    tied, untied = _tiny_gpt(), _tiny_gpt(tie_weights=False)
    assert tied.lm_head.weight is tied.token_embedding.weight
    assert untied.lm_head.weight is not untied.token_embedding.weight
    assert untied.num_parameters() - tied.num_parameters() == 11 * 16
    assert "lm_head.weight" in tied.state_dict()  # saved under both names, as PyTorch does
    _, loss = tied(tt.Tensor(np.array([[1, 2, 3]])), tt.Tensor(np.array([[2, 3, 4]])))
    loss.backward()
    assert tied.lm_head.weight.grad is tied.token_embedding.weight.grad


def test_gpt_is_causal_and_checks_its_context():
    model = _tiny_gpt()
    a = np.array([[1, 2, 3, 4, 5, 6]])
    b = a.copy()
    b[0, 4:] = [9, 10]  # change the future
    la, _ = model(tt.Tensor(a))
    lb, _ = model(tt.Tensor(b))
    np.testing.assert_allclose(la.data[:, :4], lb.data[:, :4], rtol=1e-6, atol=1e-6)
    assert not np.allclose(la.data[:, 4:], lb.data[:, 4:])
    with pytest.raises(ValueError, match="sequence length 9 exceeds block_size 8"):
        model(tt.Tensor(np.zeros((1, 9), np.int64)))
    with pytest.raises(IndexError, match="index 11 is out of range for a table of 11 rows"):
        model(tt.Tensor(np.array([[11]])))


def test_generate_is_reproducible_and_crops_to_block_size():
    model = _tiny_gpt()
    seen = []
    model.blocks[0].register_forward_hook(lambda m, args, out: seen.append(args[0].shape[1]))
    prompt = tt.Tensor(np.array([[1, 2, 3], [4, 5, 6]]))
    tt.manual_seed(5)
    first = model.generate(prompt, 12, temperature=0.9, top_k=4)
    tt.manual_seed(5)
    second = model.generate(prompt, 12, temperature=0.9, top_k=4)
    assert first.shape == (2, 15) and first.dtype == np.int64
    np.testing.assert_array_equal(first.data, second.data)
    np.testing.assert_array_equal(first.data[:, :3], prompt.data)
    assert max(seen) == 8 and seen[0] == 3  # the context never exceeds block_size
    assert model.training  # restored after generating in eval mode


def test_generate_top_k_1_is_greedy():
    model = _tiny_gpt()
    out = model.generate(tt.Tensor(np.array([[3]])), 5, top_k=1)
    tokens = [3]
    for _ in range(5):
        logits, _ = model(tt.Tensor(np.array([tokens[-8:]])))
        tokens.append(int(logits.data[0, -1].argmax()))
    assert out.data[0].tolist() == tokens


@pytest.mark.parametrize("kwargs,message", [
    ({"temperature": 0.0}, "temperature must be > 0"),
    ({"temperature": -1.0}, "temperature must be > 0"),
    ({"top_k": 0}, "top_k must be None or an int >= 1"),
    ({"top_k": True}, "top_k must be None or an int >= 1"),
])
def test_generate_validates_its_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _tiny_gpt().generate(tt.Tensor(np.array([[1]])), 3, **kwargs)


def test_flops_per_token_matches_a_hand_count():
    model = _tiny_gpt()
    T, E, V, L, H = 8, 16, 11, 2, 2
    gemm = 2 * T * (E * 3 * E + E * E + E * 4 * E + 4 * E * E) * L + 2 * T * E * V
    attention = L * 2 * H * T * T * (E // H) * 2
    norms = 5 * T * E * (2 * L + 1)
    assert model.flops_per_token() == (gemm + attention + norms) // T
    backward_attention = L * 2 * H * T * T * (E // H) * 5
    assert model.flops_per_token(training=True) == \
        (3 * gemm + attention + backward_attention + norms) // T


def test_gpt2_init_and_optimizer_groups():
    model = GPT(50, 32, 4, 4, 128)
    std = model.blocks[0].attn.qkv.weight.data.std()
    proj_std = np.concatenate([b.attn.proj.weight.data.ravel() for b in model.blocks]).std()
    assert std == pytest.approx(0.02, rel=0.05)
    assert proj_std == pytest.approx(0.02 / math.sqrt(8), rel=0.05)
    assert not model.blocks[0].attn.qkv.bias.data.any()
    assert np.all(model.ln_f.weight.data == 1)
    optimizer = model.configure_optimizers(0.1, 1e-3)
    decay, no_decay = optimizer.param_groups
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert all(p.ndim == 2 for p in decay["params"])
    assert all(p.ndim == 1 for p in no_decay["params"])
    assert len(decay["params"]) + len(no_decay["params"]) == len(list(model.parameters()))


def test_gpt_config_is_validated():
    with pytest.raises(ValueError, match="divisible by n_head"):
        GPT(10, 8, 1, 3, 16)
    with pytest.raises(ValueError, match="block_size must be a positive int"):
        GPT(10, 0, 1, 2, 16)

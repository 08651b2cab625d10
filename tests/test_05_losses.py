"""Module 05 Losses: values against PyTorch, stability on huge logits, and the error
messages for bad targets. (Their gradients are Module 06's:
tests/test_06_earlier_gradients.py.)"""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import nn


def F(lib):
    return lib.nn.functional


def _logits(rng, shape, scale=2.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def _classes(rng, shape, num_classes, ignore=False):
    y = rng.integers(0, num_classes, shape)
    if ignore:
        y.reshape(-1)[::3] = -100
    return y.astype(np.int64)


def _probabilities(rng, shape):
    p = rng.random(shape).astype(np.float32) + 0.1
    return p / p.sum(axis=1, keepdims=True)


W4 = np.array([0.5, 2.0, 1.0, 3.0], dtype=np.float32)


def _lib_array(lib, a):
    return lib.tensor(a)


# name, fn(lib, x, target), make inputs (rng) -> (x, target), target differentiable?
CASES = [
    ("mse", lambda lib, x, t: F(lib).mse_loss(x, t),
     lambda r: (_logits(r, (4, 3)), _logits(r, (4, 3))), True),
    ("mse_sum", lambda lib, x, t: F(lib).mse_loss(x, t, reduction="sum"),
     lambda r: (_logits(r, (4, 3)), _logits(r, (4, 3))), True),
    ("mse_none", lambda lib, x, t: F(lib).mse_loss(x, t, reduction="none"),
     lambda r: (_logits(r, (2, 3, 2)), _logits(r, (2, 3, 2))), True),
    ("ce", lambda lib, x, t: F(lib).cross_entropy(x, t),
     lambda r: (_logits(r, (6, 4)), _classes(r, 6, 4)), False),
    ("ce_sum", lambda lib, x, t: F(lib).cross_entropy(x, t, reduction="sum"),
     lambda r: (_logits(r, (6, 4)), _classes(r, 6, 4)), False),
    ("ce_none", lambda lib, x, t: F(lib).cross_entropy(x, t, reduction="none"),
     lambda r: (_logits(r, (6, 4)), _classes(r, 6, 4)), False),
    ("ce_weight", lambda lib, x, t: F(lib).cross_entropy(x, t, weight=lib.tensor(W4)),
     lambda r: (_logits(r, (6, 4)), _classes(r, 6, 4)), False),
    ("ce_smoothing", lambda lib, x, t: F(lib).cross_entropy(x, t, label_smoothing=0.2),
     lambda r: (_logits(r, (6, 4)), _classes(r, 6, 4)), False),
    ("ce_ignore", lambda lib, x, t: F(lib).cross_entropy(x, t),
     lambda r: (_logits(r, (7, 4)), _classes(r, 7, 4, ignore=True)), False),
    ("ce_ignore_custom", lambda lib, x, t: F(lib).cross_entropy(x, t, ignore_index=2),
     lambda r: (_logits(r, (7, 4)), _classes(r, 7, 4)), False),
    ("ce_all_options", lambda lib, x, t: F(lib).cross_entropy(
        x, t, weight=lib.tensor(W4), label_smoothing=0.1),
     lambda r: (_logits(r, (7, 4)), _classes(r, 7, 4, ignore=True)), False),
    ("ce_all_options_none", lambda lib, x, t: F(lib).cross_entropy(
        x, t, weight=lib.tensor(W4), label_smoothing=0.1, reduction="none"),
     lambda r: (_logits(r, (7, 4)), _classes(r, 7, 4, ignore=True)), False),
    ("ce_spatial", lambda lib, x, t: F(lib).cross_entropy(x, t, label_smoothing=0.05),
     lambda r: (_logits(r, (2, 4, 3, 2)), _classes(r, (2, 3, 2), 4, ignore=True)), False),
    ("ce_unbatched", lambda lib, x, t: F(lib).cross_entropy(x, t),
     lambda r: (_logits(r, (5,)), np.array(3, dtype=np.int64)), False),
    ("ce_probabilities", lambda lib, x, t: F(lib).cross_entropy(x, t),
     lambda r: (_logits(r, (5, 4)), _probabilities(r, (5, 4))), True),
    ("ce_probabilities_all_options", lambda lib, x, t: F(lib).cross_entropy(
        x, t, weight=lib.tensor(W4), label_smoothing=0.3, reduction="sum"),
     lambda r: (_logits(r, (5, 4)), _probabilities(r, (5, 4))), True),
    ("ce_probabilities_spatial", lambda lib, x, t: F(lib).cross_entropy(x, t),
     lambda r: (_logits(r, (2, 4, 3)), _probabilities(r, (2, 4, 3))), True),
    ("nll", lambda lib, x, t: F(lib).nll_loss(F(lib).log_softmax(x, 1), t),
     lambda r: (_logits(r, (6, 4)), _classes(r, 6, 4, ignore=True)), False),
    ("nll_weight_sum", lambda lib, x, t: F(lib).nll_loss(x, t, weight=lib.tensor(W4),
                                                          reduction="sum"),
     lambda r: (_logits(r, (6, 4)), _classes(r, 6, 4)), False),
    ("nll_spatial_none", lambda lib, x, t: F(lib).nll_loss(x, t, reduction="none"),
     lambda r: (_logits(r, (2, 4, 3)), _classes(r, (2, 3), 4)), False),
    ("bce", lambda lib, x, t: F(lib).binary_cross_entropy(F(lib).sigmoid(x), t),
     lambda r: (_logits(r, (4, 3)), r.random((4, 3)).astype(np.float32)), True),
    ("bce_weight_sum", lambda lib, x, t: F(lib).binary_cross_entropy(
        F(lib).sigmoid(x), t, weight=lib.tensor(np.array([1.0, 2.0, 0.5], np.float32)),
        reduction="sum"),
     lambda r: (_logits(r, (4, 3)), r.random((4, 3)).astype(np.float32)), True),
    ("bce_logits", lambda lib, x, t: F(lib).binary_cross_entropy_with_logits(x, t),
     lambda r: (_logits(r, (4, 3)), r.random((4, 3)).astype(np.float32)), True),
    ("bce_logits_pos_weight", lambda lib, x, t: F(lib).binary_cross_entropy_with_logits(
        x, t, pos_weight=lib.tensor(np.array([1.0, 3.0, 0.5], np.float32)), reduction="none"),
     lambda r: (_logits(r, (4, 3)), r.random((4, 3)).astype(np.float32)), True),
    ("bce_logits_weight", lambda lib, x, t: F(lib).binary_cross_entropy_with_logits(
        x, t, weight=lib.tensor(np.array([2.0, 1.0, 0.5], np.float32)), reduction="sum"),
     lambda r: (_logits(r, (4, 3)), r.random((4, 3)).astype(np.float32)), True),
]
IDS = [c[0] for c in CASES]


def _compare_with_torch(fn, x, target, torch, rng, target_grad, gradients=True):
    ours_x = tt.tensor(x, requires_grad=True)
    theirs_x = torch.tensor(x, requires_grad=True)
    differentiable_target = target_grad and target.dtype.kind == "f"
    ours_t = tt.tensor(target, requires_grad=differentiable_target)
    theirs_t = torch.tensor(target, requires_grad=differentiable_target)
    out, want = fn(tt, ours_x, ours_t), fn(torch, theirs_x, theirs_t)
    np.testing.assert_allclose(out.data, want.detach().numpy(), rtol=1e-4, atol=1e-5)
    assert out.dtype == np.float32 and out.shape == tuple(want.shape)
    if not gradients:
        return
    probe = rng.standard_normal(want.shape).astype(np.float32)
    (out * tt.tensor(probe)).sum().backward()
    (want * torch.tensor(probe)).sum().backward()
    np.testing.assert_allclose(ours_x.grad.data, theirs_x.grad.numpy(), rtol=1e-4, atol=1e-5)
    if differentiable_target:
        np.testing.assert_allclose(ours_t.grad.data, theirs_t.grad.numpy(), rtol=1e-4,
                                   atol=1e-5)


@pytest.mark.parametrize("name,fn,make,target_grad", CASES, ids=IDS)
def test_matches_torch(name, fn, make, target_grad, rng, torch):
    x, target = make(rng)
    _compare_with_torch(fn, x, target, torch, rng, target_grad, gradients=False)


HUGE = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0], [0.0, 0.0, -1000.0]],
                dtype=np.float32)


HUGE_CASES = [
    ("ce", lambda lib, x, t: F(lib).cross_entropy(x, t, reduction="none"),
     np.array([1, 1, 2], dtype=np.int64)),
    ("ce_smoothing", lambda lib, x, t: F(lib).cross_entropy(x, t, label_smoothing=0.1),
     np.array([0, 2, 1], dtype=np.int64)),
    ("bce_logits", lambda lib, x, t: F(lib).binary_cross_entropy_with_logits(
        x, t, reduction="none"), np.eye(3, dtype=np.float32)),
    ("bce_logits_pos_weight", lambda lib, x, t: F(lib).binary_cross_entropy_with_logits(
        x, t, pos_weight=lib.tensor(np.array([2.0, 1.0, 3.0], np.float32))),
     np.eye(3, dtype=np.float32)),
]


@pytest.mark.parametrize("name,fn,target", HUGE_CASES, ids=[c[0] for c in HUGE_CASES])
def test_huge_logits_stay_finite_and_match_torch(name, fn, target, rng, torch):
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        _compare_with_torch(fn, HUGE, target, torch, rng, target_grad=False, gradients=False)


def test_mean_over_only_ignored_targets_is_nan_like_torch():
    loss = nn.functional.cross_entropy(tt.ones(2, 3), tt.tensor([-100, -100]))
    assert np.isnan(loss.item())


# ---- errors -----------------------------------------------------------------------------------

def test_float_targets_of_the_wrong_shape_explain_what_is_expected():
    with pytest.raises(TypeError, match=r"targets must be int64 class indices of shape \(N,\)"):
        nn.functional.cross_entropy(tt.ones(4, 3), tt.tensor([0.0, 1.0, 2.0, 1.0]))
    with pytest.raises(TypeError, match=r"class probabilities of the input's shape \(4, 3\)"):
        nn.functional.cross_entropy(tt.ones(4, 3), tt.ones(4, 2))


def test_integer_targets_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"shape \(N,\) = \(4,\) .* got targets of shape "
                                         r"\(4, 1\)"):
        nn.functional.cross_entropy(tt.ones(4, 3), tt.zeros(4, 1, dtype=tt.int64))


@pytest.mark.parametrize("bad", [3, 7, -1])
def test_out_of_range_class_names_the_index_and_the_class_count(bad):
    with pytest.raises(IndexError, match=f"target {bad} is out of bounds for 3 classes"):
        nn.functional.cross_entropy(tt.ones(2, 3), tt.tensor([0, bad]))
    with pytest.raises(IndexError, match=f"target {bad} is out of bounds for 3 classes"):
        nn.functional.nll_loss(tt.ones(2, 3), tt.tensor([bad, 0]))


def test_mse_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"input of shape \(4, 1\) and target of shape \(4,\)"):
        nn.functional.mse_loss(tt.ones(4, 1), tt.ones(4))


def test_bad_reduction_and_smoothing_and_weight():
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        nn.functional.mse_loss(tt.ones(2), tt.ones(2), reduction="avg")
    with pytest.raises(ValueError, match="reduction must be"):
        nn.CrossEntropyLoss(reduction="max")
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\]"):
        nn.functional.cross_entropy(tt.ones(2, 3), tt.tensor([0, 1]), label_smoothing=1.5)
    with pytest.raises(ValueError, match=r"weight must have shape \(3,\)"):
        nn.functional.cross_entropy(tt.ones(2, 3), tt.tensor([0, 1]), weight=tt.ones(4))


def test_bce_rejects_values_outside_zero_one():
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\].*with_logits"):
        nn.functional.binary_cross_entropy(tt.tensor([0.5, 1.5]), tt.tensor([0.0, 1.0]))


def test_bce_clamps_log_at_minus_100_like_torch(torch):
    p, t = np.array([0.0, 1.0, 0.0], np.float32), np.array([1.0, 0.0, 0.0], np.float32)
    want = torch.nn.functional.binary_cross_entropy(torch.tensor(p), torch.tensor(t))
    got = nn.functional.binary_cross_entropy(tt.tensor(p), tt.tensor(t))
    assert got.item() == pytest.approx(want.item(), rel=1e-6)


# ---- modules ------------------------------------------------------------------------------------

def test_loss_modules_wrap_the_functions(rng):
    x, y = tt.tensor(_logits(rng, (6, 4))), tt.tensor(_classes(rng, 6, 4, ignore=True))
    pairs = [
        (nn.CrossEntropyLoss(weight=W4, label_smoothing=0.1, reduction="sum"),
         nn.functional.cross_entropy(x, y, weight=tt.tensor(W4), label_smoothing=0.1,
                                     reduction="sum")),
        (nn.NLLLoss(), nn.functional.nll_loss(x, y)),
    ]
    for module, want in pairs:
        np.testing.assert_array_equal(module(x, y).data, want.data)
    z, t = tt.tensor(_logits(rng, (3, 2))), tt.tensor(rng.random((3, 2)).astype(np.float32))
    np.testing.assert_array_equal(nn.MSELoss(reduction="none")(z, t).data,
                                  nn.functional.mse_loss(z, t, reduction="none").data)
    np.testing.assert_array_equal(nn.BCELoss()(z.sigmoid(), t).data,
                                  nn.functional.binary_cross_entropy(z.sigmoid(), t).data)
    pos = tt.tensor([2.0, 0.5])
    np.testing.assert_array_equal(
        nn.BCEWithLogitsLoss(pos_weight=pos)(z, t).data,
        nn.functional.binary_cross_entropy_with_logits(z, t, pos_weight=pos).data)


def test_loss_module_repr_and_weight_buffer():
    loss = nn.CrossEntropyLoss(weight=W4, label_smoothing=0.1)
    assert repr(loss) == "CrossEntropyLoss(label_smoothing=0.1)"
    assert repr(nn.MSELoss(reduction="sum")) == "MSELoss(reduction='sum')"
    assert list(loss.state_dict()) == ["weight"] and list(loss.parameters()) == []


def test_cross_entropy_module_matches_torch_module(rng, torch):
    x, y = _logits(rng, (8, 4)), _classes(rng, 8, 4)
    ours = nn.CrossEntropyLoss(weight=W4, label_smoothing=0.2)(tt.tensor(x), tt.tensor(y))
    want = torch.nn.CrossEntropyLoss(weight=torch.tensor(W4), label_smoothing=0.2)(
        torch.tensor(x), torch.tensor(y))
    assert ours.item() == pytest.approx(want.item(), rel=1e-5)


def test_integer_and_float64_targets_keep_float32_losses():
    x = tt.zeros(3, 2, requires_grad=True)
    loss = nn.functional.binary_cross_entropy_with_logits(x, tt.tensor(np.ones((3, 2))))
    assert loss.dtype == np.float32
    assert nn.functional.mse_loss(x, tt.tensor(np.zeros((3, 2)))).dtype == np.float32

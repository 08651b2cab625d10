"""Module 18: compress.prune has torch.nn.utils.prune's API and semantics.

Masks are compared with PyTorch's on the same weights; random Gaussian weights
have no ties (the one case where the two may legitimately differ).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import nn, optim
from tinytorch.compress import prune


@pytest.fixture
def torch():
    torch = pytest.importorskip("torch")
    import torch.nn.utils.prune  # noqa: F401  (a submodule torch does not import itself)
    return torch


def _pair(torch, in_f=7, out_f=5, seed=0):
    """A TinyTorch Linear and a torch Linear holding the same weights."""
    rng = np.random.default_rng(seed)
    ours = nn.Linear(in_f, out_f)
    ours.weight.data[...] = rng.standard_normal((out_f, in_f)).astype(np.float32)
    ours.bias.data[...] = rng.standard_normal(out_f).astype(np.float32)
    theirs = torch.nn.Linear(in_f, out_f)
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.weight.data))
        theirs.bias.copy_(torch.from_numpy(ours.bias.data))
    return ours, theirs


def _conv_pair(torch, seed=0):
    rng = np.random.default_rng(seed)
    ours = nn.Conv2d(3, 6, 3)
    ours.weight.data[...] = rng.standard_normal(ours.weight.shape).astype(np.float32)
    theirs = torch.nn.Conv2d(3, 6, 3)
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.weight.data))
    return ours, theirs


@pytest.mark.parametrize("amount", [0.0, 0.3, 0.5, 0.9, 1.0, 0, 4, 35])
def test_l1_unstructured_mask_equals_torch(torch, amount):
    ours, theirs = _pair(torch)
    prune.l1_unstructured(ours, "weight", amount=amount)
    torch.nn.utils.prune.l1_unstructured(theirs, "weight", amount=amount)
    np.testing.assert_array_equal(ours.weight_mask.data, theirs.weight_mask.numpy())
    np.testing.assert_array_equal(ours.weight.data, theirs.weight.detach().numpy())


@pytest.mark.parametrize("amount,n,dim", [(0.4, 2, 0), (2, 1, 0), (0.5, 1, 1), (3, np.inf, -1),
                                          (0.34, 2, 1), (1.0, 2, 0)])
def test_ln_structured_mask_equals_torch(torch, amount, n, dim):
    ours, theirs = _pair(torch)
    prune.ln_structured(ours, "weight", amount=amount, n=n, dim=dim)
    torch.nn.utils.prune.ln_structured(theirs, "weight", amount=amount, n=n, dim=dim)
    np.testing.assert_array_equal(ours.weight_mask.data, theirs.weight_mask.numpy())


def test_ln_structured_on_conv_filters_equals_torch(torch):
    ours, theirs = _conv_pair(torch)
    prune.ln_structured(ours, "weight", amount=0.5, n=1, dim=0)
    torch.nn.utils.prune.ln_structured(theirs, "weight", amount=0.5, n=1, dim=0)
    np.testing.assert_array_equal(ours.weight_mask.data, theirs.weight_mask.numpy())
    assert ours.weight_mask.data.reshape(6, -1).all(axis=1).sum() == 3  # 3 whole filters kept


def test_global_unstructured_mask_equals_torch(torch):
    (a, ta), (b, tb) = _pair(torch, 7, 5, seed=1), _pair(torch, 5, 3, seed=2)
    b.weight.data *= 3  # the layers differ in scale: global pruning takes more from a
    with torch.no_grad():
        tb.weight.mul_(3)
    prune.global_unstructured([(a, "weight"), (b, "weight")],
                              pruning_method=prune.L1Unstructured, amount=0.6)
    torch.nn.utils.prune.global_unstructured(
        [(ta, "weight"), (tb, "weight")], pruning_method=torch.nn.utils.prune.L1Unstructured,
        amount=0.6)
    for ours, theirs in ((a, ta), (b, tb)):
        np.testing.assert_array_equal(ours.weight_mask.data, theirs.weight_mask.numpy())
    total = a.weight_mask.data.size + b.weight_mask.data.size
    zeros = (a.weight_mask.data == 0).sum() + (b.weight_mask.data == 0).sum()
    assert zeros == round(0.6 * total)
    assert (a.weight_mask.data == 0).mean() > (b.weight_mask.data == 0).mean()


def test_iterative_pruning_composes_like_torch(torch):
    ours, theirs = _pair(torch, 9, 6)
    tp = torch.nn.utils.prune
    steps = [("l1", 0.3), ("ln", 0.34), ("l1", 5), ("l1", 0.5)]
    for kind, amount in steps:
        if kind == "l1":
            prune.l1_unstructured(ours, "weight", amount)
            tp.l1_unstructured(theirs, "weight", amount)
        else:
            prune.ln_structured(ours, "weight", amount, n=2, dim=0)
            tp.ln_structured(theirs, "weight", amount, n=2, dim=0)
        np.testing.assert_array_equal(ours.weight_mask.data, theirs.weight_mask.numpy())
    # one hook (a container of the four methods), as in PyTorch
    hooks = [h for h in ours._forward_pre_hooks.values() if isinstance(h, prune.BasePruningMethod)]
    assert len(hooks) == 1 and isinstance(hooks[0], prune.PruningContainer)
    assert len(hooks[0]) == 4


def test_iterative_global_pruning_equals_torch(torch):
    (a, ta), (b, tb) = _pair(torch, 8, 6, seed=3), _pair(torch, 6, 4, seed=4)
    tp = torch.nn.utils.prune
    for amount in (0.5, 0.5, 7):
        prune.global_unstructured([(a, "weight"), (b, "weight")], prune.L1Unstructured,
                                  amount=amount)
        tp.global_unstructured([(ta, "weight"), (tb, "weight")], tp.L1Unstructured,
                               amount=amount)
        for ours, theirs in ((a, ta), (b, tb)):
            np.testing.assert_array_equal(ours.weight_mask.data, theirs.weight_mask.numpy())


def test_reparametrisation_names_and_forward():
    layer = nn.Linear(6, 4)
    original = layer.weight
    prune.l1_unstructured(layer, "weight", amount=0.5)
    names = dict(layer.named_parameters())
    assert set(names) == {"weight_orig", "bias"} and names["weight_orig"] is original
    assert set(dict(layer.named_buffers())) == {"weight_mask"}
    assert not isinstance(layer.weight, nn.Parameter)
    assert prune.is_pruned(layer) and prune.is_pruned(nn.Sequential(nn.ReLU(), layer))
    x = tt.randn(3, 6)
    expected = x.data @ (original.data * layer.weight_mask.data).T + layer.bias.data
    np.testing.assert_allclose(layer(x).data, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("make_optimizer", [
    lambda p: optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=1e-2),
    lambda p: optim.Adam(p, lr=1e-2),
    lambda p: optim.AdamW(p, lr=1e-2, weight_decay=0.1),
])
def test_pruned_weights_stay_exactly_zero_while_fine_tuning(make_optimizer):
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    opt = make_optimizer(model.parameters())  # made BEFORE pruning: the same Parameters
    x, y = tt.randn(32, 8), tt.randint(0, 3, (32,))
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(3):  # some momentum first, so the optimizer state is not zero
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    prune.l1_unstructured(model[0], "weight", amount=0.7)
    prune.ln_structured(model[2], "weight", amount=1, n=2, dim=1)
    pruned = [(m, m.weight_mask.data == 0) for m in (model[0], model[2])]
    for _ in range(5):
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        for m, zero in pruned:
            assert np.all(m.weight_orig.grad.data[zero] == 0)
            assert np.any(m.weight_orig.grad.data[~zero] != 0)
        opt.step()
        model(x)  # the hook recomputes weight from weight_orig * mask
        for m, zero in pruned:
            assert np.all(m.weight.data[zero] == 0)


def test_remove_leaves_a_plain_parameter():
    layer = nn.Linear(5, 4)
    original = layer.weight
    prune.l1_unstructured(layer, "weight", amount=0.5)
    masked = layer.weight.data.copy()
    prune.remove(layer, "weight")
    assert isinstance(layer.weight, nn.Parameter) and layer.weight is original
    np.testing.assert_array_equal(layer.weight.data, masked)
    assert set(dict(layer.named_parameters())) == {"weight", "bias"}
    assert not dict(layer.named_buffers()) and not layer._forward_pre_hooks
    assert not prune.is_pruned(layer)
    assert set(layer.state_dict()) == {"weight", "bias"}
    with pytest.raises(ValueError, match="has to be pruned before pruning can be removed"):
        prune.remove(layer, "weight")


def test_state_dict_round_trip():
    tt.manual_seed(1)
    a = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 2))
    prune.l1_unstructured(a[0], "weight", amount=0.6)
    prune.random_unstructured(a[2], "weight", amount=3)
    state = a.state_dict()
    assert {"0.weight_orig", "0.weight_mask", "2.weight_orig", "2.weight_mask"} <= set(state)
    tt.manual_seed(2)
    b = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 2))
    prune.identity(b[0], "weight")
    prune.identity(b[2], "weight")
    b.load_state_dict(state)
    x = tt.randn(4, 6)
    np.testing.assert_array_equal(a(x).data, b(x).data)
    c = copy.deepcopy(a)
    np.testing.assert_array_equal(c(x).data, a(x).data)


def test_random_unstructured_prunes_the_requested_count():
    layer = nn.Linear(10, 10)
    prune.random_unstructured(layer, "weight", amount=0.25)
    assert (layer.weight_mask.data == 0).sum() == 25
    prune.random_unstructured(layer, "weight", amount=0.2)  # of the 75 alive: 15 more
    assert (layer.weight_mask.data == 0).sum() == 40


def test_importance_scores_decide_instead_of_magnitude():
    layer = nn.Linear(4, 1)
    scores = np.array([[4.0, 1.0, 3.0, 2.0]], dtype=np.float32)
    prune.l1_unstructured(layer, "weight", amount=2, importance_scores=scores)
    np.testing.assert_array_equal(layer.weight_mask.data, [[1, 0, 1, 0]])


def test_bad_arguments_are_named():
    layer = nn.Linear(3, 2)
    with pytest.raises(ValueError, match=r"amount=1.5 should either be a float in the range"):
        prune.l1_unstructured(layer, "weight", amount=1.5)
    with pytest.raises(ValueError, match="non-negative integer"):
        prune.l1_unstructured(layer, "weight", amount=-1)
    with pytest.raises(TypeError, match="amount must be"):
        prune.l1_unstructured(layer, "weight", amount="half")
    with pytest.raises(ValueError, match="should be smaller than the number of parameters"):
        prune.l1_unstructured(layer, "weight", amount=7)
    with pytest.raises(AttributeError, match="no tensor named 'weights'"):
        prune.l1_unstructured(layer, "weights", amount=0.5)
    with pytest.raises(ValueError, match="multidimensional"):
        prune.ln_structured(layer, "bias", amount=1, n=2, dim=0)
    with pytest.raises(IndexError, match="dim=2 is out of range"):
        prune.ln_structured(layer, "weight", amount=1, n=2, dim=2)
    with pytest.raises(TypeError, match='only "unstructured"'):
        prune.global_unstructured([(layer, "weight")], prune.LnStructured, amount=1, n=2, dim=0)

"""Module 18: structured pruning that removes channels, low-rank factorisation, distillation."""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import nn
from tinytorch.autograd import gradcheck
from tinytorch.compress import DistillationLoss, flops, low_rank, prune, shrink


def _cnn():
    tt.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Conv2d(8, 12, 3, padding=1), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(12 * 4 * 4, 20), nn.ReLU(),
                         nn.Dropout(0.1), nn.Linear(20, 3))


def _train_bn_stats(model, x):
    model.train()
    with tt.no_grad():
        model(x)
    model.eval()


def test_shrink_equals_the_masked_network_and_is_smaller():
    model = _cnn()
    x = tt.randn(4, 1, 16, 16)
    _train_bn_stats(model, x)  # non-trivial running statistics
    small = shrink(model, 0.5, n=1).eval()
    assert [small[i].weight.shape for i in (0, 4, 8, 11)] == [(4, 1, 3, 3), (6, 4, 3, 3),
                                                               (10, 96), (3, 10)]
    assert small[1].num_features == 4 and small[1].running_mean.shape == (4,)
    # the same network with the removed channels masked to zero gives the same outputs
    masked = _cnn()
    masked.load_state_dict(model.state_dict())
    masked.eval()
    for i in (0, 4, 8):
        prune.ln_structured(masked[i], "weight", amount=0.5, n=1, dim=0)
        prune.custom_from_mask(masked[i], "bias", (masked[i].weight_mask.data.reshape(
            masked[i].weight_mask.shape[0], -1)[:, 0]))
    # BN maps a zero channel to a constant -mean * gamma / std + beta: removing the channel
    # is masking the BN output too
    masked[1].weight.data *= masked[0].bias_mask.data
    masked[1].bias.data *= masked[0].bias_mask.data
    with tt.no_grad():
        want = masked(x).data
        got = small(x).data
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    before, after = flops(model, (1, 1, 16, 16)), flops(small, (1, 1, 16, 16))
    assert after["total"] < 0.35 * before["total"]
    assert before["0"] == 2 * 8 * 16 * 16 * 9 and before["8"] == 2 * 192 * 20


def test_shrink_per_layer_amounts_and_errors():
    model = _cnn()
    small = shrink(model, {4: 0.25})
    assert small[0].weight.shape == (8, 1, 3, 3) and small[4].weight.shape == (9, 8, 3, 3)
    assert small[8].in_features == 9 * 16
    with pytest.raises(ValueError, match="layer 11 is not a Conv2d/Linear with a successor"):
        shrink(model, {11: 0.5})
    with pytest.raises(ValueError, match=r"amount must be a fraction in \[0, 1\)"):
        shrink(model, 1.0)
    with pytest.raises(TypeError, match="expected an nn.Sequential"):
        shrink(nn.Linear(3, 3), 0.5)
    odd = nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4), nn.Linear(4, 2))
    with pytest.raises(ValueError, match="cannot see how layer 1 .LayerNorm."):
        shrink(odd, 0.5)


@pytest.mark.parametrize("rank", [1, 3, 6])
def test_low_rank_is_the_truncated_svd(rank):
    tt.manual_seed(1)
    layer = nn.Linear(10, 6)
    pair = low_rank(layer, rank=rank, allow_larger=True)
    W = layer.weight.data.astype(np.float64)
    U, S, Vt = np.linalg.svd(W, full_matrices=False)
    best = (U[:, :rank] * S[:rank]) @ Vt[:rank]
    product = pair[1].weight.data.astype(np.float64) @ pair[0].weight.data
    np.testing.assert_allclose(product, best, rtol=1e-5, atol=1e-6)
    x = tt.randn(4, 10)
    np.testing.assert_allclose(pair(x).data, x.data @ best.T + layer.bias.data, rtol=1e-4,
                               atol=1e-5)
    # Eckart-Young: the error is the discarded singular values
    assert np.linalg.norm(W - product) == pytest.approx(np.sqrt((S[rank:] ** 2).sum()), abs=1e-5)


def test_low_rank_by_energy_and_its_guards():
    tt.manual_seed(2)
    layer = nn.Linear(40, 30)
    S = np.linalg.svd(layer.weight.data.astype(np.float64), compute_uv=False)
    pair = low_rank(layer, energy=0.5)
    r = pair[0].out_features
    kept = np.cumsum(S ** 2) / (S ** 2).sum()
    assert kept[r - 1] >= 0.5 > kept[r - 2]
    assert sum(p.numel() for p in pair.parameters()) == r * 70 + 30
    for bad in (0, 31, -1, 2.5):
        with pytest.raises(ValueError, match=r"rank must be an int in \[1, 30\]"):
            low_rank(layer, rank=bad)
    with pytest.raises(ValueError, match="not fewer than the layer's"):
        low_rank(layer, rank=25)
    with pytest.raises(ValueError, match="exactly one of rank= or energy="):
        low_rank(layer)
    with pytest.raises(ValueError, match=r"energy must be in \(0, 1\]"):
        low_rank(layer, energy=1.5)


@pytest.mark.parametrize("temperature,alpha", [(1.0, 0.5), (4.0, 0.9), (2.5, 0.0), (8.0, 1.0)])
def test_distillation_loss_equals_torch(torch, temperature, alpha):
    rng = np.random.default_rng(0)
    s = rng.standard_normal((6, 5)).astype(np.float32) * 3
    t = rng.standard_normal((6, 5)).astype(np.float32) * 3
    y = rng.integers(0, 5, 6)
    loss_fn = DistillationLoss(temperature, alpha)
    student = tt.tensor(s, requires_grad=True)
    loss = loss_fn(student, tt.tensor(t), tt.tensor(y))
    loss.backward()
    ts = torch.tensor(s, requires_grad=True)
    F = torch.nn.functional
    T = temperature
    soft = F.kl_div(F.log_softmax(ts / T, dim=1), F.softmax(torch.tensor(t) / T, dim=1),
                    reduction="batchmean") * T * T
    want = alpha * soft + (1 - alpha) * F.cross_entropy(ts, torch.tensor(y))
    want.backward()
    assert float(loss.data) == pytest.approx(float(want.detach()), rel=1e-5, abs=1e-6)
    np.testing.assert_allclose(student.grad.data, ts.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_distillation_loss_gradcheck():
    rng = np.random.default_rng(1)
    teacher = rng.standard_normal((4, 3))
    y = tt.tensor(rng.integers(0, 3, 4))
    loss_fn = DistillationLoss(temperature=3.0, alpha=0.7)
    s = tt.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    assert gradcheck(lambda a: loss_fn(a, teacher, y), [s])


def test_distillation_loss_rejects_bad_arguments():
    with pytest.raises(ValueError, match="temperature must be > 0"):
        DistillationLoss(temperature=0)
    with pytest.raises(ValueError, match=r"alpha must be in \[0, 1\]"):
        DistillationLoss(alpha=1.5)
    with pytest.raises(ValueError, match="must both be"):
        DistillationLoss()(tt.randn(3, 4), tt.randn(3, 5), tt.tensor([0, 1, 2]))

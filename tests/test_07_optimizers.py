"""Module 07 Optimizers: SGD, Adam, AdamW, RMSprop, schedulers and gradient clipping.

Every optimizer is run next to ``torch.optim`` on the same parameters and the
same gradient sequence; hand-computed first steps and a quadratic check need
nothing but TinyTorch.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import serialization
from tinytorch.nn.utils import clip_grad_norm_, clip_grad_value_
from tinytorch.optim import SGD, Adam, AdamW, Optimizer, RMSprop
from tinytorch.optim import lr_scheduler as sched

SHAPES = [(3, 4), (5,), ()]
STEPS = 5

OPTIMIZER_CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "weight_decay": 0.1, "nesterov": True}),
    ("SGD", {"lr": 0.1, "momentum": 0.5, "weight_decay": 0.01, "maximize": True}),
    ("Adam", {}),
    ("Adam", {"lr": 0.05, "betas": (0.8, 0.9), "eps": 1e-6}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.05, "amsgrad": True}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1, "amsgrad": True, "maximize": True}),
    ("AdamW", {"lr": 0.05}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.3, "amsgrad": True}),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.01, "centered": True}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.5, "centered": True, "weight_decay": 0.1,
                 "maximize": True}),
]
OURS = {"SGD": SGD, "Adam": Adam, "AdamW": AdamW, "RMSprop": RMSprop}


def case_id(case):
    name, kwargs = case
    return name + "-" + "-".join(f"{k}={v}" for k, v in kwargs.items())


def gradient_sequence(rng, dtype, steps=STEPS):
    """Per step, one gradient per parameter; the last parameter has none at step 2."""
    seq = [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(steps)]
    seq[2][-1] = None
    return seq


def run_both(torch, name, kwargs, dtype, rng):
    """Run our optimizer and torch's side by side; return both lists of final parameters."""
    initial = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    ours = [tt.tensor(a, requires_grad=True) for a in initial]
    theirs = [torch.tensor(a, requires_grad=True) for a in initial]
    opt, ref = OURS[name](ours, **kwargs), getattr(torch.optim, name)(theirs, **kwargs)
    for grads in gradient_sequence(rng, dtype):
        for p, q, g in zip(ours, theirs, grads, strict=True):
            p.grad = None if g is None else tt.tensor(g)
            q.grad = None if g is None else torch.tensor(g)
        opt.step()
        ref.step()
    return ours, theirs, opt, ref


@pytest.mark.parametrize("case", OPTIMIZER_CASES, ids=case_id)
def test_matches_torch_float64(case, rng, torch):
    ours, theirs, opt, ref = run_both(torch, *case, np.float64, rng)
    for p, q in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-6, atol=1e-12)
    # the state matches too: same buffers under the same names
    for p, q in zip(ours, theirs, strict=True):
        for key, value in ref.state[q].items():
            if key == "step":
                assert opt.state[p]["step"] == int(value.item())
            else:
                np.testing.assert_allclose(opt.state[p][key], value.numpy(), rtol=1e-6,
                                           atol=1e-12, err_msg=key)


@pytest.mark.parametrize("case", OPTIMIZER_CASES, ids=case_id)
def test_matches_torch_float32_and_stays_float32(case, rng, torch):
    ours, theirs, opt, _ = run_both(torch, *case, np.float32, rng)
    for p, q in zip(ours, theirs, strict=True):
        assert p.dtype == np.float32
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-6, atol=1e-7)
        assert all(v.dtype == np.float32 for v in opt.state[p].values()
                   if isinstance(v, np.ndarray))


def test_parameter_groups_with_their_own_hyperparameters(rng, torch):
    a0, b0 = rng.standard_normal((4, 3)), rng.standard_normal(3)
    a, b = tt.tensor(a0, requires_grad=True), tt.tensor(b0, requires_grad=True)
    ta, tb = torch.tensor(a0, requires_grad=True), torch.tensor(b0, requires_grad=True)
    for ours_cls, theirs_cls, extra in [(SGD, torch.optim.SGD, {"momentum": 0.9}),
                                        (Adam, torch.optim.Adam, {"betas": (0.5, 0.9)})]:
        opt = ours_cls([{"params": [a]}, {"params": b, "lr": 0.01, **extra}], lr=0.1)
        ref = theirs_cls([{"params": [ta]}, {"params": tb, "lr": 0.01, **extra}], lr=0.1)
        assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01]
        for _ in range(STEPS):
            ga, gb = rng.standard_normal(a0.shape), rng.standard_normal(b0.shape)
            a.grad, b.grad = tt.tensor(ga), tt.tensor(gb)
            ta.grad, tb.grad = torch.tensor(ga), torch.tensor(gb)
            opt.step()
            ref.step()
        np.testing.assert_allclose(a.data, ta.detach().numpy(), rtol=1e-6, atol=1e-12)
        np.testing.assert_allclose(b.data, tb.detach().numpy(), rtol=1e-6, atol=1e-12)


def test_add_param_group_fills_defaults():
    a, b = tt.zeros(2, requires_grad=True), tt.zeros(3, requires_grad=True)
    opt = Adam([a], lr=0.1, betas=(0.8, 0.9))
    opt.add_param_group({"params": [b], "lr": 0.5})
    assert opt.param_groups[1]["lr"] == 0.5 and opt.param_groups[1]["betas"] == (0.8, 0.9)
    assert opt.param_groups[1]["params"][0] is b


# ---- state_dict ----------------------------------------------------------------------------
@pytest.mark.parametrize("case", [c for c in OPTIMIZER_CASES if c[1].get("momentum")
                                  or c[0] != "SGD"], ids=case_id)
def test_state_dict_round_trip_continues_identically(case, rng, tmp_path):
    name, kwargs = case
    initial = [rng.standard_normal(s) for s in SHAPES]
    grads = gradient_sequence(rng, np.float64, steps=6)
    first = [tt.tensor(a, requires_grad=True) for a in initial]
    opt = OURS[name]([{"params": first[:2]}, {"params": first[2:], "lr": 0.02}], **kwargs)

    def train(params, optimizer, steps):
        for step_grads in steps:
            for p, g in zip(params, step_grads, strict=True):
                p.grad = None if g is None else tt.tensor(g)
            optimizer.step()

    train(first, opt, grads[:3])
    saved = opt.state_dict()
    serialization.save({"optimizer": saved}, tmp_path / "opt.npz")
    snapshot = [p.data.copy() for p in first]
    train(first, opt, grads[3:])
    # the saved state is a copy: training on did not change it
    assert saved["state"][0] is not opt.state_dict()["state"][0]

    for loaded in (saved, serialization.load(tmp_path / "opt.npz")["optimizer"]):
        second = [tt.tensor(a, requires_grad=True) for a in snapshot]
        fresh = OURS[name]([{"params": second[:2]}, {"params": second[2:]}], **kwargs)
        fresh.load_state_dict(loaded)
        assert fresh.param_groups[1]["lr"] == 0.02
        train(second, fresh, grads[3:])
        for p, q in zip(first, second, strict=True):
            np.testing.assert_array_equal(p.data, q.data)


def test_state_dict_layout_and_dtype_cast():
    p = tt.zeros(2, 3, requires_grad=True)
    opt = SGD([p], lr=0.1, momentum=0.9)
    p.grad = tt.ones(2, 3)
    opt.step()
    sd = opt.state_dict()
    assert sd["param_groups"][0]["params"] == [0]
    assert set(sd["state"][0]) == {"momentum_buffer"}
    sd["state"][0]["momentum_buffer"] = sd["state"][0]["momentum_buffer"].astype(np.float64)
    opt.load_state_dict(sd)
    assert opt.state[p]["momentum_buffer"].dtype == np.float32


def test_load_state_dict_rejects_mismatched_groups():
    a, b = tt.zeros(2, requires_grad=True), tt.zeros(2, requires_grad=True)
    sd = SGD([a, b], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="parameter groups"):
        SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="group 0 .* 2 parameters"):
        SGD([a], lr=0.1).load_state_dict(sd)
    opt = SGD([a], lr=0.1, momentum=0.9)
    a.grad = tt.ones(2)
    opt.step()
    bad = opt.state_dict()
    bad["state"][0]["momentum_buffer"] = np.zeros(5, dtype=np.float32)
    with pytest.raises(ValueError, match="shape"):
        opt.load_state_dict(bad)


# ---- the training-loop API -------------------------------------------------------------------
def test_zero_grad_to_none_or_to_zeros():
    p = tt.ones(3, requires_grad=True)
    opt = SGD([p], lr=0.1)
    p.grad = tt.ones(3)
    held = p.grad.data
    opt.zero_grad(set_to_none=False)
    assert p.grad.data is held and not held.any()
    opt.zero_grad()
    assert p.grad is None


def test_step_skips_params_without_grad_and_updates_in_place():
    a, b = tt.ones(3, requires_grad=True), tt.ones(2, requires_grad=True)
    opt = Adam([a, b], lr=0.1, weight_decay=0.1)
    storage = a.data
    a.grad = tt.tensor([1.0, -2.0, 3.0])
    grad_before = a.grad.data.copy()
    opt.step()
    assert a.data is storage  # in place: modules holding the array see the update
    np.testing.assert_array_equal(a.grad.data, grad_before)  # weight decay did not touch grad
    np.testing.assert_array_equal(b.data, np.ones(2, np.float32))
    assert b not in opt.state or not opt.state[b]
    assert a.requires_grad and a.grad_fn is None  # no graph was recorded


def test_float32_stays_float32_with_numpy_hyperparameters():
    p = tt.ones(4, requires_grad=True)
    opt = SGD([p], lr=np.float64(0.1), momentum=np.float64(0.9), weight_decay=np.float64(0.1))
    for _ in range(2):
        p.grad = tt.ones(4)
        opt.step()
    assert p.dtype == np.float32 and opt.state[p]["momentum_buffer"].dtype == np.float32


def test_step_closure_returns_loss_with_grad_enabled():
    w = tt.tensor([3.0], requires_grad=True)
    opt = SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with tt.no_grad():  # the closure still builds its graph
        loss = opt.step(closure)
    assert loss.item() == 9.0
    np.testing.assert_allclose(w.data, [1.5])  # 3 - 0.25 * 6


# ---- hand-computed first steps and a quadratic: no PyTorch needed --------------------------
def test_sgd_first_steps_by_hand():
    p = tt.tensor([1.0, -2.0], requires_grad=True)
    opt = SGD([p], lr=0.1, momentum=0.9, dampening=0.5, weight_decay=0.5)
    p.grad = tt.tensor([2.0, 4.0])
    opt.step()
    # g' = g + 0.5 p = [2.5, 3]; the first buffer is g' itself (no dampening)
    np.testing.assert_allclose(p.data, [1.0 - 0.25, -2.0 - 0.3], rtol=1e-6)
    p.grad = tt.tensor([0.0, 0.0])
    opt.step()
    # g' = 0.5 p = [0.375, -1.15]; buf = 0.9 [2.5, 3] + 0.5 g'
    buf = 0.9 * np.array([2.5, 3.0]) + 0.5 * np.array([0.375, -1.15])
    np.testing.assert_allclose(p.data, np.array([0.75, -2.3]) - 0.1 * buf, rtol=1e-6)


def test_nesterov_first_step_by_hand():
    p = tt.tensor([1.0], requires_grad=True)
    opt = SGD([p], lr=0.1, momentum=0.9, nesterov=True)
    p.grad = tt.tensor([2.0])
    opt.step()
    np.testing.assert_allclose(p.data, [1.0 - 0.1 * (2.0 + 0.9 * 2.0)], rtol=1e-6)


def test_adam_and_adamw_first_step_by_hand():
    g = np.array([0.5, -3.0, 1e-3])
    # step 1: m_hat = g, v_hat = g^2, so the step is lr * g / (|g| + eps) ~ lr * sign(g)
    p = tt.tensor([1.0, 1.0, 1.0], dtype=tt.float64, requires_grad=True)
    opt = Adam([p], lr=0.01, eps=1e-8)
    p.grad = tt.tensor(g)
    opt.step()
    np.testing.assert_allclose(p.data, 1.0 - 0.01 * g / (np.abs(g) + 1e-8), rtol=1e-12)
    q = tt.tensor([1.0, 1.0, 1.0], dtype=tt.float64, requires_grad=True)
    opt = AdamW([q], lr=0.01, weight_decay=0.5)
    q.grad = tt.tensor(g)
    opt.step()
    np.testing.assert_allclose(q.data, (1.0 - 0.01 * 0.5) - 0.01 * g / (np.abs(g) + 1e-8),
                               rtol=1e-12)


def test_rmsprop_first_step_by_hand():
    g = np.array([0.5, -3.0])
    p = tt.tensor([1.0, 1.0], dtype=tt.float64, requires_grad=True)
    opt = RMSprop([p], lr=0.01, alpha=0.99, eps=1e-8)
    p.grad = tt.tensor(g)
    opt.step()
    np.testing.assert_allclose(p.data, 1.0 - 0.01 * g / (np.sqrt(0.01) * np.abs(g) + 1e-8),
                               rtol=1e-12)


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.05, momentum=0.9),
                                  lambda ps: Adam(ps, lr=0.1),
                                  lambda ps: AdamW(ps, lr=0.1, weight_decay=0.0),
                                  lambda ps: RMSprop(ps, lr=0.01)],
                         ids=["SGD", "Adam", "AdamW", "RMSprop"])
def test_minimises_a_quadratic(make):
    """f(w) = sum(scale * (w - target)^2): an ill-conditioned bowl with its minimum at target."""
    target = tt.tensor([1.0, -2.0, 0.5])
    scale = tt.tensor([1.0, 10.0, 0.3])
    w = tt.zeros(3, requires_grad=True)
    opt = make([w])
    start = (scale * (w - target) ** 2).sum().item()
    for _ in range(300):
        opt.zero_grad()
        loss = (scale * (w - target) ** 2).sum()
        loss.backward()
        opt.step()
    assert loss.item() < 1e-3 * start
    np.testing.assert_allclose(w.data, target.data, atol=0.05)


# ---- errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [SGD, Adam, AdamW, RMSprop])
def test_negative_lr_and_bad_inputs(cls):
    p = tt.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="Invalid learning rate: -0.1"):
        cls([p], lr=-0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        cls([], lr=0.1)
    with pytest.raises(ValueError, match="appears twice"):
        cls([p, p], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        cls([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors.*ndarray"):
        cls([np.zeros(2)], lr=0.1)
    with pytest.raises(TypeError, match="single Tensor"):
        cls(p, lr=0.1)
    with pytest.raises(TypeError, match="ordered collection"):
        cls({p}, lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        cls([p * 2], lr=0.1)
    with pytest.raises(ValueError, match="Invalid learning rate"):
        cls([{"params": [p], "lr": -1.0}], lr=0.1)


def test_hyperparameter_errors():
    p = tt.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="beta parameter at index 0"):
        Adam([p], betas=(1.0, 0.999))
    with pytest.raises(ValueError, match="beta parameter at index 1"):
        AdamW([p], betas=(0.9, -0.1))
    with pytest.raises(ValueError, match="Invalid eps"):
        Adam([p], eps=-1e-8)
    with pytest.raises(ValueError, match="Invalid weight_decay"):
        SGD([p], lr=0.1, weight_decay=-1)
    with pytest.raises(ValueError, match="Invalid momentum"):
        RMSprop([p], momentum=-0.5)
    with pytest.raises(ValueError, match="Invalid alpha"):
        RMSprop([p], alpha=-0.5)
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum"):
        SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="zero dampening"):
        SGD([p], lr=0.1, momentum=0.9, dampening=0.1, nesterov=True)


# ---- learning-rate schedulers ----------------------------------------------------------------
def two_group_optimizers(torch):
    ours = SGD([{"params": [tt.zeros(1, requires_grad=True)]},
                {"params": [tt.zeros(1, requires_grad=True)], "lr": 0.3}], lr=0.1)
    theirs = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)]},
                              {"params": [torch.zeros(1, requires_grad=True)], "lr": 0.3}], lr=0.1)
    return ours, theirs


SCHEDULES = {
    "StepLR": lambda m, o: m.StepLR(o, step_size=3, gamma=0.5),
    "CosineAnnealingLR": lambda m, o: m.CosineAnnealingLR(o, T_max=8, eta_min=0.001),
    "LinearLR": lambda m, o: m.LinearLR(o, start_factor=0.1, total_iters=6),
    "LinearLR-decay": lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.2,
                                              total_iters=7),
    "warmup+cosine": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.01, total_iters=5),
            m.CosineAnnealingLR(o, T_max=15, eta_min=1e-4)], milestones=[5]),
}


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_scheduler_matches_torch(name, torch):
    ours, theirs = two_group_optimizers(torch)
    mine, ref = SCHEDULES[name](sched, ours), SCHEDULES[name](torch.optim.lr_scheduler, theirs)
    for _ in range(22):
        np.testing.assert_allclose(mine.get_last_lr(), ref.get_last_lr(), rtol=1e-12)
        np.testing.assert_allclose([g["lr"] for g in ours.param_groups],
                                   [g["lr"] for g in theirs.param_groups], rtol=1e-12)
        ours.step()
        theirs.step()
        mine.step()
        ref.step()


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_scheduler_state_dict_resumes(name, tmp_path):
    def fresh():
        opt = SGD([{"params": [tt.zeros(1, requires_grad=True)]},
                   {"params": [tt.zeros(1, requires_grad=True)], "lr": 0.3}], lr=0.1)
        return opt, SCHEDULES[name](sched, opt)

    opt, schedule = fresh()
    for _ in range(7):
        schedule.step()
    serialization.save({"opt": opt.state_dict(), "sched": schedule.state_dict()},
                       tmp_path / "s.npz")
    expected = []
    for _ in range(10):
        schedule.step()
        expected.append(schedule.get_last_lr())
    opt2, schedule2 = fresh()  # like PyTorch: build the scheduler, then load both states
    saved = serialization.load(tmp_path / "s.npz")
    opt2.load_state_dict(saved["opt"])
    schedule2.load_state_dict(saved["sched"])
    got = []
    for _ in range(10):
        schedule2.step()
        got.append(schedule2.get_last_lr())
    np.testing.assert_allclose(got, expected, rtol=1e-15)


def test_linear_warmup_values_by_hand():
    opt = SGD([tt.zeros(1, requires_grad=True)], lr=1.0)
    warmup = sched.LinearLR(opt, start_factor=0.25, end_factor=1.0, total_iters=3)
    lrs = [warmup.get_last_lr()[0]]
    for _ in range(4):
        warmup.step()
        lrs.append(opt.param_groups[0]["lr"])
    np.testing.assert_allclose(lrs, [0.25, 0.5, 0.75, 1.0, 1.0], rtol=1e-12)


def test_scheduler_errors():
    opt = SGD([tt.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="Starting multiplicative factor"):
        sched.LinearLR(opt, start_factor=0.0)
    with pytest.raises(ValueError, match="Ending multiplicative factor"):
        sched.LinearLR(opt, end_factor=1.5)
    with pytest.raises(ValueError, match="step_size"):
        sched.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="T_max"):
        sched.CosineAnnealingLR(opt, T_max=0)
    with pytest.raises(TypeError, match="not an Optimizer"):
        sched.StepLR([opt], step_size=2)
    with pytest.raises(ValueError, match="one milestone fewer"):
        sched.SequentialLR(opt, [sched.StepLR(opt, 2), sched.StepLR(opt, 3)], milestones=[])
    other = SGD([tt.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="same optimizer"):
        sched.SequentialLR(opt, [sched.StepLR(opt, 2), sched.StepLR(other, 3)],
                           milestones=[4])
    untouched = SGD([tt.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(KeyError, match="initial_lr"):
        sched.StepLR(untouched, step_size=2, last_epoch=5)


# ---- gradient clipping -----------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(dtype, norm_type, max_norm, rng, torch):
    grads = [rng.standard_normal(s).astype(dtype) for s in [(4, 5), (7,), (2, 3, 3)]]
    ours = [tt.zeros(g.shape, dtype=dtype, requires_grad=True) for g in grads]
    theirs = [torch.zeros(g.shape, dtype=getattr(torch, np.dtype(dtype).name),
                          requires_grad=True) for g in grads]
    for p, q, g in zip(ours, theirs, grads, strict=True):
        p.grad, q.grad = tt.tensor(g), torch.tensor(g)
    extra = tt.zeros(3, requires_grad=True)  # no grad: ignored, as in PyTorch
    total = clip_grad_norm_(ours + [extra], max_norm, norm_type=norm_type)
    ref = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    assert isinstance(total, tt.Tensor) and total.dtype == dtype and total.shape == ()
    np.testing.assert_allclose(total.item(), ref.item(), rtol=rtol)
    for p, q in zip(ours, theirs, strict=True):
        assert p.grad.dtype == dtype
        np.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=rtol, atol=1e-7)


def test_clip_grad_norm_by_hand_and_edge_cases():
    p = tt.zeros(2, requires_grad=True)
    p.grad = tt.tensor([3.0, 4.0])
    total = clip_grad_norm_(p, max_norm=1.0)
    assert total.item() == pytest.approx(5.0)
    np.testing.assert_allclose(p.grad.data, [0.6, 0.8], rtol=1e-5)
    assert clip_grad_norm_([tt.zeros(2, requires_grad=True)], 1.0).item() == 0.0
    p.grad = tt.tensor([np.inf, 1.0])
    with pytest.raises(RuntimeError, match="error_if_nonfinite"):
        clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    with pytest.raises(ValueError, match="norm_type"):
        clip_grad_norm_([p], 1.0, norm_type=0)


def test_clip_grad_value_matches_torch(rng, torch):
    g = rng.standard_normal((4, 6)).astype(np.float32)
    p, q = tt.zeros(4, 6, requires_grad=True), torch.zeros(4, 6, requires_grad=True)
    p.grad, q.grad = tt.tensor(g), torch.tensor(g)
    held = p.grad.data
    assert clip_grad_value_([p], 0.5) is None
    torch.nn.utils.clip_grad_value_([q], 0.5)
    assert p.grad.data is held
    np.testing.assert_array_equal(p.grad.data, q.grad.numpy())
    with pytest.raises(ValueError, match="clip_value"):
        clip_grad_value_([p], -1.0)


def test_optimizer_base_is_exported():
    assert issubclass(SGD, Optimizer) and issubclass(AdamW, Adam)
    assert "lr: 0.1" in repr(SGD([tt.zeros(1, requires_grad=True)], lr=0.1))

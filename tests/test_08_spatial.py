"""Module 08: spatial layers -- Conv2d, pooling, BatchNorm -- on top of the backend kernels.

Forward and every gradient are compared with PyTorch (where installed) under
every available backend (the loop backend only sees tiny shapes), with finite
differences in float64 (no torch needed), and a small CNN is checked end to
end against the same network in PyTorch with copied weights.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinytorch as tt
import tinytorch.nn.functional as F
from tinytorch import nn
from tinytorch.autograd import gradcheck, graph_nodes

# (id, x shape (N, C, H, W), weight shape (F, C, KH, KW), stride, padding, dilation, bias)
CONV_CASES = [
    ("3x3-pad1", (2, 3, 6, 6), (4, 3, 3, 3), 1, 1, 1, True),
    ("stride2-pad0", (2, 2, 7, 7), (3, 2, 3, 3), 2, 0, 1, True),
    ("stride2-pad1-nobias", (2, 2, 6, 6), (3, 2, 3, 3), 2, 1, 1, False),
    ("odd-7x9-k3x5-pad2", (1, 3, 7, 9), (2, 3, 3, 5), 1, 2, 1, True),
    ("dilation2", (2, 2, 9, 8), (3, 2, 3, 3), 1, 1, 2, True),
    ("batch1-pairs", (1, 2, 8, 7), (2, 2, 2, 3), (2, 1), (1, 2), (2, 1), True),
]

# (id, x shape, kernel_size, stride, padding)
POOL_CASES = [
    ("2x2", (2, 3, 6, 6), 2, None, 0),
    ("3x3-s2-pad1-odd", (1, 2, 7, 9), 3, 2, 1),
    ("3x3-s1-pad1-overlap", (2, 1, 5, 5), 3, 1, 1),
    ("2x3-mixed", (1, 2, 7, 8), (2, 3), (1, 2), 1),
]


def _randn(rng, shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def _leaf(array):
    return tt.Tensor(array.copy(), requires_grad=True)


def _assert_close(got, want, tol=1e-4):
    """Relative to the largest magnitude: sums over many products lose digits in float32."""
    got = got.data if isinstance(got, tt.Tensor) else got
    want = want.detach().numpy() if hasattr(want, "detach") else want
    assert got.shape == tuple(want.shape), (got.shape, want.shape)
    scale = max(1.0, float(np.abs(want).max())) if want.size else 1.0
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * scale)


# ---- Conv2d ------------------------------------------------------------------------------

@pytest.mark.parametrize("case", CONV_CASES, ids=[c[0] for c in CONV_CASES])
def test_conv2d_forward_and_grads_match_torch(torch, backend, case):
    _, x_shape, w_shape, stride, padding, dilation, with_bias = case
    rng = np.random.default_rng(0)
    x, w, b = _randn(rng, x_shape), _randn(rng, w_shape) * 0.3, _randn(rng, w_shape[:1])
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    bt = torch.tensor(b, requires_grad=True) if with_bias else None
    y_ref = torch.nn.functional.conv2d(xt, wt, bt, stride, padding, dilation)
    g = _randn(rng, tuple(y_ref.shape))
    y_ref.backward(torch.tensor(g))

    xs, ws = _leaf(x), _leaf(w)
    bs = _leaf(b) if with_bias else None
    y = F.conv2d(xs, ws, bs, stride, padding, dilation)
    y.backward(g)
    _assert_close(y, y_ref)
    _assert_close(xs.grad, xt.grad)
    _assert_close(ws.grad, wt.grad)
    if with_bias:
        _assert_close(bs.grad, bt.grad)
    assert y.dtype == np.float32 and ws.grad.dtype == np.float32


def test_conv2d_layer_matches_torch_with_copied_weights(torch, backend):
    rng = np.random.default_rng(1)
    conv = nn.Conv2d(3, 5, (3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2))
    ref = torch.nn.Conv2d(3, 5, (3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2))
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(conv.weight.data))
        ref.bias.copy_(torch.tensor(conv.bias.data))
    x = _randn(rng, (2, 3, 7, 8))
    xt, xs = torch.tensor(x, requires_grad=True), _leaf(x)
    ref(xt).square().sum().backward()
    y = conv(xs)
    (y * y).sum().backward()
    _assert_close(y, ref(torch.tensor(x)))
    _assert_close(xs.grad, xt.grad)
    _assert_close(conv.weight.grad, ref.weight.grad)
    _assert_close(conv.bias.grad, ref.bias.grad)
    assert repr(conv) == repr(ref)


def test_conv2d_init_shapes_and_bounds():
    conv = nn.Conv2d(16, 32, 3)
    fan_in = 16 * 3 * 3
    bound = 1 / math.sqrt(fan_in)
    assert conv.weight.shape == (32, 16, 3, 3) and conv.bias.shape == (32,)
    assert sum(p.numel() for p in conv.parameters()) == 32 * 16 * 9 + 32
    for p in (conv.weight, conv.bias):
        assert p.dtype == np.float32 and p.requires_grad
        assert np.abs(p.data).max() <= bound
    # uniform on [-b, b]: the sample spread reaches close to the bound, std = b / sqrt(3)
    assert np.abs(conv.weight.data).max() > 0.95 * bound
    assert abs(conv.weight.data.std() - bound / math.sqrt(3)) < 0.05 * bound
    assert nn.Conv2d(2, 3, 1, bias=False).bias is None
    assert list(dict(nn.Conv2d(2, 3, 1).named_parameters())) == ["weight", "bias"]


def test_conv2d_unbatched_input_and_padding_modes():
    rng = np.random.default_rng(2)
    conv = nn.Conv2d(2, 3, 3, padding="same")
    x = _randn(rng, (2, 5, 6))
    y = conv(tt.Tensor(x))
    assert y.shape == (3, 5, 6)
    np.testing.assert_allclose(y.data, conv(tt.Tensor(x[None])).data[0], rtol=1e-6)
    w = tt.Tensor(_randn(rng, (3, 2, 3, 3)))
    np.testing.assert_array_equal(F.conv2d(tt.Tensor(x[None]), w, padding="valid").data,
                                  F.conv2d(tt.Tensor(x[None]), w, padding=0).data)


def test_conv2d_errors_are_clear():
    conv = nn.Conv2d(3, 8, 3)
    with pytest.raises(ValueError, match=r"expected input with 3 channels, got 4"):
        conv(tt.zeros(2, 4, 8, 8))
    with pytest.raises(ValueError, match=r"4-D input \(N, C, H, W\).*got shape \(8, 8\)"):
        conv(tt.zeros(8, 8))
    with pytest.raises(ValueError, match="groups=2 is not supported"):
        nn.Conv2d(4, 4, 3, groups=2)
    with pytest.raises(ValueError, match="groups=2 is not supported"):
        F.conv2d(tt.zeros(1, 4, 5, 5), tt.zeros(4, 2, 3, 3), groups=2)
    with pytest.raises(ValueError, match=r"input has 2 channels but the weight"):
        F.conv2d(tt.zeros(1, 2, 5, 5), tt.zeros(4, 3, 3, 3))
    with pytest.raises(ValueError, match=r"bias must have shape \(4,\)"):
        F.conv2d(tt.zeros(1, 3, 5, 5), tt.zeros(4, 3, 3, 3), tt.zeros(3))
    with pytest.raises(ValueError, match="larger than the padded input"):
        conv(tt.zeros(1, 3, 2, 2))
    with pytest.raises(ValueError, match="padding='same' needs stride 1"):
        nn.Conv2d(3, 3, 3, stride=2, padding="same")(tt.zeros(1, 3, 5, 5))
    with pytest.raises(ValueError, match="padding_mode"):
        nn.Conv2d(3, 3, 3, padding_mode="reflect")


# ---- pooling -----------------------------------------------------------------------------

@pytest.mark.parametrize("case", POOL_CASES, ids=[c[0] for c in POOL_CASES])
def test_pooling_forward_and_grads_match_torch(torch, backend, case):
    _, x_shape, kernel, stride, padding = case
    rng = np.random.default_rng(3)
    x = _randn(rng, x_shape)
    TF = torch.nn.functional
    layers = [
        (nn.MaxPool2d(kernel, stride, padding),
         lambda t: TF.max_pool2d(t, kernel, stride, padding)),
        (nn.AvgPool2d(kernel, stride, padding),
         lambda t: TF.avg_pool2d(t, kernel, stride, padding)),
        (nn.AvgPool2d(kernel, stride, padding, count_include_pad=False),
         lambda t: TF.avg_pool2d(t, kernel, stride, padding, count_include_pad=False)),
    ]
    for layer, reference in layers:
        xt, xs = torch.tensor(x, requires_grad=True), _leaf(x)
        y_ref = reference(xt)
        g = _randn(rng, tuple(y_ref.shape))
        y_ref.backward(torch.tensor(g))
        y = layer(xs)
        y.backward(g)
        _assert_close(y, y_ref, 1e-6)
        _assert_close(xs.grad, xt.grad, 1e-6)


def test_max_pool_return_indices_match_torch(torch, backend):
    x = _randn(np.random.default_rng(4), (2, 2, 5, 7))
    y, idx = F.max_pool2d(tt.Tensor(x), 3, 2, 1, return_indices=True)
    y_ref, idx_ref = torch.nn.functional.max_pool2d(torch.tensor(x), 3, 2, 1,
                                                    return_indices=True)
    np.testing.assert_array_equal(y.data, y_ref.numpy())
    np.testing.assert_array_equal(idx.data, idx_ref.numpy())
    y3, idx3 = nn.MaxPool2d(3, 2, 1, return_indices=True)(tt.Tensor(x[0]))  # unbatched
    np.testing.assert_array_equal(y3.data, y_ref[0].numpy())
    np.testing.assert_array_equal(idx3.data, idx_ref[0].numpy())


@pytest.mark.parametrize("x_shape,output_size", [
    ((2, 3, 6, 6), 1), ((2, 3, 8, 6), (4, 3)), ((1, 2, 5, 7), (3, 4)), ((1, 2, 7, 5), (None, 2)),
    ((2, 2, 3, 3), 5),
], ids=["global", "even", "uneven-bins", "none-keeps-size", "upsampling-bins"])
def test_adaptive_avg_pool_matches_torch(torch, backend, x_shape, output_size):
    rng = np.random.default_rng(5)
    x = _randn(rng, x_shape)
    xt, xs = torch.tensor(x, requires_grad=True), _leaf(x)
    y_ref = torch.nn.functional.adaptive_avg_pool2d(xt, output_size)
    g = _randn(rng, tuple(y_ref.shape))
    y_ref.backward(torch.tensor(g))
    y = nn.AdaptiveAvgPool2d(output_size)(xs)
    y.backward(g)
    _assert_close(y, y_ref, 1e-6)
    _assert_close(xs.grad, xt.grad, 1e-6)


def test_pooling_errors_are_clear():
    x = tt.zeros(1, 2, 6, 6)
    with pytest.raises(ValueError, match="padding .* at most half the kernel"):
        F.max_pool2d(x, 2, padding=2)
    with pytest.raises(ValueError, match="ceil_mode=True is not supported"):
        F.avg_pool2d(x, 2, ceil_mode=True)
    with pytest.raises(ValueError, match="dilation"):
        F.max_pool2d(x, 2, dilation=2)
    with pytest.raises(ValueError, match=r"4-D input .* got shape \(6, 6\)"):
        nn.MaxPool2d(2)(tt.zeros(6, 6))
    with pytest.raises(ValueError, match="output_size must be >= 1"):
        F.adaptive_avg_pool2d(x, 0)


# ---- BatchNorm ---------------------------------------------------------------------------

@pytest.mark.parametrize("layer,shape", [
    ("BatchNorm2d", (4, 3, 5, 6)), ("BatchNorm1d", (6, 4)), ("BatchNorm1d", (3, 4, 5)),
], ids=["2d", "1d-NC", "1d-NCL"])
def test_batchnorm_train_eval_and_running_stats_match_torch(torch, layer, shape):
    rng = np.random.default_rng(6)
    C = shape[1]
    ours, ref = getattr(nn, layer)(C), getattr(torch.nn, layer)(C)
    gamma, beta = _randn(rng, (C,)) + 1, _randn(rng, (C,))
    ours.weight.data[...], ours.bias.data[...] = gamma, beta
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(gamma))
        ref.bias.copy_(torch.tensor(beta))
    for step in range(4):  # running stats follow torch's over several steps
        x = _randn(rng, shape) * (step + 1) + step
        g = _randn(rng, shape)
        xt, xs = torch.tensor(x, requires_grad=True), _leaf(x)
        ref.weight.grad = ref.bias.grad = None
        ours.zero_grad()
        y_ref = ref(xt)
        y_ref.backward(torch.tensor(g))
        y = ours(xs)
        y.backward(g)
        _assert_close(y, y_ref, 1e-5)
        _assert_close(xs.grad, xt.grad, 1e-4)
        _assert_close(ours.weight.grad, ref.weight.grad, 1e-4)
        _assert_close(ours.bias.grad, ref.bias.grad, 1e-5)
        _assert_close(ours.running_mean, ref.running_mean, 1e-5)
        _assert_close(ours.running_var, ref.running_var, 1e-5)  # unbiased var, like torch
    assert int(ours.num_batches_tracked.data) == int(ref.num_batches_tracked) == 4

    ours.eval()
    ref.eval()
    x = _randn(rng, shape)
    xt, xs = torch.tensor(x, requires_grad=True), _leaf(x)
    y_ref = ref(xt)
    g = _randn(rng, shape)
    y_ref.backward(torch.tensor(g))
    y = ours(xs)
    y.backward(g)
    _assert_close(y, y_ref, 1e-5)
    _assert_close(xs.grad, xt.grad, 1e-5)
    assert int(ours.num_batches_tracked.data) == 4  # eval leaves the statistics alone
    # eval normalises one sample the same whatever else is in the batch; training does not
    np.testing.assert_allclose(ours(tt.Tensor(x[:1])).data, y.data[:1], rtol=1e-5, atol=1e-6)
    ours.train()
    assert not np.allclose(ours(tt.Tensor(x[:2])).data, ours(tt.Tensor(x)).data[:2], atol=1e-3)


@pytest.mark.parametrize("options", [
    {"momentum": None}, {"affine": False}, {"track_running_stats": False},
], ids=["cumulative-average", "no-affine", "no-running-stats"])
def test_batchnorm_options_match_torch(torch, options):
    rng = np.random.default_rng(7)
    ours, ref = nn.BatchNorm2d(3, **options), torch.nn.BatchNorm2d(3, **options)
    for mode in ("train", "train", "train", "eval"):
        ours.train(mode == "train")
        ref.train(mode == "train")
        x = _randn(rng, (2, 3, 4, 4)) * 2 + 1
        xt, xs = torch.tensor(x, requires_grad=True), _leaf(x)
        y_ref = ref(xt)  # once: in training mode every call updates the running stats
        y_ref.square().sum().backward()
        y = ours(xs)
        (y * y).sum().backward()
        _assert_close(y, y_ref, 1e-5)
        _assert_close(xs.grad, xt.grad, 1e-4)
    assert list(ours.state_dict()) == list(ref.state_dict())
    for name, value in ref.state_dict().items():
        _assert_close(ours.state_dict()[name].astype(np.float64), value.double(), 1e-5)


def test_batchnorm_state_dict_holds_running_stats(torch):
    bn = nn.BatchNorm2d(4)
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var",
                                     "num_batches_tracked"]
    assert [n for n, _ in bn.named_parameters()] == ["weight", "bias"]  # stats are not learned
    bn(tt.randn(8, 4, 3, 3) * 3 + 2)
    state = bn.state_dict()
    assert state["num_batches_tracked"] == 1 and state["num_batches_tracked"].dtype == np.int64
    assert not np.allclose(state["running_mean"], 0)
    fresh = nn.BatchNorm2d(4)
    fresh.load_state_dict(state)
    np.testing.assert_array_equal(fresh.running_var.data, bn.running_var.data)
    ref = torch.nn.BatchNorm2d(4)  # the same names and shapes as PyTorch
    ref.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    np.testing.assert_allclose(ref.running_mean.numpy(), bn.running_mean.data)


def test_batchnorm_is_one_fused_graph_node():
    x = tt.randn(4, 3, 5, 5, requires_grad=True)
    assert len(graph_nodes(nn.BatchNorm2d(3)(x))) == 1


def test_batchnorm_errors_are_clear():
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected 4-D \(N, C, H, W\) input, "
                                         r"got 3-D"):
        nn.BatchNorm2d(3)(tt.zeros(3, 4, 4))
    with pytest.raises(ValueError, match=r"BatchNorm1d: expected 2-D .* got 4-D"):
        nn.BatchNorm1d(3)(tt.zeros(2, 3, 4, 4))
    with pytest.raises(ValueError, match=r"expected 3 channels in dim 1, got 5"):
        nn.BatchNorm2d(3)(tt.zeros(2, 5, 4, 4))
    with pytest.raises(ValueError, match="more than 1 value per channel when training"):
        nn.BatchNorm1d(3)(tt.zeros(1, 3))
    with pytest.raises(ValueError, match="running_mean and running_var are required"):
        F.batch_norm(tt.zeros(2, 3), None, None, training=False)


# ---- finite differences (float64, no torch) ----------------------------------------------

def test_gradcheck_conv2d_with_bias(backend):
    rng = np.random.default_rng(8)
    x, w, b = (tt.Tensor(_randn(rng, s, np.float64), requires_grad=True)
               for s in ((1, 2, 5, 4), (2, 2, 3, 2), (2,)))
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=1,
                                              dilation=(1, 2)), [x, w, b])


def test_gradcheck_pooling(backend):
    rng = np.random.default_rng(9)
    x = tt.Tensor(rng.permutation(60).reshape(1, 2, 5, 6) / 7.0, requires_grad=True)  # no ties
    assert gradcheck(lambda x: F.max_pool2d(x, 3, 2, 1), [x])
    assert gradcheck(lambda x: F.avg_pool2d(x, 3, 2, 1), [x])
    assert gradcheck(lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False), [x])
    assert gradcheck(lambda x: F.adaptive_avg_pool2d(x, 1), [x])
    assert gradcheck(lambda x: F.adaptive_avg_pool2d(x, (3, 4)), [x])


@pytest.mark.parametrize("shape", [(4, 3, 3, 2), (5, 3)], ids=["NCHW", "NC"])
def test_gradcheck_batch_norm(shape):
    rng = np.random.default_rng(10)
    x = tt.Tensor(_randn(rng, shape, np.float64), requires_grad=True)
    w, b = (tt.Tensor(_randn(rng, (3,), np.float64), requires_grad=True) for _ in range(2))
    assert gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                     [x, w, b])
    mean, var = tt.Tensor(_randn(rng, (3,), np.float64)), tt.Tensor(rng.uniform(0.5, 2, 3))
    assert gradcheck(lambda x, w, b: F.batch_norm(x, mean, var, w, b, training=False),
                     [x, w, b])


# ---- a tiny CNN end to end ---------------------------------------------------------------

def _tiny_cnn(lib):
    return lib.nn.Sequential(lib.nn.Conv2d(2, 4, 3, padding=1), lib.nn.BatchNorm2d(4),
                             lib.nn.ReLU(), lib.nn.MaxPool2d(2), lib.nn.Flatten(),
                             lib.nn.Linear(4 * 3 * 3, 5))


def test_tiny_cnn_matches_torch_with_copied_weights(torch, backend):
    rng = np.random.default_rng(11)
    ours, ref = _tiny_cnn(tt), _tiny_cnn(torch)
    ours.load_state_dict({k: v.numpy() for k, v in ref.state_dict().items()})
    x = _randn(rng, (3, 2, 6, 6))
    target = np.array([0, 3, 4])
    for _ in range(2):  # two training steps' worth of forward/backward and running stats
        ours.zero_grad()
        ref.zero_grad()
        loss_ref = torch.nn.functional.cross_entropy(ref(torch.tensor(x)), torch.tensor(target))
        loss_ref.backward()
        loss = F.cross_entropy(ours(tt.Tensor(x)), tt.Tensor(target))
        loss.backward()
        assert abs(loss.item() - loss_ref.item()) < 1e-5
        for name, p in ref.named_parameters():
            _assert_close(dict(ours.named_parameters())[name].grad, p.grad, 1e-4)
    ours.eval()
    ref.eval()
    _assert_close(ours(tt.Tensor(x)), ref(torch.tensor(x)), 1e-5)
    _assert_close(ours.state_dict()["1.running_var"], ref.state_dict()["1.running_var"], 1e-5)

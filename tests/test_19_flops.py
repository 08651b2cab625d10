"""Module 19: FLOP counts (multiply-add = 2 FLOPs) equal the analytic counts and PyTorch's
FlopCounterMode; parameters, activation memory and peak memory."""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import nn
from tinytorch.models import GPT, lenet
from tinytorch.profiler import (
    activation_memory,
    count_flops,
    count_parameters,
    peak_memory,
    profile,
)


def test_linear_is_two_flops_per_multiply_add():
    layer = nn.Linear(20, 30)
    flops = count_flops(layer, tt.randn(7, 20))
    assert flops.total == 2 * 7 * 20 * 30
    assert flops.by_op == {"matmul": 2 * 7 * 20 * 30}
    assert flops.by_module == {"": 2 * 7 * 20 * 30}
    assert count_flops(layer, tt.randn(2, 5, 20)).total == 2 * 10 * 20 * 30  # leading dims


@pytest.mark.parametrize("stride,padding,dilation,out", [
    (1, 0, 1, 7),   # 9 - 3 + 1
    (2, 1, 1, 5),   # (9 + 2 - 3) / 2 + 1
    (2, 1, 2, 4),   # a dilated 3x3 spans 5 pixels: (9 + 2 - 5) / 2 + 1
    (1, 2, 3, 7),   # spans 7: 9 + 4 - 7 + 1
])
def test_conv2d_counts_every_tap_of_every_output(stride, padding, dilation, out):
    conv = nn.Conv2d(3, 8, 3, stride=stride, padding=padding, dilation=dilation)
    flops = count_flops(conv, tt.randn(2, 3, 9, 9))
    assert flops.total == 2 * (2 * 8 * out * out) * (3 * 3 * 3)
    assert set(flops.by_op) == {"conv2d"}


def test_attention_counts_projections_scores_and_weighted_sum():
    B, T, E, H = 2, 10, 16, 4
    attn = nn.CausalSelfAttention(E, H)
    flops = count_flops(attn, tt.randn(B, T, E))
    d = E // H
    scores_and_sum = 2 * B * H * T * T * (d + d)  # causal masking is not subtracted
    assert flops.by_op == {"matmul": 2 * B * T * E * 3 * E + 2 * B * T * E * E,
                           "attention": scores_and_sum}
    assert flops.by_module["qkv"] == 2 * B * T * E * 3 * E
    assert flops.total == flops.by_module[""]


def _lenet_flops(N):
    conv1 = 2 * N * 32 * 28 * 28 * (1 * 9)
    conv2 = 2 * N * 64 * 14 * 14 * (32 * 9)
    fc1 = 2 * N * (64 * 7 * 7) * 128
    fc2 = 2 * N * 128 * 10
    return conv1, conv2, fc1, fc2


def test_whole_cnn_by_op_and_by_module():
    model = lenet(1, 28, 10)
    conv1, conv2, fc1, fc2 = _lenet_flops(3)
    flops = count_flops(model, tt.randn(3, 1, 28, 28))
    assert flops.total == conv1 + conv2 + fc1 + fc2
    assert flops.by_op == {"conv2d": conv1 + conv2, "matmul": fc1 + fc2}
    assert flops.by_module == {"": flops.total, "0": conv1, "3": conv2, "7": fc1, "10": fc2}


def _gpt_forward_flops(B, T, V, L, E, H):
    per_layer = 2 * B * T * E * (3 * E + E + 4 * E) + 2 * B * T * 4 * E * E
    attention = 2 * B * H * T * T * (2 * (E // H))
    return L * (per_layer + attention) + 2 * B * T * E * V


def test_whole_gpt():
    model = GPT(vocab_size=40, block_size=16, n_layer=2, n_head=2, n_embd=32)
    idx = tt.Tensor(np.random.default_rng(0).integers(0, 40, (3, 12)))
    flops = count_flops(model, idx)
    assert flops.total == _gpt_forward_flops(3, 12, 40, 2, 32, 2)
    assert flops.by_module["blocks.0"] == flops.by_module["blocks.1"]
    assert flops.by_module["lm_head"] == 2 * 3 * 12 * 32 * 40


def test_backward_kernels_cost_twice_the_forward():
    model = lenet(1, 28, 10)
    x, y = tt.randn(2, 1, 28, 28), tt.Tensor(np.array([1, 2]))
    with profile(with_flops=True) as prof:
        nn.CrossEntropyLoss()(model(x), y).backward()
    flops: dict[str, int] = {}
    for e in prof.events:
        if e.flops:
            kernel = e.name.split("::")[1]
            flops[kernel] = flops.get(kernel, 0) + e.flops
    conv1, conv2, fc1, fc2 = _lenet_flops(2)
    assert flops["conv2d"] == conv1 + conv2
    assert flops["conv2d_backward_weight"] == conv1 + conv2
    assert flops["conv2d_backward_input"] == conv2  # the input image needs no gradient
    assert flops["matmul"] == 3 * (fc1 + fc2)       # forward, grad of input, grad of weight


def _torch_lenet(torch, ours):
    tnn = torch.nn
    model = tnn.Sequential(
        tnn.Conv2d(1, 32, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Conv2d(32, 64, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Flatten(), tnn.Linear(64 * 7 * 7, 128), tnn.ReLU(), tnn.Dropout(0.25),
        tnn.Linear(128, 10))
    model.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    return model


def _torch_counts(torch, model, *inputs):
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    # on the CPU the fused attention kernels are not in FlopCounterMode's table (they
    # count 0); the math path runs the same products as bmm, which it does count
    with torch.no_grad(), sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as mode:
        model(*inputs)
    root = type(model).__name__
    by_module = {}
    for name, ops in mode.get_flop_counts().items():
        if name != "Global":
            by_module["" if name == root else name[len(root) + 1:]] = sum(ops.values())
    return mode.get_total_flops(), by_module


def test_cnn_agrees_with_torch_flop_counter(torch):
    ours = lenet(1, 28, 10)
    x = np.random.default_rng(0).standard_normal((4, 1, 28, 28)).astype(np.float32)
    mine = count_flops(ours, tt.Tensor(x))
    total, by_module = _torch_counts(torch, _torch_lenet(torch, ours), torch.tensor(x))
    assert mine.total == total
    assert mine.by_module == by_module


def test_gpt_agrees_with_torch_flop_counter(torch):
    from tests._torch_gpt import load_from

    ours = GPT(vocab_size=50, block_size=24, n_layer=2, n_head=4, n_embd=32)
    idx = np.random.default_rng(1).integers(0, 50, (2, 24))
    mine = count_flops(ours, tt.Tensor(idx))
    total, by_module = _torch_counts(torch, load_from(ours), torch.tensor(idx))
    assert mine.total == total
    for name in ("blocks.0.attn.qkv", "blocks.1.mlp.fc", "lm_head", "blocks.0", ""):
        assert mine.by_module[name] == by_module[name], name


def test_count_parameters_counts_a_tied_weight_once(torch):
    model = lenet(1, 28, 10)
    expected = (32 * 9 + 32) + (64 * 32 * 9 + 64) + (64 * 49 * 128 + 128) + (128 * 10 + 10)
    assert count_parameters(model) == expected
    gpt = GPT(vocab_size=50, block_size=24, n_layer=2, n_head=4, n_embd=32)
    from tests._torch_gpt import load_from
    assert count_parameters(gpt) == sum(p.numel() for p in load_from(gpt).parameters())
    for p in gpt.parameters():
        p.requires_grad = False
    assert count_parameters(gpt, trainable_only=True) == 0
    with pytest.raises(TypeError, match="nn.Module"):
        count_parameters(object())


def test_activation_memory_is_what_the_graph_saves_for_backward():
    model = nn.Sequential(nn.Linear(20, 30), nn.ReLU(), nn.Linear(30, 5))
    x = tt.randn(7, 20)
    # Linear 1 keeps its input rows (7x20 float32), ReLU its mask (7x30 bool), Linear 2
    # its input rows (7x30 float32); the weights are parameters, not activations
    assert activation_memory(model, x) == 7 * 20 * 4 + 7 * 30 * 1 + 7 * 30 * 4
    with tt.no_grad(), pytest.raises(RuntimeError, match="no graph"):
        activation_memory(model, x)


def test_activation_memory_grows_linearly_with_the_batch():
    model = lenet(1, 28, 10)
    small = activation_memory(model, tt.randn(2, 1, 28, 28))
    large = activation_memory(model, tt.randn(8, 1, 28, 28))
    assert large == 4 * small


def test_peak_memory_sees_numpy_buffers():
    peak, result = peak_memory(lambda: np.ones(1_000_000).sum())
    assert result == 1_000_000
    assert 8_000_000 <= peak < 8_500_000

"""Convolution benchmarks (Modules 08 and 15): loop vs numpy vs native (vs torch).

One table per (pass, shape) (``benchmark.group``), one row per backend;
GFLOP/s is in ``extra_info``::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE pytest benchmarks/bench_conv.py

The main shape is a ResNet-style 3x3 layer on CIFAR-sized maps: N=32, 64 -> 64
channels, 32x32, padding 1. "backward" computes both gradients (input and
weight) -- what one training step needs; torch runs its fused
``convolution_backward`` for the same two outputs. The loop backend only runs
the tiny shape.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import BENCH_BACKENDS, assert_close, backend_kernel

from tinytorch.backends import load_backend
from tinytorch.backends.spatial.interface import conv2d_flops
from tinytorch.backends.spatial.shapes import conv2d_geometry

#: (N, C, F, H, W, K, padding): stride 1, dilation 1, square K x K kernel
SHAPES = {
    "tiny": (1, 4, 4, 8, 8, 3, 1),
    "resnet-32x32": (32, 64, 64, 32, 32, 3, 1),
}
ONE = (1, 1)


def _cases() -> list:
    return [pytest.param(backend, name, id=f"{backend}-{name}")
            for name in SHAPES for backend in BENCH_BACKENDS
            if backend != "loop" or name == "tiny"]


def _inputs(name: str):
    N, C, F, H, W, K, pad = SHAPES[name]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, C, H, W)).astype(np.float32)
    weight = (rng.standard_normal((F, C, K, K)) / np.sqrt(C * K * K)).astype(np.float32)
    g = conv2d_geometry(x.shape, weight.shape, ONE, pad, ONE)
    grad_out = rng.standard_normal(g.output_shape).astype(np.float32)
    return x, weight, grad_out, (pad, pad), conv2d_flops(g)


def _forward(backend: str):
    conv2d = backend_kernel(backend, "conv2d")
    return lambda x, weight, padding: conv2d(x, weight, ONE, padding, ONE)


def _backward(backend: str):
    """(grad_out, x, weight, padding) -> (grad_x, grad_w)."""
    backward_input = backend_kernel(backend, "conv2d_backward_input")
    backward_weight = backend_kernel(backend, "conv2d_backward_weight")

    def run(grad_out, x, weight, padding):
        grad_x = backward_input(grad_out, weight, x.shape[2:], ONE, padding, ONE)
        grad_w = backward_weight(grad_out, x, weight.shape[2:], ONE, padding, ONE)
        return grad_x, grad_w
    return run


def _reference(x, weight, grad_out, padding):
    """float64 forward and gradients from the NumPy backend (itself checked against torch)."""
    reference = load_backend("numpy")
    x64, w64, g64 = (a.astype(np.float64) for a in (x, weight, grad_out))
    return (reference.conv2d(x64, w64, ONE, padding, ONE),
            reference.conv2d_backward_input(g64, w64, x.shape[2:], ONE, padding, ONE),
            reference.conv2d_backward_weight(g64, x64, weight.shape[2:], ONE, padding, ONE))


@pytest.mark.parametrize("backend,name", _cases())
def test_conv2d_forward(benchmark, record, backend: str, name: str) -> None:
    x, weight, grad_out, padding, flops = _inputs(name)
    benchmark.group = f"conv2d forward {name}"
    y = benchmark(_forward(backend), x, weight, padding)
    record(benchmark, y, _reference(x, weight, grad_out, padding)[0], flops)


@pytest.mark.parametrize("backend,name", _cases())
def test_conv2d_backward(benchmark, record, backend: str, name: str) -> None:
    x, weight, grad_out, padding, flops = _inputs(name)
    benchmark.group = f"conv2d backward (input + weight) {name}"
    grad_x, grad_w = benchmark(_backward(backend), grad_out, x, weight, padding)
    _, want_x, want_w = _reference(x, weight, grad_out, padding)
    assert_close(grad_x, want_x)
    record(benchmark, grad_w, want_w, 2 * flops)  # two GEMMs of the forward's size

"""Conformance cases of ``spatial``: odd sizes, strides, padding, dilation, 1x1, empty batch."""

from __future__ import annotations

import numpy as np

from tinytorch.backends.conformance import Case
from tinytorch.backends.spatial import shapes


def _normal(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


# (N, C, H, W), (F, KH, KW), stride, padding, dilation
CONV_GEOMETRIES = [
    ((1, 1, 1, 1), (1, 1, 1), (1, 1), (0, 0), (1, 1)),
    ((2, 3, 7, 9), (4, 3, 5), (1, 1), (1, 2), (1, 1)),
    ((1, 2, 8, 8), (3, 3, 3), (2, 2), (1, 1), (1, 1)),
    ((2, 2, 9, 7), (2, 3, 3), (1, 2), (2, 0), (2, 2)),
    ((0, 2, 5, 5), (3, 3, 3), (1, 1), (1, 1), (1, 1)),
]

# (N, C, H, W), kernel, stride, padding
POOL_GEOMETRIES = [((1, 1, 1, 1), (1, 1), (1, 1), (0, 0)), ((2, 3, 7, 9), (3, 2), (2, 2), (1, 1)),
                   ((1, 2, 8, 8), (2, 2), (2, 2), (0, 0)), ((0, 1, 4, 4), (2, 2), (2, 2), (0, 0))]


def _with(build, g):
    """A case maker: ``rng -> build(rng, g)`` for one geometry."""
    return lambda rng: build(rng, g)


def _conv_cases() -> dict[str, list[Case]]:
    cases: dict[str, list[Case]] = {"conv2d": [], "conv2d_backward_input": [],
                                    "conv2d_backward_weight": []}
    for xs, (f, kh, kw), s, p, d in CONV_GEOMETRIES:
        g = shapes.conv2d_geometry(xs, (f, xs[1], kh, kw), s, p, d)
        tag = f"x{xs}-w{g.weight_shape}-s{s}-p{p}-d{d}"
        cases["conv2d"].append(Case(tag, _with(lambda rng, g: (
            _normal(rng, *g.input_shape), _normal(rng, *g.weight_shape),
            g.stride, g.padding, g.dilation), g)))
        cases["conv2d_backward_input"].append(Case(tag, _with(lambda rng, g: (
            _normal(rng, *g.output_shape), _normal(rng, *g.weight_shape), (g.H, g.W),
            g.stride, g.padding, g.dilation), g)))
        cases["conv2d_backward_weight"].append(Case(tag, _with(lambda rng, g: (
            _normal(rng, *g.output_shape), _normal(rng, *g.input_shape), (g.KH, g.KW),
            g.stride, g.padding, g.dilation), g)))
    return cases


def _pool_args(rng, g):
    return _normal(rng, *g.input_shape), (g.KH, g.KW), g.stride, g.padding


def _max_backward_args(rng, g):
    from tinytorch.backends.spatial import loop

    _, indices = loop.max_pool2d(*_pool_args(rng, g))
    return _normal(rng, *indices.shape), indices, (g.H, g.W)


def _pool_cases() -> dict[str, list[Case]]:
    cases: dict[str, list[Case]] = {k: [] for k in (
        "max_pool2d", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward")}
    for xs, k, s, p in POOL_GEOMETRIES:
        g = shapes.pool2d_geometry(xs, k, s, p, "pool")
        tag = f"x{xs}-k{k}-s{s}-p{p}"
        cases["max_pool2d"].append(Case(tag, _with(_pool_args, g), tol=1e-6))
        cases["avg_pool2d"].append(Case(tag, _with(_pool_args, g), tol=1e-6))
        cases["max_pool2d_backward"].append(Case(tag, _with(_max_backward_args, g), tol=1e-6))
        cases["avg_pool2d_backward"].append(Case(tag, _with(lambda rng, g: (
            _normal(rng, *g.output_shape), (g.H, g.W), (g.KH, g.KW), g.stride, g.padding), g),
            tol=1e-6))
    return cases


CASES = {**_conv_cases(), **_pool_cases()}


def torch_kernels() -> dict:
    """conv2d and both backward kernels in PyTorch (oneDNN), for the benchmarks."""
    import torch
    import torch.nn.functional as F
    from torch.nn.grad import conv2d_input, conv2d_weight

    def conv2d(x, w, stride, padding, dilation):
        with torch.no_grad():
            return F.conv2d(torch.from_numpy(x), torch.from_numpy(w), stride=stride,
                            padding=padding, dilation=dilation).numpy()

    def backward_input(g, w, input_hw, stride, padding, dilation):
        with torch.no_grad():
            shape = (g.shape[0], w.shape[1], *input_hw)
            return conv2d_input(shape, torch.from_numpy(w), torch.from_numpy(g), stride=stride,
                                padding=padding, dilation=dilation).numpy()

    def backward_weight(g, x, kernel_hw, stride, padding, dilation):
        with torch.no_grad():
            shape = (g.shape[1], x.shape[1], *kernel_hw)
            return conv2d_weight(torch.from_numpy(x), shape, torch.from_numpy(g), stride=stride,
                                 padding=padding, dilation=dilation).numpy()

    return {"conv2d": conv2d, "conv2d_backward_input": backward_input,
            "conv2d_backward_weight": backward_weight}

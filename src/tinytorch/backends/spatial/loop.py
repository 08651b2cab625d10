"""``spatial`` as plain Python loops: the executable specification (Module 08).

Six nested loops for a convolution, four for pooling: slow on purpose, and
exactly the mathematics. The fast backends must agree with these.
"""

from __future__ import annotations

import math

import numpy as np

from tinytorch.backends.spatial import shapes

# x: (N, C, H, W), weight: (F, C, KH, KW), y: (N, F, OH, OW). Input pixel read
# by output (oh, ow) through kernel tap (kh, kw):
#     ih = oh*sh - ph + kh*dh,   iw = ow*sw - pw + kw*dw
# A tap that lands in the padding reads zero (conv, avg pool) or -inf (max pool).


def conv2d_taps(g: shapes.ConvGeometry):
    """The convolution loop nest, once: every (n, f, oh, ow, c, kh, kw, ih, iw) where
    output pixel (n, f, oh, ow) reads input pixel (n, c, ih, iw) through weight tap
    (f, c, kh, kw). Taps that land in the zero padding are skipped.

    The forward pass and both backward passes walk exactly these taps; they only
    differ in which of the three arrays they accumulate into::

        for n in N: for f in F: for oh in OH: for ow in OW:
            for c in C: for kh in KH: for kw in KW:
                ih, iw = oh*sh - ph + kh*dh, ow*sw - pw + kw*dw
                if 0 <= ih < H and 0 <= iw < W: yield the tap
    """
    # BEGIN SOLUTION 08
    (sh, sw), (ph, pw), (dh, dw) = g.stride, g.padding, g.dilation
    for n in range(g.N):
        for f in range(g.F):
            for oh in range(g.OH):
                for ow in range(g.OW):
                    for c in range(g.C):
                        for kh in range(g.KH):
                            for kw in range(g.KW):
                                ih, iw = oh * sh - ph + kh * dh, ow * sw - pw + kw * dw
                                if 0 <= ih < g.H and 0 <= iw < g.W:
                                    yield n, f, oh, ow, c, kh, kw, ih, iw
    # END SOLUTION


def _zeros(*shape: int) -> list:
    """A nested list of zeros: Python floats, so the loops accumulate in double precision."""
    if len(shape) == 1:
        return [0.0] * shape[0]
    return [_zeros(*shape[1:]) for _ in range(shape[0])]


def conv2d(x: np.ndarray, weight: np.ndarray, stride: tuple[int, int],
           padding: tuple[int, int], dilation: tuple[int, int]) -> np.ndarray:
    """2-D cross-correlation (what deep learning calls convolution), no bias.

    x: (N, C, H, W), weight: (F, C, KH, KW) -> y: (N, F, OH, OW)::

        for every tap of conv2d_taps:
            y[n, f, oh, ow] += x[n, c, ih, iw] * weight[f, c, kh, kw]
    """
    g = shapes.check_conv2d(x, weight, stride, padding, dilation)
    # BEGIN SOLUTION 08
    X, Wt, y = x.tolist(), weight.tolist(), _zeros(*g.output_shape)
    for n, f, oh, ow, c, kh, kw, ih, iw in conv2d_taps(g):
        y[n][f][oh][ow] += X[n][c][ih][iw] * Wt[f][c][kh][kw]
    return np.array(y, dtype=np.result_type(x, weight)).reshape(g.output_shape)
    # END SOLUTION


def conv2d_backward_input(grad_out: np.ndarray, weight: np.ndarray, input_hw: tuple[int, int],
                          stride: tuple[int, int], padding: tuple[int, int],
                          dilation: tuple[int, int]) -> np.ndarray:
    """dL/dx of conv2d: every output sends its gradient back along the taps that made it.

    grad_out: (N, F, OH, OW), weight: (F, C, KH, KW), input_hw: (H, W) -> (N, C, H, W)::

        for every tap of conv2d_taps:
            grad_x[n, c, ih, iw] += grad_out[n, f, oh, ow] * weight[f, c, kh, kw]
    """
    g = shapes.check_conv2d_backward_input(grad_out, weight, input_hw, stride, padding,
                                                 dilation)
    # BEGIN SOLUTION 08
    G, Wt, grad_x = grad_out.tolist(), weight.tolist(), _zeros(*g.input_shape)
    for n, f, oh, ow, c, kh, kw, ih, iw in conv2d_taps(g):
        grad_x[n][c][ih][iw] += G[n][f][oh][ow] * Wt[f][c][kh][kw]
    return np.array(grad_x, dtype=np.result_type(grad_out, weight)).reshape(g.input_shape)
    # END SOLUTION


def conv2d_backward_weight(grad_out: np.ndarray, x: np.ndarray, kernel_hw: tuple[int, int],
                           stride: tuple[int, int], padding: tuple[int, int],
                           dilation: tuple[int, int]) -> np.ndarray:
    """dL/dweight of conv2d: each tap sums input * grad_out over every place it was used.

    grad_out: (N, F, OH, OW), x: (N, C, H, W), kernel_hw: (KH, KW) -> (F, C, KH, KW)::

        for every tap of conv2d_taps:
            grad_w[f, c, kh, kw] += grad_out[n, f, oh, ow] * x[n, c, ih, iw]
    """
    g = shapes.check_conv2d_backward_weight(grad_out, x, kernel_hw, stride, padding,
                                                  dilation)
    # BEGIN SOLUTION 08
    G, X, grad_w = grad_out.tolist(), x.tolist(), _zeros(*g.weight_shape)
    for n, f, oh, ow, c, kh, kw, ih, iw in conv2d_taps(g):
        grad_w[f][c][kh][kw] += G[n][f][oh][ow] * X[n][c][ih][iw]
    return np.array(grad_w, dtype=np.result_type(grad_out, x)).reshape(g.weight_shape)
    # END SOLUTION


def max_pool2d(x: np.ndarray, kernel_size: tuple[int, int], stride: tuple[int, int],
               padding: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Max over each window, and where it was (the backward pass needs the place).

    x: (N, C, H, W) -> y: (N, C, OH, OW), indices: (N, C, OH, OW) int64, the flat
    position ih*W + iw of the max inside its (H, W) plane (PyTorch's convention)::

        for n in N: for c in C: for oh in OH: for ow in OW:
            best, where = -inf, first in-bounds tap   # padding counts as -inf
            for kh in KH: for kw in KW:
                ih, iw = oh*sh - ph + kh, ow*sw - pw + kw
                if in bounds and x[n, c, ih, iw] > best (or is the first NaN):
                    best, where = x[n, c, ih, iw], ih*W + iw
            y[n, c, oh, ow], indices[n, c, oh, ow] = best, where

    Ties keep the first tap in row-major order; a NaN wins (it propagates) and of
    several NaNs the last one in row-major order is reported, as PyTorch does.
    """
    g = shapes.check_pool2d(x, kernel_size, stride, padding, "max_pool2d")
    # BEGIN SOLUTION 08
    (sh, sw), (ph, pw) = g.stride, g.padding
    X = x.tolist()
    y = np.empty(g.output_shape, dtype=x.dtype)
    indices = np.empty(g.output_shape, dtype=np.int64)
    for n in range(g.N):
        for c in range(g.C):
            for oh in range(g.OH):
                for ow in range(g.OW):
                    best = -math.inf
                    where = max(oh * sh - ph, 0) * g.W + max(ow * sw - pw, 0)
                    for kh in range(g.KH):
                        for kw in range(g.KW):
                            ih, iw = oh * sh - ph + kh, ow * sw - pw + kw
                            if 0 <= ih < g.H and 0 <= iw < g.W:
                                value = X[n][c][ih][iw]
                                if value > best or math.isnan(value):  # last NaN wins
                                    best, where = value, ih * g.W + iw
                    y[n, c, oh, ow], indices[n, c, oh, ow] = best, where
    return y, indices
    # END SOLUTION


def max_pool2d_backward(grad_out: np.ndarray, indices: np.ndarray,
                        input_hw: tuple[int, int]) -> np.ndarray:
    """The gradient of a max flows only to the element that won.

    grad_out, indices: (N, C, OH, OW), input_hw: (H, W) -> grad_x: (N, C, H, W)::

        for n in N: for c in C: for oh in OH: for ow in OW:
            ih, iw = divmod(indices[n, c, oh, ow], W)
            grad_x[n, c, ih, iw] += grad_out[n, c, oh, ow]
    """
    H, W = shapes.check_max_pool2d_backward(grad_out, indices, input_hw)
    # BEGIN SOLUTION 08
    N, C, OH, OW = grad_out.shape
    G, I = grad_out.tolist(), indices.tolist()
    grad_x = [[[[0.0] * W for _ in range(H)] for _ in range(C)] for _ in range(N)]
    for n in range(N):
        for c in range(C):
            for oh in range(OH):
                for ow in range(OW):
                    ih, iw = divmod(I[n][c][oh][ow], W)
                    grad_x[n][c][ih][iw] += G[n][c][oh][ow]
    return np.array(grad_x, dtype=grad_out.dtype).reshape(N, C, H, W)
    # END SOLUTION


def avg_pool2d(x: np.ndarray, kernel_size: tuple[int, int], stride: tuple[int, int],
               padding: tuple[int, int]) -> np.ndarray:
    """Mean over each window; padding counts as zeros (PyTorch's count_include_pad=True).

    x: (N, C, H, W) -> y: (N, C, OH, OW)::

        for n in N: for c in C: for oh in OH: for ow in OW:
            for kh in KH: for kw in KW:
                ih, iw = oh*sh - ph + kh, ow*sw - pw + kw
                if 0 <= ih < H and 0 <= iw < W:
                    y[n, c, oh, ow] += x[n, c, ih, iw] / (KH * KW)
    """
    g = shapes.check_pool2d(x, kernel_size, stride, padding, "avg_pool2d")
    # BEGIN SOLUTION 08
    (sh, sw), (ph, pw) = g.stride, g.padding
    X = x.tolist()
    y = np.empty(g.output_shape, dtype=x.dtype)
    for n in range(g.N):
        for c in range(g.C):
            for oh in range(g.OH):
                for ow in range(g.OW):
                    total = 0.0
                    for kh in range(g.KH):
                        for kw in range(g.KW):
                            ih, iw = oh * sh - ph + kh, ow * sw - pw + kw
                            if 0 <= ih < g.H and 0 <= iw < g.W:
                                total += X[n][c][ih][iw]
                    y[n, c, oh, ow] = total / (g.KH * g.KW)
    return y
    # END SOLUTION


def avg_pool2d_backward(grad_out: np.ndarray, input_hw: tuple[int, int],
                        kernel_size: tuple[int, int], stride: tuple[int, int],
                        padding: tuple[int, int]) -> np.ndarray:
    """Each output spreads its gradient evenly over its window (padding taps are dropped).

    grad_out: (N, C, OH, OW), input_hw: (H, W) -> grad_x: (N, C, H, W)::

        for n in N: for c in C: for oh in OH: for ow in OW:
            for kh in KH: for kw in KW:
                ih, iw = oh*sh - ph + kh, ow*sw - pw + kw
                if 0 <= ih < H and 0 <= iw < W:
                    grad_x[n, c, ih, iw] += grad_out[n, c, oh, ow] / (KH * KW)
    """
    g = shapes.check_pool2d_backward(grad_out, input_hw, kernel_size, stride, padding,
                                           "avg_pool2d_backward")
    # BEGIN SOLUTION 08
    (sh, sw), (ph, pw) = g.stride, g.padding
    G = grad_out.tolist()
    grad_x = [[[[0.0] * g.W for _ in range(g.H)] for _ in range(g.C)] for _ in range(g.N)]
    for n in range(g.N):
        for c in range(g.C):
            for oh in range(g.OH):
                for ow in range(g.OW):
                    share = G[n][c][oh][ow] / (g.KH * g.KW)
                    for kh in range(g.KH):
                        for kw in range(g.KW):
                            ih, iw = oh * sh - ph + kh, ow * sw - pw + kw
                            if 0 <= ih < g.H and 0 <= iw < g.W:
                                grad_x[n][c][ih][iw] += share
    return np.array(grad_x, dtype=grad_out.dtype).reshape(g.input_shape)
    # END SOLUTION

"""The contract of the ``spatial`` family, and the FLOP count of each kernel (written once).

Shapes: x: (N, C, H, W), weight: (F, C, KH, KW), y: (N, F, OH, OW);
stride, padding, dilation, kernel_size, input_hw and kernel_hw are (h, w) int
pairs. Output sizes come from ``shapes.conv2d_output_size`` (the one formula).
The input pixel that output (oh, ow) reads through kernel tap (kh, kw) is::

    ih = oh*sh - ph + kh*dh,   iw = ow*sw - pw + kw*dw

and a tap that lands in the padding reads zero (conv, avg pool) or -inf (max pool).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from tinytorch.backends.spatial.shapes import ConvGeometry, conv2d_geometry

Pair = tuple[int, int]


class SpatialKernels(Protocol):
    def conv2d(self, x: np.ndarray, weight: np.ndarray, stride: Pair, padding: Pair,
               dilation: Pair) -> np.ndarray:
        """Cross-correlation, no bias, groups = 1 -> y: (N, F, OH, OW)::

            for n, f, oh, ow:  y[n, f, oh, ow] = sum over c, kh, kw of
                                   x[n, c, ih, iw] * weight[f, c, kh, kw]
        """
        ...

    def conv2d_backward_input(self, grad_out: np.ndarray, weight: np.ndarray, input_hw: Pair,
                              stride: Pair, padding: Pair, dilation: Pair) -> np.ndarray:
        """grad_out: (N, F, OH, OW) -> grad_x: (N, C, H, W)::

            for every tap:  grad_x[n, c, ih, iw] += grad_out[n, f, oh, ow] * weight[f, c, kh, kw]
        """
        ...

    def conv2d_backward_weight(self, grad_out: np.ndarray, x: np.ndarray, kernel_hw: Pair,
                               stride: Pair, padding: Pair, dilation: Pair) -> np.ndarray:
        """grad_out: (N, F, OH, OW) -> grad_w: (F, C, KH, KW)::

            for every tap:  grad_w[f, c, kh, kw] += grad_out[n, f, oh, ow] * x[n, c, ih, iw]
        """
        ...

    def max_pool2d(self, x: np.ndarray, kernel_size: Pair, stride: Pair,
                   padding: Pair) -> tuple[np.ndarray, np.ndarray]:
        """-> (y, indices), both (N, C, OH, OW); indices int64 = ih*W + iw of the maximum.

        Padding acts as -inf; ties keep the first tap in row-major order; a NaN wins.
        """
        ...

    def max_pool2d_backward(self, grad_out: np.ndarray, indices: np.ndarray,
                            input_hw: Pair) -> np.ndarray:
        """grad_out, indices: (N, C, OH, OW) -> grad_x: (N, C, H, W)::

            grad_x[n, c, indices[n, c, oh, ow]] += grad_out[n, c, oh, ow]
        """
        ...

    def avg_pool2d(self, x: np.ndarray, kernel_size: Pair, stride: Pair,
                   padding: Pair) -> np.ndarray:
        """-> (N, C, OH, OW): the window sum / (KH*KW); padding counts as zeros
        (PyTorch's ``count_include_pad=True``)."""
        ...

    def avg_pool2d_backward(self, grad_out: np.ndarray, input_hw: Pair, kernel_size: Pair,
                            stride: Pair, padding: Pair) -> np.ndarray:
        """grad_out: (N, C, OH, OW) -> grad_x: (N, C, H, W): each output spreads
        grad / (KH*KW) over the in-bounds pixels of its window."""
        ...


def conv2d_flops(input_shape: Sequence[int] | ConvGeometry, weight_shape: Sequence[int] = (),
                 stride: int | Pair = 1, padding: int | Pair = 0, dilation: int | Pair = 1) -> int:
    """FLOPs of one conv2d forward: 2 * N*F*OH*OW * C*KH*KW.

    Every output element is a dot product of length C*KH*KW (one multiply and one
    add per term). The backward costs twice that: one such product for grad_x,
    one for grad_w. Pass the shapes (and hyper-parameters) or a ``ConvGeometry``.
    """
    g = input_shape if isinstance(input_shape, ConvGeometry) else conv2d_geometry(
        input_shape, weight_shape, stride, padding, dilation)
    return 2 * g.N * g.F * g.OH * g.OW * g.C * g.KH * g.KW

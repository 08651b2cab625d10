"""``spatial`` vectorised with NumPy: im2col + one GEMM per image (Module 08).
"""

from __future__ import annotations

import numpy as np

from tinytorch.backends.spatial import shapes

# ---- Module 08: spatial kernels ---------------------------------------------
# The trick is im2col: lay every receptive field out as one column, and a
# convolution becomes ONE matrix multiply, W (F, C*KH*KW) @ cols (C*KH*KW, OH*OW)
# per image, which BLAS runs at close to peak speed. The loops of loop.conv2d
# over (n, f, oh, ow) all move into that GEMM. Loops over the KH*KW kernel taps
# remain in col2im and pooling: a tap loop is 9 iterations, not 9 * N*C*OH*OW.


def _pad(x: np.ndarray, padding: tuple[int, int], value: float = 0.0) -> np.ndarray:
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def _windows(xp: np.ndarray, g: shapes.ConvGeometry) -> np.ndarray:
    """Every receptive field of the padded input, as a read-only view (no copy).

    xp: (N, C, H + 2ph, W + 2pw) -> (N, C, OH, OW, KH, KW). Moving one output
    pixel moves `stride` input pixels and moving one kernel tap moves
    `dilation` input pixels, so both are just strides over the same memory.
    """
    sn, sc, s_row, s_col = xp.strides
    (sh, sw), (dh, dw) = g.stride, g.dilation
    return np.lib.stride_tricks.as_strided(
        xp, shape=(g.N, g.C, g.OH, g.OW, g.KH, g.KW),
        strides=(sn, sc, sh * s_row, sw * s_col, dh * s_row, dw * s_col), writeable=False)


def _im2col(x: np.ndarray, g: shapes.ConvGeometry) -> np.ndarray:
    """x: (N, C, H, W) -> cols: (N, C*KH*KW, OH*OW), one receptive field per column.

    The reshape copies: this is where the KH*KW-fold duplication of the input
    is paid for, in exchange for a GEMM that reads contiguous memory.
    """
    windows = _windows(_pad(x, g.padding), g)
    return windows.transpose(0, 1, 4, 5, 2, 3).reshape(g.N, g.C * g.KH * g.KW, g.OH * g.OW)


def _tap(xp: np.ndarray, g: shapes.ConvGeometry, kh: int, kw: int) -> np.ndarray:
    """The (N, C, OH, OW) view of padded input pixels that kernel tap (kh, kw) touches."""
    (sh, sw), (dh, dw) = g.stride, g.dilation
    return xp[:, :, kh * dh: kh * dh + sh * (g.OH - 1) + 1: sh,
              kw * dw: kw * dw + sw * (g.OW - 1) + 1: sw]


def _col2im(cols: np.ndarray, g: shapes.ConvGeometry, dtype) -> np.ndarray:
    """The adjoint of im2col: add every column entry back onto the pixel it came from.

    cols: (N, C, KH, KW, OH, OW) (or anything broadcastable to it) -> (N, C, H, W).
    Within one tap no two outputs read the same pixel, so `+=` on the strided
    tap view is exact; overlaps between taps are summed by the tap loop.
    """
    ph, pw = g.padding
    grad_xp = np.zeros((g.N, g.C, g.H + 2 * ph, g.W + 2 * pw), dtype=dtype)
    for kh in range(g.KH):
        for kw in range(g.KW):
            _tap(grad_xp, g, kh, kw)[...] += cols[:, :, kh, kw]
    return np.ascontiguousarray(grad_xp[:, :, ph: ph + g.H, pw: pw + g.W])


def conv2d(x: np.ndarray, weight: np.ndarray, stride: tuple[int, int],
           padding: tuple[int, int], dilation: tuple[int, int]) -> np.ndarray:
    """x: (N, C, H, W), weight: (F, C, KH, KW) -> (N, F, OH, OW) by im2col + one GEMM per image."""
    g = shapes.check_conv2d(x, weight, stride, padding, dilation)
    cols = _im2col(x, g)                                   # (N, C*KH*KW, OH*OW)
    y = np.matmul(weight.reshape(g.F, g.C * g.KH * g.KW), cols)   # (N, F, OH*OW)
    return y.reshape(g.output_shape)


def conv2d_backward_input(grad_out: np.ndarray, weight: np.ndarray, input_hw: tuple[int, int],
                          stride: tuple[int, int], padding: tuple[int, int],
                          dilation: tuple[int, int]) -> np.ndarray:
    """grad_out: (N, F, OH, OW), weight: (F, C, KH, KW) -> grad_x: (N, C, H, W).

    The forward was y = W @ cols, so d cols = W^T @ grad_out (one GEMM per
    image), and col2im sends each column back to the pixels it was copied from.
    """
    g = shapes.check_conv2d_backward_input(grad_out, weight, input_hw, stride, padding,
                                                 dilation)
    grad_cols = np.matmul(weight.reshape(g.F, g.C * g.KH * g.KW).T,
                          grad_out.reshape(g.N, g.F, g.OH * g.OW))
    grad_cols = grad_cols.reshape(g.N, g.C, g.KH, g.KW, g.OH, g.OW)
    return _col2im(grad_cols, g, grad_cols.dtype)


def conv2d_backward_weight(grad_out: np.ndarray, x: np.ndarray, kernel_hw: tuple[int, int],
                           stride: tuple[int, int], padding: tuple[int, int],
                           dilation: tuple[int, int]) -> np.ndarray:
    """grad_out: (N, F, OH, OW), x: (N, C, H, W) -> grad_w: (F, C, KH, KW).

    d W = sum_n grad_out[n] @ cols[n]^T: the batched GEMM reads cols[n]^T as a
    transposed view (no copy) and the batch sum is over N small (F, C*KH*KW) results.
    """
    g = shapes.check_conv2d_backward_weight(grad_out, x, kernel_hw, stride, padding,
                                                  dilation)
    cols = _im2col(x, g)
    per_image = np.matmul(grad_out.reshape(g.N, g.F, g.OH * g.OW), cols.transpose(0, 2, 1))
    return per_image.sum(axis=0).reshape(g.weight_shape)


def max_pool2d(x: np.ndarray, kernel_size: tuple[int, int], stride: tuple[int, int],
               padding: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """x: (N, C, H, W) -> (y, indices), both (N, C, OH, OW); indices are int64 ih*W + iw.

    A loop over the KH*KW taps, each a whole (N, C, OH, OW) view. A later tap t wins
    only if strictly larger, so of equal maxima the first is kept (like the loop
    spec), and a NaN always wins, so of several NaNs the last (like PyTorch). The taps
    are visited in increasing t, so the winning tap is max(tap, wins * t): no masked
    assignment, which NumPy runs several times slower than arithmetic. (Reducing a
    trailing axis of KH*KW = 4 elements with argmax is slower still: ~5x.)
    """
    g = shapes.check_pool2d(x, kernel_size, stride, padding, "max_pool2d")
    (sh, sw), (ph, pw), (dh, dw) = g.stride, g.padding, g.dilation
    xp = _pad(x, g.padding, -np.inf)
    y = _tap(xp, g, 0, 0).copy()
    tap = np.zeros(g.output_shape, dtype=np.int32)  # t = kh * KW + kw of the winner
    for t in range(1, g.KH * g.KW):
        v = _tap(xp, g, *divmod(t, g.KW))
        wins = v > y
        wins |= np.isnan(v)
        np.maximum(y, v, out=y)                     # NaN propagates: y is NaN if any is
        np.maximum(tap, np.multiply(wins, np.int32(t), dtype=np.int32), out=tap)
    kh, kw = np.divmod(np.arange(g.KH * g.KW, dtype=np.int64), g.KW)
    offset = (kh * dh) * g.W + kw * dw              # of tap t from the window's corner
    row0 = np.arange(g.OH)[:, None] * sh - ph       # top-left input pixel of each window
    col0 = np.arange(g.OW)[None, :] * sw - pw
    indices = row0 * g.W + col0 + np.take(offset, tap)
    # A window whose real elements are all -inf ties with its padding; the spec
    # (and PyTorch) then reports the first in-bounds element, never a padding slot.
    first_inside = np.maximum(row0, 0) * g.W + np.maximum(col0, 0)
    indices = np.where(y == -np.inf, first_inside, indices)
    return y, indices


def max_pool2d_backward(grad_out: np.ndarray, indices: np.ndarray,
                        input_hw: tuple[int, int]) -> np.ndarray:
    """grad_out, indices: (N, C, OH, OW) -> grad_x: (N, C, H, W).

    A scatter-add: overlapping windows can pick the same pixel, so plain
    fancy-index assignment would drop gradients; bincount sums duplicates.
    """
    H, W = shapes.check_max_pool2d_backward(grad_out, indices, input_hw)
    N, C, OH, OW = grad_out.shape
    plane = np.arange(N * C, dtype=np.int64)[:, None] * (H * W)
    flat = (plane + indices.reshape(N * C, OH * OW)).ravel()
    grad_x = np.bincount(flat, weights=grad_out.reshape(-1), minlength=N * C * H * W)
    return grad_x.astype(grad_out.dtype).reshape(N, C, H, W)


def avg_pool2d(x: np.ndarray, kernel_size: tuple[int, int], stride: tuple[int, int],
               padding: tuple[int, int]) -> np.ndarray:
    """x: (N, C, H, W) -> (N, C, OH, OW): the sum of the KH*KW tap views over KH*KW."""
    g = shapes.check_pool2d(x, kernel_size, stride, padding, "avg_pool2d")
    xp = _pad(x, g.padding)
    total = np.zeros(g.output_shape, dtype=x.dtype)
    for kh in range(g.KH):
        for kw in range(g.KW):
            total += _tap(xp, g, kh, kw)
    return total / np.asarray(g.KH * g.KW, dtype=x.dtype)


def avg_pool2d_backward(grad_out: np.ndarray, input_hw: tuple[int, int],
                        kernel_size: tuple[int, int], stride: tuple[int, int],
                        padding: tuple[int, int]) -> np.ndarray:
    """grad_out: (N, C, OH, OW) -> grad_x: (N, C, H, W): col2im of grad_out / (KH*KW)."""
    g = shapes.check_pool2d_backward(grad_out, input_hw, kernel_size, stride, padding,
                                           "avg_pool2d_backward")
    share = grad_out / np.asarray(g.KH * g.KW, dtype=grad_out.dtype)
    every_tap = np.broadcast_to(share[:, :, None, None],
                                (g.N, g.C, g.KH, g.KW, g.OH, g.OW))  # a view, no copy
    return _col2im(every_tap, g, grad_out.dtype)

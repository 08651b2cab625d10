"""Module 19: the FLOPs of one kernel call, from the arguments it was called with.

The convention (PyTorch's ``torch.utils.flop_counter.FlopCounterMode`` uses the same):
a multiply-add counts as **2 FLOPs**, and only the kernels whose work grows faster
than their data are counted -- matrix products, convolutions (forward and both
backward kernels) and attention. Elementwise work, normalisation, softmax and pooling
are memory-bound (bytes, not FLOPs, limit them) and count 0. The formulas themselves
live once, in each kernel family's ``interface.py``; this file only reads the shapes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tinytorch.backends.attention.interface import attention_backward_flops, attention_flops
from tinytorch.backends.linalg.interface import bmm_flops, matmul_flops

__all__ = ["FLOP_KERNELS", "kernel_flops"]


def _matmul(a: Any, b: Any, *_: Any) -> int:
    M, K = a.shape
    return matmul_flops(M, K, b.shape[1])


def _bmm(a: Any, b: Any, *_: Any) -> int:
    B, M, K = a.shape
    return bmm_flops(B, M, K, b.shape[2])


def _conv_terms(out_shape: tuple, C: int, KH: int, KW: int) -> int:
    # BEGIN SOLUTION 19
    N, F, OH, OW = out_shape
    return 2 * N * F * OH * OW * C * KH * KW  # every output is a length C*KH*KW dot product
    # END SOLUTION


def _conv2d(x: Any, w: Any, stride: Any, padding: Any, dilation: Any) -> int:
    from tinytorch.backends.spatial.interface import conv2d_flops

    return conv2d_flops(x.shape, w.shape, stride, padding, dilation)


def _conv2d_backward_input(grad_out: Any, weight: Any, *_: Any) -> int:
    F, C, KH, KW = weight.shape  # grad_x: the same products as the forward, transposed
    return _conv_terms(grad_out.shape, C, KH, KW)


def _conv2d_backward_weight(grad_out: Any, x: Any, kernel_hw: Any, *_: Any) -> int:
    return _conv_terms(grad_out.shape, x.shape[1], *kernel_hw)


def _attention(q: Any, k: Any, v: Any, *_: Any) -> int:
    B, H, Tq, d = q.shape
    return attention_flops(B, H, Tq, k.shape[2], d, v.shape[3])


def _attention_backward(grad_out: Any, q: Any, k: Any, v: Any, *_: Any) -> int:
    B, H, Tq, d = q.shape
    return attention_backward_flops(B, H, Tq, k.shape[2], d, v.shape[3])


def _decode_attention(q: Any, k_cache: Any, v_cache: Any, length: Any, *_: Any) -> int:
    B, H, d = q.shape
    return attention_flops(B, H, 1, int(length), d, v_cache.shape[3])


#: kernel name -> FLOPs(*the kernel's arguments); every other kernel counts 0
FLOP_KERNELS: dict[str, Callable[..., int]] = {
    "matmul": _matmul, "bmm": _bmm, "conv2d": _conv2d,
    "conv2d_backward_input": _conv2d_backward_input,
    "conv2d_backward_weight": _conv2d_backward_weight,
    "attention": _attention, "attention_backward": _attention_backward,
    "decode_attention": _decode_attention,
}


def kernel_flops(kernel: str, args: tuple) -> int:
    """FLOPs of ``kernel(*args)`` (0 for the memory-bound kernels)."""
    formula = FLOP_KERNELS.get(kernel)
    return 0 if formula is None else int(formula(*args))

"""Conformance cases of ``quant``: M = 1, K not a multiple of 2 / 4 / 32, empty shapes,
and the extreme codes (-128 x -128, 255 x -128, 127 x 127) that saturate a naive
``vpmaddubsw`` kernel."""

from __future__ import annotations

import numpy as np

from tinytorch.backends.conformance import Case

# (M, N, K)
_SHAPES = [(1, 1, 1), (1, 17, 33), (3, 5, 7), (7, 33, 31), (13, 16, 65), (6, 40, 4),
           (2, 3, 0), (0, 4, 5), (20, 18, 129)]


def _operands(rng, M, N, K, signed, extreme):
    if signed:
        a = rng.integers(-128, 128, (M, K)).astype(np.int8)
    else:
        a = rng.integers(0, 256, (M, K)).astype(np.uint8)
    w = rng.integers(-128, 128, (N, K)).astype(np.int8)
    if extreme:  # every product at its largest magnitude: pairs sum to 2 * 32640 or 2 * 16384
        a[...] = -128 if signed else 255
        w[...] = -128
        if w.size:
            w.flat[::3] = 127
    return a, w


def _gemm(M, N, K, signed, extreme):
    def make(rng):
        return _operands(rng, M, N, K, signed, extreme)
    return make


def _linear(M, N, K, relu, out_dtype, per_row, bias):
    def make(rng):
        a, w = _operands(rng, M, N, K, False, False)
        rows = M if per_row else 1
        a_scale = rng.uniform(0.001, 0.05, rows).astype(np.float32)
        a_zp = rng.integers(0, 256, rows).astype(np.int32)
        w_scale = rng.uniform(0.001, 0.02, N).astype(np.float32)
        w_colsum = w.astype(np.int32).sum(axis=1).astype(np.int32)
        b = rng.standard_normal(N).astype(np.float32) if bias else None
        out_scale = 0.05 if out_dtype != "float32" else 1.0
        out_zp = {"float32": 0, "int8": -3, "uint8": 128}[out_dtype]
        return a, a_scale, a_zp, w, w_scale, w_colsum, b, relu, out_dtype, out_scale, out_zp
    return make


def _rows(M, K, per_row, dtype, reduce_range, special):
    def make(rng):
        x = (rng.standard_normal((M, K)) * 3).astype(np.float32)
        if special and x.size:
            x.flat[::5] = 0.0          # exact zeros must map to the zero point
            x.flat[1::7] = 1e4         # an outlier stretches the range of its row
            x[0] = np.abs(x[0])        # an all-positive row: lo clamps to 0
        return x, per_row, dtype, reduce_range
    return make


def _im2col(N, C, H, W, k, stride, padding, dilation, dtype, special):
    def make(rng):
        x = (rng.standard_normal((N, C, H, W)) * 2).astype(np.float32)
        scale = 0.03125  # a power of two: x = (j + 0.5) * scale is a tie, exactly
        zp = 7 if dtype == "int8" else 131
        if special and x.size:
            flat = x.reshape(-1)
            flat[::3] = (rng.integers(-200, 200, flat[::3].size) + 0.5) * scale   # ties
            flat[1::11] = np.nan
            flat[2::13] = np.inf
            flat[4::17] = -np.inf
            flat[5::19] = 1e6          # far out of range: clamps
        return x, scale, zp, dtype, k, stride, padding, dilation
    return make



def _qconv(N, C, H, W, F, k, stride, padding, dilation, relu, bias):
    def make(rng):
        x = (rng.standard_normal((N, C, H, W)) * 2).astype(np.float32)
        K = k[0] * k[1] * C
        w = rng.integers(-128, 128, (F, K)).astype(np.int8)
        w_scale = rng.uniform(0.001, 0.02, F).astype(np.float32)
        w_colsum = w.astype(np.int32).sum(axis=1).astype(np.int32)
        b = rng.standard_normal(F).astype(np.float32) if bias else None
        return x, 0.03125, 131, w, w_scale, w_colsum, b, relu, k, stride, padding, dilation
    return make


def _tag(v) -> str:
    return "x".join(map(str, v)) if isinstance(v, tuple) else str(v)


CASES = {
    "int8_gemm": [Case(f"{M}x{N}x{K}-{'s8' if s else 'u8'}{'-extreme' if e else ''}",
                       _gemm(M, N, K, s, e))
                  for M, N, K in _SHAPES for s in (False, True) for e in (False, True)],
    "int8_linear": [Case(f"{M}x{N}x{K}-{o}{'-relu' if r else ''}{'-row' if p else ''}"
                         f"{'-bias' if b else ''}", _linear(M, N, K, r, o, p, b), tol=1e-5)
                    for (M, N, K), r, o, p, b in [
                        ((1, 17, 33), False, "float32", True, True),
                        ((7, 33, 31), True, "float32", False, True),
                        ((13, 16, 65), False, "float32", True, False),
                        ((6, 40, 9), True, "uint8", True, True),
                        ((5, 19, 64), False, "int8", False, True),
                        ((0, 4, 5), False, "float32", True, True)]],
    "quantize_rows": [Case(f"{M}x{K}-{d}{'-row' if p else '-tensor'}{'-rr' if rr else ''}"
                           f"{'-special' if sp else ''}", _rows(M, K, p, d, rr, sp))
                      for M, K, p, d, rr, sp in [
                          (1, 1, True, "uint8", False, False), (4, 37, True, "uint8", False, True),
                          (5, 16, False, "uint8", False, True), (3, 9, True, "int8", False, True),
                          (6, 33, False, "int8", True, False), (2, 64, True, "uint8", True, True),
                          (0, 5, True, "uint8", False, False)]],
    "quantize_im2col": [Case(f"{N}x{C}x{H}x{W}-k{_tag(k)}-s{_tag(st)}-p{_tag(p)}-d{_tag(d)}-{dt}"
                             f"{'-special' if sp else ''}",
                             _im2col(N, C, H, W, k, st, p, d, dt, sp))
                        for N, C, H, W, k, st, p, d, dt, sp in [
                            (1, 1, 1, 1, (1, 1), 1, 0, 1, "uint8", False),
                            (2, 1, 7, 9, (3, 3), 1, 1, 1, "uint8", True),
                            (3, 3, 13, 17, (3, 3), 2, 1, 1, "uint8", True),
                            (2, 5, 11, 10, (2, 3), (2, 1), (0, 2), (2, 1), "uint8", False),
                            (1, 4, 9, 12, (3, 2), 1, 2, (1, 3), "int8", True),
                            (2, 8, 6, 6, (6, 6), 1, 0, 1, "uint8", False),
                            (0, 3, 5, 5, (3, 3), 1, 1, 1, "uint8", False)]],
    # F = 19 and 7: the vector epilogue's 8 columns plus a scalar tail, stored NCHW
    "quantized_conv2d": [Case(f"{N}x{C}x{H}x{W}-F{F}-k{_tag(k)}-s{_tag(st)}-p{_tag(p)}"
                              f"-d{_tag(d)}{'-relu' if r else ''}{'-bias' if b else ''}",
                              _qconv(N, C, H, W, F, k, st, p, d, r, b), tol=1e-5)
                         for N, C, H, W, F, k, st, p, d, r, b in [
                             (1, 1, 5, 5, 1, (3, 3), 1, 1, 1, False, False),
                             (3, 3, 9, 11, 19, (3, 3), 1, 1, 1, True, True),
                             (2, 4, 10, 7, 7, (2, 3), (2, 1), (1, 0), (1, 2), False, True),
                             (5, 2, 6, 6, 16, (1, 1), 1, 0, 1, True, False),
                             (3, 2, 1, 1, 9, (1, 1), 1, 0, 1, True, True),    # M = 3
                             (1, 3, 4, 4, 20, (3, 3), 1, 0, 1, False, True),  # M = 4
                             (0, 3, 5, 5, 4, (3, 3), 1, 1, 1, False, True)]],
}


def torch_kernels() -> dict:
    return {}

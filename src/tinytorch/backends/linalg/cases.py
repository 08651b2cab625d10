"""Conformance cases of ``linalg`` (1x1, primes, transposed views, empty) and torch comparators."""

from __future__ import annotations

import numpy as np

from tinytorch.backends.conformance import Case


def _matmul(shape_a, shape_b, transpose_a=False, transpose_b=False):
    def make(rng):
        a = rng.standard_normal(shape_a[::-1] if transpose_a else shape_a).astype(np.float32)
        b = rng.standard_normal(shape_b[::-1] if transpose_b else shape_b).astype(np.float32)
        return (a.T if transpose_a else a), (b.T if transpose_b else b)
    return make


def _bmm(shape_a, shape_b):
    def make(rng):
        return (rng.standard_normal(shape_a).astype(np.float32),
                rng.standard_normal(shape_b).astype(np.float32))
    return make


CASES = {
    "matmul": [
        Case(f"{sa}x{sb}{'-aT' if ta else ''}{'-bT' if tb else ''}", _matmul(sa, sb, ta, tb))
        for sa, sb, ta, tb in [((1, 1), (1, 1), False, False), ((7, 13), (13, 5), False, False),
                               ((17, 1), (1, 33), False, False), ((3, 31), (31, 2), True, False),
                               ((9, 11), (11, 6), False, True), ((5, 8), (8, 7), True, True),
                               ((0, 4), (4, 3), False, False), ((4, 0), (0, 3), False, False)]
    ],
    "bmm": [
        Case(f"{sa}x{sb}", _bmm(sa, sb))
        for sa, sb in [((1, 1, 1), (1, 1, 1)), ((3, 7, 13), (3, 13, 5)), ((0, 2, 3), (0, 3, 4)),
                       ((2, 5, 1), (2, 1, 6)), ((2, 3, 0), (2, 0, 4))]
    ],
}


def torch_kernels() -> dict:
    import torch

    def wrap(op):
        def run(*arrays):
            with torch.no_grad():
                return op(*(torch.from_numpy(a) for a in arrays)).numpy()
        return run

    return {"matmul": wrap(torch.matmul), "bmm": wrap(torch.bmm)}

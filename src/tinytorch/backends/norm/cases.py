"""Conformance cases of ``norm``: one row, one column, odd widths, no affine, large offsets."""

from __future__ import annotations

import numpy as np

from tinytorch.backends.conformance import Case

# (M, D, affine, offset): an offset of 100 catches a variance computed as E[x^2] - E[x]^2
# (catastrophic cancellation: float32 loses ~1e-3 of it), within float32's own error there
_SHAPES = [(1, 1, True, 0.0), (1, 7, True, 0.0), (5, 1, False, 0.0), (6, 33, True, 0.0),
           (3, 128, False, 0.0), (4, 97, True, 100.0), (0, 8, True, 0.0)]


def _forward(M, D, affine, offset):
    def make(rng):
        x = (rng.standard_normal((M, D)) + offset).astype(np.float32)
        w = rng.standard_normal(D).astype(np.float32) if affine else None
        b = rng.standard_normal(D).astype(np.float32) if affine else None
        return x, w, b, 1e-5
    return make


def _backward(M, D, affine, offset):
    def make(rng):
        from tinytorch.backends.norm import numpy_backend

        x, w, b, eps = _forward(M, D, affine, offset)(rng)
        _, mean, rstd = numpy_backend.layer_norm(x.astype(np.float64), None, None, eps)
        grad_y = rng.standard_normal((M, D)).astype(np.float32)
        return grad_y, x, w, mean.astype(np.float32), rstd.astype(np.float32)
    return make


CASES = {
    "layer_norm": [Case(f"{M}x{D}{'-affine' if a else ''}{'-offset' if o else ''}",
                        _forward(M, D, a, o), tol=1e-4) for M, D, a, o in _SHAPES],
    "layer_norm_backward": [Case(f"{M}x{D}{'-affine' if a else ''}{'-offset' if o else ''}",
                                 _backward(M, D, a, o), tol=1e-3) for M, D, a, o in _SHAPES],
}


def torch_kernels() -> dict:
    import torch
    import torch.nn.functional as F

    def t(a):
        return None if a is None else torch.from_numpy(a)

    def layer_norm(x, weight, bias, eps):
        with torch.no_grad():
            return F.layer_norm(t(x), (x.shape[1],), t(weight), t(bias), eps).numpy()

    return {"layer_norm": layer_norm}

"""Conformance cases of ``softmax``: large logits, every axis, -inf, empty rows."""

from __future__ import annotations

import numpy as np

from tinytorch.backends.conformance import Case


def _logits(shape, axis, scale=1.0, masked=False):
    def make(rng):
        x = (rng.standard_normal(shape) * scale).astype(np.float32)
        if masked:  # some -inf entries (masked attention scores), never a whole row
            x[..., ::3] = -np.inf
            x[..., 1] = 0.0
        return x, axis
    return make


_SHAPES = [((1, 1), -1, 1.0, False), ((7, 13, 5), 1, 1.0, False), ((7, 13, 5), -1, 1.0, False),
           ((4, 9), 0, 1.0, False), ((3, 6), -1, 1000.0, False), ((2, 3, 4, 5), 2, 1.0, False),
           ((4, 7), -1, 1.0, True), ((3, 0), -1, 1.0, False), ((0, 5), 1, 1.0, False)]

CASES = {
    kernel: [Case(f"{shape}-axis{axis}{'-x1000' if scale > 1 else ''}{'-inf' if masked else ''}",
                  _logits(shape, axis, scale, masked), tol=1e-5)
             for shape, axis, scale, masked in _SHAPES]
    for kernel in ("softmax", "log_softmax")
}


def torch_kernels() -> dict:
    import torch

    def wrap(op):
        def run(x, axis):
            with torch.no_grad():
                return op(torch.from_numpy(x), dim=axis).numpy()
        return run

    return {"softmax": wrap(torch.softmax), "log_softmax": wrap(torch.log_softmax)}

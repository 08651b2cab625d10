"""Conformance cases of ``activation``: both forms, the tails (|x| up to 30), 0-d, empty."""

from __future__ import annotations

import numpy as np

from tinytorch.backends.conformance import Case

_SHAPES = [(), (1,), (7, 13), (3, 5, 17), (0, 4), (1000,)]


def _x(rng, shape, scale):
    x = np.asarray(rng.standard_normal(shape) * scale, dtype=np.float32)
    if x.size >= 8:
        x.reshape(-1)[:8] = [0.0, -0.0, 1e-6, -1e-6, 30.0, -30.0, 9.0, -9.0]
    return x


def _forward(shape, scale, approximate):
    return lambda rng: (_x(rng, shape, scale), approximate)


def _backward(shape, scale, approximate):
    return lambda rng: (np.asarray(rng.standard_normal(shape), dtype=np.float32),
                        _x(rng, shape, scale),
                        approximate)


CASES = {
    kernel: [Case(f"{shape}-x{scale}-{a}", make(shape, scale, a), tol=2e-6)
             for shape in _SHAPES for scale in (1.0, 4.0) for a in ("none", "tanh")]
    for kernel, make in (("gelu", _forward), ("gelu_backward", _backward))
}


def torch_kernels() -> dict:
    import torch

    def gelu(x, approximate):
        with torch.no_grad():
            return torch.nn.functional.gelu(torch.from_numpy(x), approximate=approximate).numpy()

    return {"gelu": gelu}

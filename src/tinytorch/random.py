"""Seeded randomness shared by factories, initialisers and dropout.

One NumPy ``Generator`` for the whole framework, so ``tinytorch.manual_seed``
makes a run reproducible the way ``torch.manual_seed`` does.
"""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed TinyTorch's global random generator; returns it."""
    global _generator
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"manual_seed expects an int, got {type(seed).__name__}")
    _generator = np.random.default_rng(int(seed))
    return _generator


def default_generator() -> np.random.Generator:
    """The generator behind ``rand``, ``randn``, parameter initialisation and dropout."""
    return _generator

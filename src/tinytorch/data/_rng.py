"""One rule for every random choice in ``tinytorch.data``: where its generator comes from.

``generator`` arguments accept a ``numpy.random.Generator`` (used as is, so
its stream advances), an ``int`` seed (a private generator seeded once), or
``None`` (follow TinyTorch's global generator, so ``tinytorch.manual_seed``
makes shuffles and augmentations reproducible, as ``torch.manual_seed`` does).
"""

from __future__ import annotations

import numpy as np

GeneratorLike = np.random.Generator | int | None


def as_generator(generator: GeneratorLike) -> np.random.Generator | None:
    """Validate ``generator``; return a Generator, or ``None`` for "use the global one"."""
    if generator is None or isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, (int, np.integer)) and not isinstance(generator, bool):
        if generator < 0:
            raise ValueError(f"seed must be non-negative, got {generator}")
        return np.random.default_rng(int(generator))
    raise TypeError(
        "generator must be a numpy.random.Generator, an int seed or None, "
        f"got {type(generator).__name__}"
    )


def resolve(generator: np.random.Generator | None) -> np.random.Generator:
    """The generator to draw from now: ``generator`` or TinyTorch's global one."""
    if generator is not None:
        return generator
    # Imported here so tinytorch.data never depends on import order.
    from tinytorch.random import default_generator

    return default_generator()

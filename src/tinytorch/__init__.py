"""TinyTorch: an educational deep-learning framework you build, then make fast.

Read the package in course order: ``tensor`` (Module 02), ``nn`` (03-05, 08,
12-14), ``autograd`` (06), ``optim`` (07), ``training`` (09), ``data`` (10),
``text`` (11), ``backends`` (15), ``kv_cache`` (16), ``quant`` (17),
``compress`` (18), ``profiler`` (19).
"""

from __future__ import annotations

from tinytorch.backends import (
    BackendUnavailableError,
    available_backends,
    get_backend,
    set_backend,
    use_backend,
)

__version__ = "0.1.0"

__all__ = [
    "BackendUnavailableError",
    "__version__",
    "available_backends",
    "get_backend",
    "set_backend",
    "use_backend",
]

"""TinyTorch: an educational deep-learning framework you build, then make fast.

Read the package in course order: ``utils.benchmark`` (the measuring toolkit,
Module 01), ``tensor`` and ``ops`` (Module 02), ``nn`` (03-05, 08), ``autograd``
(06), ``optim`` (07), ``training`` (09), ``data`` and ``models`` (10), ``text``
(11), ``backends`` (the kernel families, used from 02 on and made fast in 15).
"""

from __future__ import annotations

from tinytorch._allocator import tune_malloc
from tinytorch.autograd import enable_grad, is_grad_enabled, no_grad
from tinytorch.backends import (
    BackendUnavailableError,
    available_backends,
    get_backend,
    set_backend,
    use_backend,
)
from tinytorch.creation import (
    arange,
    bool_,
    cat,
    empty,
    eye,
    float32,
    float64,
    from_numpy,
    full,
    full_like,
    int32,
    int64,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    stack,
    tensor,
    where,
    zeros,
    zeros_like,
)
from tinytorch.random import manual_seed
from tinytorch.tensor import Tensor

__version__ = "0.1.0"

tune_malloc()  # reuse freed activation memory instead of page-faulting it back in

# Subpackages load on first use (PEP 562): `import tinytorch` stays fast, and a
# module's tests can check they need nothing from later modules.
_SUBPACKAGES = ("autograd", "backends", "compress", "data", "milestones", "models", "nn",
                "optim", "profiler", "quant", "serialization", "testing", "text", "training",
                "utils")


def __getattr__(name: str):
    if name in _SUBPACKAGES:
        import importlib

        return importlib.import_module(f"tinytorch.{name}")
    raise AttributeError(f"module 'tinytorch' has no attribute {name!r}")

__all__ = [
    "BackendUnavailableError", "Tensor", "__version__", "arange", "available_backends", "bool_",
    "cat", "empty", "enable_grad", "eye", "float32", "float64", "from_numpy", "full", "full_like",
    "get_backend", "int32", "int64", "is_grad_enabled", "linspace", "manual_seed", "no_grad",
    "ones", "ones_like", "rand", "rand_like", "randint", "randn", "randn_like", "set_backend",
    "stack", "tensor", "use_backend", "where", "zeros", "zeros_like",
]

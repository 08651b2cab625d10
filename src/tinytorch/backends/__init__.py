"""Module 15 (used from Module 02 on): the compute-backend registry.

A backend is a *kernel provider*, not a device. Tensors always hold NumPy
arrays; a backend implements the heavy kernels listed in
:mod:`tinytorch.backends.contract` (matmul, softmax, ... ) and the rest of the
framework calls whichever backend is current::

    import tinytorch
    tinytorch.set_backend("native")          # or "loop", "numpy"
    with tinytorch.use_backend("loop"):      # temporarily, restored on exit
        ...

The default comes from the environment variable ``TINYTORCH_BACKEND``
(else ``"numpy"``). Backends are imported lazily, so a missing or broken
native build never breaks ``import tinytorch``.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

__all__ = [
    "BACKEND_NAMES",
    "BackendUnavailableError",
    "available_backends",
    "current",
    "get_backend",
    "load_backend",
    "set_backend",
    "use_backend",
]

#: Every backend TinyTorch knows, in the order of the course: the loop
#: specification, the vectorised NumPy version, the C++ kernels.
BACKEND_NAMES: tuple[str, ...] = ("loop", "numpy", "native")

_MODULES = {
    "loop": "tinytorch.backends.loop",
    "numpy": "tinytorch.backends.numpy_backend",
    "native": "tinytorch.backends.native",
}

ENV_VAR = "TINYTORCH_BACKEND"
DEFAULT_BACKEND = "numpy"


class BackendUnavailableError(RuntimeError):
    """A known backend that cannot be loaded here (e.g. the native build is missing)."""


_loaded: dict[str, ModuleType] = {}
_current: str | None = None  # None: not chosen yet, resolved from the environment on first use


def _check_name(name: object, source: str = "backend") -> str:
    if not isinstance(name, str) or name not in _MODULES:
        valid = ", ".join(repr(n) for n in BACKEND_NAMES)
        raise ValueError(f"unknown {source} {name!r}; valid backends are {valid}")
    return name


def load_backend(name: str) -> ModuleType:
    """Import backend ``name`` (once) and return its kernel module.

    Raises ``ValueError`` for an unknown name and
    :class:`BackendUnavailableError` when the backend cannot be loaded here.
    """
    _check_name(name)
    module = _loaded.get(name)
    if module is None:
        module = importlib.import_module(_MODULES[name])
        _loaded[name] = module
    return module


def available_backends() -> list[str]:
    """Names of the backends that load on this machine, in course order."""
    names = []
    for name in BACKEND_NAMES:
        try:
            load_backend(name)
        except BackendUnavailableError:
            continue
        names.append(name)
    return names


def get_backend() -> str:
    """Name of the backend in use (``TINYTORCH_BACKEND`` or ``"numpy"`` until set)."""
    global _current
    if _current is None:
        _current = _check_name(os.environ.get(ENV_VAR) or DEFAULT_BACKEND,
                               f"backend in ${ENV_VAR}")
    return _current


def set_backend(name: str) -> None:
    """Make ``name`` the backend every kernel call goes through.

    The backend is loaded first, so an unavailable backend raises here (with
    the reason and how to fix it) and the current one stays in place.
    """
    global _current
    load_backend(name)
    _current = name


def current() -> ModuleType:
    """The kernel module of the backend in use (what ``Tensor`` ops call)."""
    return load_backend(get_backend())


@contextmanager
def use_backend(name: str) -> Iterator[str]:
    """Use backend ``name`` inside a ``with`` block; the previous one is restored on exit,
    also when the block raises."""
    previous = get_backend()
    set_backend(name)
    try:
        yield name
    finally:
        set_backend(previous)

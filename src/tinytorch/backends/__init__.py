"""Module 15 (used from Module 02 on): the compute-backend registry.

A backend is a *kernel provider*, not a device. Tensors always hold NumPy
arrays; a backend implements the heavy kernels and the rest of the framework
calls whichever backend is current::

    import tinytorch
    tinytorch.set_backend("native")          # or "loop", "numpy"
    with tinytorch.use_backend("loop"):      # temporarily, restored on exit
        ...

Kernels come in *families*, one subpackage each, mirroring ``csrc/``:
``linalg`` (matmul), ``softmax``, ``spatial`` (convolution, pooling), ... Each
family states its contract once, as a ``typing.Protocol`` in
``<family>/interface.py`` (docstrings give shapes and the loop nest), and holds
its three implementations side by side: ``loop.py`` (the executable
specification), ``numpy_backend.py`` (vectorised) and ``native.py`` (adapts the
C++ kernels). A family is found here by being a subpackage with an
``INTERFACE``: adding one needs no edit of this file.

The default backend comes from the environment variable ``TINYTORCH_BACKEND``
(else ``"numpy"``). Backends are imported lazily, so a missing or broken
native build never breaks ``import tinytorch``.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

__all__ = [
    "BACKEND_NAMES",
    "Backend",
    "BackendUnavailableError",
    "available_backends",
    "current",
    "families",
    "get_backend",
    "kernel_names",
    "load_backend",
    "set_backend",
    "use_backend",
]

#: Every backend TinyTorch knows, in the order of the course: the loop
#: specification, the vectorised NumPy version, the C++ kernels.
BACKEND_NAMES: tuple[str, ...] = ("loop", "numpy", "native")

#: backend name -> the module every family folder holds for it
IMPLEMENTATION_MODULE = {"loop": "loop", "numpy": "numpy_backend", "native": "native"}

ENV_VAR = "TINYTORCH_BACKEND"
DEFAULT_BACKEND = "numpy"


class BackendUnavailableError(RuntimeError):
    """A known backend that cannot be loaded here (e.g. the native build is missing)."""


class UnknownBackendError(ValueError):
    """A backend name (argument or ``$TINYTORCH_BACKEND``) that is not one of BACKEND_NAMES."""


def families() -> dict[str, ModuleType]:
    """Every kernel family (name -> package), found as subpackages with an ``INTERFACE``."""
    found = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.ispkg:
            package = importlib.import_module(f"{__name__}.{info.name}")
            if hasattr(package, "INTERFACE"):
                found[info.name] = package
    return found


def kernel_names(interface: type) -> tuple[str, ...]:
    """The kernels a family's Protocol declares, in the order it declares them."""
    return tuple(name for name, value in vars(interface).items()
                 if callable(value) and not name.startswith("_"))


class Backend:
    """One backend: every kernel of every family, as a plain attribute.

    ``current().matmul(a, b)`` is one attribute lookup (the registry is consulted
    once per op, not once per kernel name). ``backend.families[name]`` is the
    implementation module of one family, e.g. ``load_backend("loop").families["linalg"]``.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.families: dict[str, ModuleType] = {}
        self.kernels: dict[str, Callable[..., Any]] = {}
        for family_name, family in families().items():
            module = importlib.import_module(f"{family.__name__}.{IMPLEMENTATION_MODULE[name]}")
            self.families[family_name] = module
            for kernel in kernel_names(family.INTERFACE):
                fn = getattr(module, kernel, None)
                if not callable(fn):
                    raise TypeError(f"backend {name!r} does not implement kernel {kernel!r} of "
                                    f"family {family_name!r} ({module.__name__})")
                self.kernels[kernel] = fn
                setattr(self, kernel, fn)

    def __getattr__(self, name: str) -> Any:  # only reached for names that are not kernels
        raise AttributeError(f"backend {self.__dict__.get('name', '?')!r} has no kernel "
                             f"{name!r}")

    def __repr__(self) -> str:
        return f"<Backend {self.name!r}: {', '.join(self.kernels)}>"


_loaded: dict[str, Backend] = {}
_current: Backend | None = None  # None: not chosen yet, resolved from the environment on first use


def _check_name(name: object, source: str = "backend") -> str:
    if not isinstance(name, str) or name not in IMPLEMENTATION_MODULE:
        valid = ", ".join(repr(n) for n in BACKEND_NAMES)
        raise UnknownBackendError(f"unknown {source} {name!r}; valid backends are {valid}")
    return name


def load_backend(name: str) -> Backend:
    """Import backend ``name`` (once) and return it.

    Raises ``ValueError`` for an unknown name and
    :class:`BackendUnavailableError` when the backend cannot be loaded here.
    """
    _check_name(name)
    backend = _loaded.get(name)
    if backend is None:
        backend = _loaded[name] = Backend(name)
    return backend


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


def current() -> Backend:
    """The backend in use (what ``Tensor`` ops call): ``current().matmul(a, b)``."""
    global _current
    if _current is None:
        _current = load_backend(_check_name(os.environ.get(ENV_VAR) or DEFAULT_BACKEND,
                                            f"backend in ${ENV_VAR}"))
    return _current


def get_backend() -> str:
    """Name of the backend in use (``TINYTORCH_BACKEND`` or ``"numpy"`` until set)."""
    return current().name


def set_backend(name: str) -> None:
    """Make ``name`` the backend every kernel call goes through.

    The backend is loaded first, so an unavailable backend raises here (with
    the reason and how to fix it) and the current one stays in place.
    """
    global _current
    _current = load_backend(name)


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

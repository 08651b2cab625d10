"""Conformance cases: every kernel of every family, on awkward inputs, against the spec.

Each family folder has a ``cases.py`` whose ``CASES`` maps kernel names to a
list of :class:`Case`, and its ``MODULES`` names the module whose exercise
writes each kernel's loop specification. ``tests/test_15_backend_conformance.py``
runs the cases of every kernel up to Module 15 on every backend and compares
with the loop specification run in float64 (or a case's own reference); the
kernels of a later module (decode attention 16, int8 17, sparse 18) are checked
the same way by that module's tests, so a student who finished Module 15 and
nothing later passes Module 15. A new family is picked up without editing a test.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinytorch.backends import families, load_backend

__all__ = ["Case", "all_cases", "check_case", "kernel_modules", "loop_reference", "module_cases",
           "torch_kernels"]


@dataclass(frozen=True)
class Case:
    """``make(rng)`` returns the positional arguments of one call of the kernel.

    ``reference(*args)`` gives the expected result; by default the loop spec in
    float64. ``tol`` is the relative and absolute tolerance for float32 results.
    """

    id: str
    make: Callable[[np.random.Generator], tuple]
    tol: float = 1e-4
    reference: Callable[..., Any] | None = None


def _to_float64(value: Any) -> Any:
    if isinstance(value, np.ndarray) and value.dtype == np.float32:
        return value.astype(np.float64)
    return value


def loop_reference(kernel: str) -> Callable[..., Any]:
    """The loop specification of ``kernel``, run on float64 copies of float32 inputs."""
    spec = getattr(load_backend("loop"), kernel)

    def reference(*args: Any) -> Any:
        return spec(*(_to_float64(a) for a in args))

    return reference


def all_cases() -> dict[str, dict[str, list[Case]]]:
    """family -> kernel -> cases, from every family's ``cases.py``."""
    return {name: importlib.import_module(f"{package.__name__}.cases").CASES
            for name, package in families().items()}


def kernel_modules() -> dict[str, dict[str, int]]:
    """family -> kernel -> the module whose exercise writes the kernel's loop spec."""
    return {name: dict(package.MODULES) for name, package in families().items()}


def module_cases(first: int, last: int) -> list[tuple[str, str, Case]]:
    """(family, kernel, case) for every kernel written in Modules ``first``..``last``."""
    modules = kernel_modules()
    return [(family, kernel, case)
            for family, kernels in all_cases().items() for kernel, cases in kernels.items()
            if first <= modules[family][kernel] <= last for case in cases]


def check_case(backend_name: str, kernel: str, case: Case) -> None:
    """Run ``case`` on one backend and assert it agrees with its reference: same shapes,
    float32 kept float32, floats within ``case.tol``, integers (indices, codes) exact."""
    args = case.make(np.random.default_rng(7))
    got = getattr(load_backend(backend_name), kernel)(*args)
    want = (case.reference or loop_reference(kernel))(*args)
    if not isinstance(got, tuple):  # max_pool2d returns (values, indices)
        got, want = (got,), (want,)
    for g, w in zip(got, want, strict=True):
        if w is None:  # e.g. no weight gradient without a weight
            assert g is None
            continue
        assert g.shape == w.shape, f"{backend_name}.{kernel}: shape {g.shape}, want {w.shape}"
        if w.dtype.kind == "f":
            assert g.dtype == np.float32, f"{backend_name}.{kernel} changed dtype to {g.dtype}"
            np.testing.assert_allclose(g, w, rtol=case.tol, atol=case.tol)
        else:
            np.testing.assert_array_equal(g, w)


def torch_kernels() -> dict[str, Callable[..., Any]]:
    """kernel name -> the same computation in PyTorch (for benchmarks), where a family
    defines one in its ``cases.torch_kernels()``; empty without torch."""
    if importlib.util.find_spec("torch") is None:
        return {}
    found: dict[str, Callable[..., Any]] = {}
    for package in families().values():
        module = importlib.import_module(f"{package.__name__}.cases")
        if hasattr(module, "torch_kernels"):
            found.update(module.torch_kernels())
    return found

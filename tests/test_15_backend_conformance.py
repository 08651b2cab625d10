"""Module 15: every backend computes every kernel of every family, and they agree.

The cases live with their family (``backends/<family>/cases.py``): awkward
shapes -- 1x1, primes, sizes that are not multiples of any block, empty
batches, transposed operands. The loop backend is the specification; each
case compares a backend with the loop spec run in float64 (or the case's own
reference). A new family is picked up here without editing this file.

This file checks the kernels of Modules 02..15; the kernels a later module
writes (``MODULES`` in the family's ``__init__``) are checked by that module's
tests with the same :func:`check_case`, so Module 15 does not depend on them.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import backend_params
from tinytorch.backends import families, kernel_names, load_backend
from tinytorch.backends.conformance import all_cases, check_case, kernel_modules, module_cases

CASES = all_cases()


def test_every_kernel_of_every_family_has_conformance_cases_and_a_module():
    modules = kernel_modules()
    for name, family in families().items():
        declared = set(kernel_names(family.INTERFACE))
        assert set(CASES[name]) == declared, f"family {name}: cases for {sorted(CASES[name])}, " \
                                             f"kernels {sorted(declared)}"
        assert all(CASES[name][k] for k in declared), f"family {name} has a kernel without cases"
        assert set(modules[name]) == declared, f"family {name}: MODULES names " \
                                               f"{sorted(modules[name])}, kernels {sorted(declared)}"
        assert all(2 <= nn <= 20 for nn in modules[name].values()), modules[name]


@pytest.mark.parametrize("backend_name", backend_params())
@pytest.mark.parametrize("kernel,case", [
    pytest.param(kernel, case, id=f"{family}.{kernel}-{case.id}")
    for family, kernel, case in module_cases(1, 15)
])
def test_kernel_agrees_with_reference(backend_name, kernel, case):
    check_case(backend_name, kernel, case)


@pytest.mark.parametrize("backend_name", backend_params())
def test_float64_stays_float64(backend_name):
    """Gradchecks run in float64; no backend may silently drop to float32."""
    backend = load_backend(backend_name)
    a, b = np.ones((3, 4)), np.ones((4, 2))
    assert backend.matmul(a, b).dtype == np.float64
    assert backend.softmax(np.ones((2, 3)), -1).dtype == np.float64
    assert backend.log_softmax(np.ones((2, 3)), -1).dtype == np.float64

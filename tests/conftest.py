"""Shared test fixtures.

Tests are organised by module number (test_NN_name.py). PyTorch is the
oracle where installed (``torch`` fixture skips otherwise); finite-difference
gradchecks need nothing but TinyTorch.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch
from tinytorch.backends import BACKEND_NAMES, available_backends
from tinytorch.course.grade import NOT_APPLICABLE  # noqa: F401 (the reason prefix of a skip

# that cannot apply on this machine: `tinytorch grade` does not count it against a module)

AVAILABLE_BACKENDS = available_backends()


@pytest.fixture(autouse=True)
def _restore_backend_and_seed():
    """Every test starts on the default backend with a fixed seed, and leaves it so."""
    previous = tinytorch.get_backend()
    tinytorch.manual_seed(0)
    yield
    tinytorch.set_backend(previous)


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def backend_params():
    """pytest params for every backend; unavailable ones are reported as skipped."""
    return [pytest.param(name, marks=pytest.mark.skipif(
        name not in AVAILABLE_BACKENDS, reason=f"backend {name} is not available here"))
        for name in BACKEND_NAMES]


def conformance_params(module: int):
    """pytest params (kernel, case) for the conformance cases of the kernels Module
    ``module`` writes (see tinytorch.backends.conformance); run them with check_case."""
    from tinytorch.backends.conformance import module_cases
    return [pytest.param(kernel, case, id=f"{family}.{kernel}-{case.id}")
            for family, kernel, case in module_cases(module, module)]


@pytest.fixture(params=backend_params())
def backend(request):
    """Run the test once per backend, with that backend current."""
    with tinytorch.use_backend(request.param):
        yield request.param

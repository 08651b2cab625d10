"""`tinytorch bench`: its convolution cases compute the right thing on every backend."""

from __future__ import annotations

import numpy as np

from tinytorch.cli import bench


def test_conv_cases_agree_with_their_reference():
    cases = bench.conv_cases(quick=True)
    assert [c.name.split()[-1] for c in cases] == ["fwd", "bwd"]
    for case in cases:
        assert {"numpy", "native"} <= set(case.runners)
        for backend, run in case.runners.items():
            out = run(*case.inputs)
            scale = max(1.0, float(np.abs(case.reference).max()))
            np.testing.assert_allclose(out, case.reference, rtol=case.tol,
                                       atol=case.tol * scale, err_msg=f"{case.name} {backend}")

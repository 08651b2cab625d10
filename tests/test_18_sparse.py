"""Module 18: sparsity counts, CSR storage and the CSR x dense kernel on every backend."""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch as tt
from tests.conftest import backend_params, conformance_params
from tinytorch import nn
from tinytorch.backends import load_backend
from tinytorch.backends.conformance import check_case
from tinytorch.backends.sparse.cases import csr_from_dense
from tinytorch.compress import CSRMatrix, SparseLinear, prune, sparsity


def _sparse(rng, M, K, density):
    a = rng.standard_normal((M, K)).astype(np.float32)
    a[rng.random((M, K)) >= density] = 0
    return a


@pytest.mark.parametrize("density", [0.0, 0.01, 0.1, 0.5, 1.0])
@pytest.mark.parametrize("shape", [(1, 1, 1), (37, 50, 19), (64, 128, 96), (3, 5, 257)])
def test_csr_matmul_agrees_with_dense_on_every_backend(backend, rng, density, shape):
    M, K, N = shape
    a, b = _sparse(rng, M, K, density), rng.standard_normal((K, N)).astype(np.float32)
    got = CSRMatrix.from_dense(a) @ b
    assert got.dtype == np.float32 and got.shape == (M, N)
    np.testing.assert_allclose(got, a.astype(np.float64) @ b, rtol=1e-5, atol=1e-5)


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta")
def test_csr_matmul_matches_torch(torch, rng):
    a, b = _sparse(rng, 40, 70, 0.2), rng.standard_normal((70, 33)).astype(np.float32)
    t = torch.from_numpy(a).to_sparse_csr()
    m = CSRMatrix.from_dense(a)
    np.testing.assert_array_equal(m.row_ptr, t.crow_indices().numpy())
    np.testing.assert_array_equal(m.col_indices, t.col_indices().numpy())
    np.testing.assert_array_equal(m.values, t.values().numpy())
    with tt.use_backend("native") if "native" in tt.available_backends() else tt.use_backend(
            "numpy"):
        np.testing.assert_allclose(m @ b, (t @ torch.from_numpy(b)).numpy(), rtol=1e-5,
                                   atol=1e-5)


def test_float64_stays_float64(backend, rng):
    a, b = _sparse(rng, 6, 5, 0.5).astype(np.float64), rng.standard_normal((5, 4))
    got = load_backend(backend).csr_matmul(*csr_from_dense(a), b)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, a @ b, rtol=1e-12)


def test_csr_round_trip_and_bytes(rng):
    a = _sparse(rng, 30, 40, 0.1)
    m = CSRMatrix.from_dense(a)
    np.testing.assert_array_equal(m.to_dense(), a)
    nnz = int(np.count_nonzero(a))
    assert m.nnz == nnz and m.nbytes == 8 * nnz + 4 * 31
    assert m.density == pytest.approx(nnz / 1200)


@pytest.mark.parametrize("kernel_backend", ["loop", "numpy", "native"])
def test_bad_csr_is_rejected_with_a_clear_message(kernel_backend):
    if kernel_backend not in tt.available_backends():
        pytest.skip("native backend not built")
    kernel = load_backend(kernel_backend).csr_matmul
    b = np.ones((3, 2), dtype=np.float32)
    v = np.ones(2, dtype=np.float32)
    with pytest.raises(ValueError, match=r"col_indices must lie in \[0, 3\)"):
        kernel(v, np.array([0, 3], np.int32), np.array([0, 2], np.int32), b)
    with pytest.raises(ValueError, match="row_ptr must rise from 0 to nnz=2"):
        kernel(v, np.array([0, 1], np.int32), np.array([0, 1], np.int32), b)
    with pytest.raises(ValueError, match="row_ptr must rise"):
        kernel(v, np.array([0, 1], np.int32), np.array([0, 2, 1, 2], np.int32), b)
    with pytest.raises(ValueError, match="b must be 2-D"):
        kernel(v, np.array([0, 1], np.int32), np.array([0, 2], np.int32), np.ones(3, np.float32))


def test_native_binding_checks_indices_itself():
    """Even called directly (no Python checks in front), bad indices never reach memory."""
    ext = pytest.importorskip("tinytorch._native")
    b = np.ones((3, 2), dtype=np.float32)
    with pytest.raises(ValueError,
                       match=r"must lie in \[0, 3\) for b with 3 rows; col_indices\[1\] = -1"):
        ext.csr_matmul(np.ones(2, np.float32), np.array([0, -1], np.int32),
                       np.array([0, 2], np.int32), b)
    with pytest.raises(ValueError, match=r"it falls at row 1 \(3 -> 2\)"):
        ext.csr_matmul(np.ones(2, np.float32), np.array([0, 1], np.int32),
                       np.array([0, 3, 2], np.int32), b)
    with pytest.raises(TypeError, match="col_indices must have dtype int32"):
        ext.csr_matmul(np.ones(2, np.float32), np.array([0, 1], np.int64),
                       np.array([0, 2], np.int32), b)


def test_sparsity_per_layer_and_global():
    model = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 5))
    prune.l1_unstructured(model[0], "weight", amount=0.75)
    prune.l1_unstructured(model[2], "weight", amount=20)
    report = sparsity(model)
    assert report["0"].nonzero == 50 and report["0"].total == 200
    assert report["2"].nonzero == 80 and report["2"].sparsity == pytest.approx(0.2)
    assert report.nonzero == 130 and report.total == 300
    assert report.sparsity == pytest.approx(170 / 300)
    assert report.compression == pytest.approx(300 / 130)
    assert "global" in str(report)
    with_bias = sparsity(model, include_bias=True)
    assert with_bias.total == 325


def test_sparse_linear_equals_the_pruned_dense_layer(backend):
    tt.manual_seed(3)
    layer = nn.Linear(64, 48)
    prune.l1_unstructured(layer, "weight", amount=0.9)
    sparse = SparseLinear.from_linear(layer)
    x = tt.randn(5, 7, 64)
    with tt.no_grad():
        np.testing.assert_allclose(sparse(x).data, layer(x).data, rtol=1e-5, atol=1e-5)
    assert sparse.weight_csr.nnz == round(0.1 * 64 * 48)
    assert sparse.nbytes < (64 * 48 + 48) * 4 / 4  # 10% density: under a quarter of the bytes
    with pytest.raises(RuntimeError, match="inference layer"):
        sparse(tt.randn(2, 64, requires_grad=True))


@pytest.mark.parametrize("backend_name", backend_params())
@pytest.mark.parametrize("kernel,case", conformance_params(18))
def test_sparse_kernels_agree_with_the_loop_spec(backend_name, kernel, case):
    """The conformance cases of this module's kernels on every backend (as Module 15 does
    for the earlier ones)."""
    check_case(backend_name, kernel, case)

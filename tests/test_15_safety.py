"""Issue 15, reliability review: the native kernels' findings, one regression test each.

Every call that once crashed, hung or read uninitialised memory runs in a child
process (``run_isolated``), so a segfault or a stalled thread pool is a failed
test with the child's output, not a dead pytest. The children never start
pytest or tinytorch's CLI again (``TINYTORCH_SAFETY_CHILD`` guards it).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import tinytorch as tt
import tinytorch.nn.functional as F
from tinytorch.backends import available_backends, use_backend

BACKENDS = available_backends()
needs_native = pytest.mark.skipif("native" not in BACKENDS, reason="native backend not built")
CHILD_FLAG = "TINYTORCH_SAFETY_CHILD"


def run_isolated(code: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter (same flags, so a sanitizer run stays one)."""
    if os.environ.get(CHILD_FLAG):
        pytest.skip("already inside a safety child process")
    child_env = {**os.environ, CHILD_FLAG: "1", **env}
    flags = ["-S"] if sys.flags.no_site else []
    result = subprocess.run([sys.executable, *flags, "-c", textwrap.dedent(code)],
                            capture_output=True, text=True, timeout=timeout, env=child_env)
    assert result.returncode == 0, (
        f"child exited with {result.returncode}\nstdout:\n{result.stdout}\n"
        f"stderr:\n{result.stderr[-4000:]}")
    return result


# ---- K = 0: an empty sum must be zeros, never uninitialised memory -----------------------


@needs_native
def test_matmul_variant_with_k0_returns_zeros():
    run_isolated("""
        import numpy as np, tinytorch._native as ext
        for variant in ext.MATMUL_VARIANTS:
            for M, N in ((3, 5), (300, 200), (1, 1)):
                # fill the allocator's free blocks with garbage first
                junk = [np.full((M, N), 7.0, np.float32) for _ in range(8)]
                del junk
                c = ext.matmul_variant(np.ones((M, 0), np.float32), np.ones((0, N), np.float32),
                                       variant)
                assert c.shape == (M, N) and not c.any(), (variant, M, N, c)
        for f in (ext.matmul,):
            assert not f(np.ones((4, 0), np.float32), np.ones((0, 6), np.float32)).any()
        assert not ext.bmm(np.ones((2, 3, 0), np.float32), np.ones((2, 0, 4), np.float32)).any()
    """)


@needs_native
def test_conv_with_zero_channels_or_filters_returns_zeros():
    run_isolated("""
        import numpy as np, tinytorch._native as ext
        junk = [np.full((2, 3, 4, 4), 7.0, np.float32) for _ in range(8)]
        del junk
        y = ext.conv2d(np.ones((2, 0, 6, 6), np.float32), np.ones((3, 0, 3, 3), np.float32),
                       (1, 1), (0, 0), (1, 1))
        assert y.shape == (2, 3, 4, 4) and not y.any(), y
        gx = ext.conv2d_backward_input(np.ones((2, 0, 4, 4), np.float32),
                                       np.ones((0, 3, 3, 3), np.float32), (6, 6), (1, 1),
                                       (0, 0), (1, 1))
        assert gx.shape == (2, 3, 6, 6) and not gx.any(), gx
    """)


# ---- threads: never more than the CPUs, whatever is asked --------------------------------


@needs_native
@pytest.mark.parametrize("bad", [0, -1, 100000, 2**31, 2**64])
def test_set_num_threads_rejects_counts_outside_the_cpus(bad):
    from tinytorch.backends.native_support import ext

    with pytest.raises(ValueError, match="between 1 and the .* CPUs"):
        ext.set_num_threads(bad)
    with pytest.raises(TypeError, match="must be an int"):
        ext.set_num_threads(2.0)
    assert 1 <= ext.get_num_threads() <= ext.cpu_count()


@needs_native
def test_huge_thread_requests_then_matmul_does_not_crash():
    run_isolated("""
        import numpy as np, tinytorch._native as ext
        try:
            ext.set_num_threads(100000)
        except ValueError:
            pass
        a = np.random.default_rng(0).standard_normal((300, 300)).astype(np.float32)
        np.testing.assert_allclose(ext.matmul(a, a), a.astype(np.float64) @ a, rtol=1e-4,
                                   atol=1e-3)
    """, timeout=60)


@needs_native
def test_omp_num_threads_above_the_cpus_is_capped():
    result = run_isolated("""
        import os, numpy as np, tinytorch._native as ext
        assert ext.get_num_threads() <= ext.cpu_count() <= (os.cpu_count() or 1)
        assert ext.build_info()["max_threads"] <= ext.cpu_count()
        a = np.random.default_rng(0).standard_normal((300, 300)).astype(np.float32)
        np.testing.assert_allclose(ext.matmul(a, a), a.astype(np.float64) @ a, rtol=1e-4,
                                   atol=1e-3)
        x = np.ones((512, 512), np.float32)  # large enough for softmax's own omp loop
        np.testing.assert_allclose(ext.softmax(x), np.full_like(x, 1 / 512), rtol=1e-6)
        print(ext.get_num_threads())
    """, timeout=60, OMP_NUM_THREADS="100000")
    assert int(result.stdout.split()[-1]) <= (os.cpu_count() or 1)


@pytest.mark.parametrize("threads", ["100000", "2147483648", "0", "-3", "two"])
def test_bench_threads_is_range_checked_before_any_work(threads, capsys):
    from tinytorch.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--quick", "--threads", threads])
    assert exit_info.value.code == 2
    assert "--threads" in capsys.readouterr().err


# ---- bindings: overflow and alignment are checked before memory is touched ---------------


@needs_native
def test_max_pool_backward_plane_size_overflow_is_rejected():
    from tinytorch.backends.native_support import ext

    grad = np.ones((1, 1, 1, 1), np.float32)
    indices = np.zeros((1, 1, 1, 1), np.int64)
    # 2**32 * (2**32 + 1) wraps int64 to 2**32: indices below that used to pass the check
    with pytest.raises(ValueError, match="overflows int64"):
        ext.max_pool2d_backward(grad, indices, (2**32 + 1, 2**32))
    with pytest.raises(ValueError, match="overflows int64"):
        ext.max_pool2d_backward(grad, indices, (3037000500, 3037000500))


def _misaligned(shape: tuple[int, ...]) -> np.ndarray:
    count = int(np.prod(shape))
    buffer = bytearray(count * 4 + 1)
    a = np.ndarray(shape, np.float32, buffer, offset=1)
    a[...] = np.arange(count, dtype=np.float32).reshape(shape) / count
    assert not a.flags.aligned
    return a


@needs_native
def test_misaligned_float32_is_rejected_by_the_bindings():
    from tinytorch.backends.native_support import ext

    a = _misaligned((40, 40))
    with pytest.raises(ValueError, match="not aligned to 4 bytes"):
        ext.matmul(a, np.ones((40, 40), np.float32))
    with pytest.raises(ValueError, match="not aligned"):
        ext.matmul(np.ones((40, 40), np.float32), a)
    for variant in ext.MATMUL_VARIANTS:
        with pytest.raises(ValueError, match="not aligned"):
            ext.matmul_variant(a, a, variant)
    with pytest.raises(ValueError, match="not aligned"):
        ext.softmax(a)
    with pytest.raises(ValueError, match="not aligned"):
        ext.conv2d(_misaligned((1, 1, 6, 6)), np.ones((1, 1, 3, 3), np.float32), (1, 1),
                   (0, 0), (1, 1))
    with pytest.raises(ValueError, match="not aligned"):
        ext.max_pool2d(_misaligned((1, 1, 6, 6)), (2, 2), (2, 2), (0, 0))


@pytest.mark.parametrize("backend", BACKENDS)
def test_misaligned_float32_is_copied_by_the_public_api(backend):
    a = _misaligned((40, 40))
    expected = np.array(a, dtype=np.float64) @ np.array(a, dtype=np.float64).T
    with use_backend(backend):
        got = (tt.tensor(a) @ tt.tensor(a).T).numpy()
        soft = tt.tensor(a).softmax(-1).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    e = np.exp(np.array(a, np.float64) - np.array(a, np.float64).max(-1, keepdims=True))
    np.testing.assert_allclose(soft, e / e.sum(-1, keepdims=True), rtol=1e-5, atol=1e-7)


# ---- semantics shared with PyTorch --------------------------------------------------------

NAN = float("nan")


@pytest.mark.parametrize("backend", BACKENDS)
def test_max_pool_reports_the_last_nan_of_a_window(backend):
    # window [[nan, 1], [nan, 2]]: PyTorch's kernel lets every NaN take over -> index 2
    x = np.array([[[[NAN, 1.0], [NAN, 2.0]]]], np.float32)
    # 3x3 windows with padding: output (0, 1) sees the NaNs at (0,0), (1,0), (1,2) -> the
    # last is 1*3+2 = 5; output (0, 0) sees only (0,0), (1,0) -> 3
    x3 = np.array([[[[NAN, 1, 5], [NAN, 2, NAN], [0, 0, 0]]]], np.float32)
    with use_backend(backend):
        xt = tt.tensor(x, requires_grad=True)
        y, indices = F.max_pool2d(xt, 2, return_indices=True)
        y.sum().backward()
        _, indices3 = F.max_pool2d(tt.tensor(x3), 3, stride=1, padding=1, return_indices=True)
    assert np.isnan(y.numpy()).all()
    assert indices.numpy().ravel().tolist() == [2]
    np.testing.assert_array_equal(xt.grad.numpy(), [[[[0, 0], [1, 0]]]])
    assert indices3.numpy()[0, 0, 0, :2].tolist() == [3, 5]
    torch = pytest.importorskip("torch")
    for array, kwargs in ((x, {"kernel_size": 2}),
                          (x3, {"kernel_size": 3, "stride": 1, "padding": 1})):
        with use_backend(backend):
            _, mine = F.max_pool2d(tt.tensor(array), return_indices=True, **kwargs)
        _, theirs = torch.nn.functional.max_pool2d(torch.from_numpy(array), return_indices=True,
                                                   **kwargs)
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shape,dim", [((3, 0), -1), ((0,), 0), ((2, 0, 4), 1), ((0, 5), 0)])
def test_softmax_over_a_zero_length_axis_is_empty(backend, shape, dim):
    with use_backend(backend):
        x = tt.tensor(np.zeros(shape, np.float32), requires_grad=True)
        y, z = x.softmax(dim), x.log_softmax(dim)
        (y.sum() + z.sum()).backward()
    assert y.shape == shape and z.shape == shape and x.grad.shape == shape


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("hw", [(0, 5), (5, 0), (0, 0)])
def test_empty_plane_is_rejected_even_with_padding(backend, hw):
    x = tt.tensor(np.zeros((1, 1, *hw), np.float32))
    w = tt.tensor(np.zeros((1, 1, 3, 3), np.float32))
    with use_backend(backend):
        with pytest.raises(ValueError, match="height and width must be >= 1"):
            F.conv2d(x, w, padding=2)
        with pytest.raises(ValueError, match="height and width must be >= 1"):
            F.max_pool2d(x, 2, padding=1)
        with pytest.raises(ValueError, match="height and width must be >= 1"):
            F.avg_pool2d(x, 2, padding=1)


@needs_native
def test_empty_plane_is_rejected_by_the_bindings():
    from tinytorch.backends.native_support import ext

    x = np.zeros((1, 1, 0, 5), np.float32)
    with pytest.raises(ValueError, match="height and width must be >= 1"):
        ext.conv2d(x, np.zeros((1, 1, 3, 3), np.float32), (1, 1), (2, 2), (1, 1))
    with pytest.raises(ValueError, match="height and width must be >= 1"):
        ext.max_pool2d(x, (2, 2), (2, 2), (1, 1))
    with pytest.raises(ValueError, match="height and width must be >= 1"):
        ext.avg_pool2d(x, (2, 2), (2, 2), (1, 1))

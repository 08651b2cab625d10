"""Module 02 Tensor: construction, dtypes, forward values and clear errors."""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch as tt
from tests._ops_table import OP_CASES


def test_default_dtypes_follow_pytorch():
    assert tt.tensor([1.0, 2.0]).dtype == np.float32
    assert tt.tensor([1, 2]).dtype == np.int64
    assert tt.tensor([True, False]).dtype == np.bool_
    assert tt.tensor(np.zeros(3, dtype=np.float64)).dtype == np.float64  # arrays keep dtype
    assert tt.tensor([1, 2], dtype=tt.float32).dtype == np.float32
    assert tt.zeros(2, 3).dtype == np.float32 and tt.zeros(2, 3).shape == (2, 3)
    assert tt.arange(5).dtype == np.int64 and tt.arange(0.0, 1.0, 0.25).dtype == np.float32


def test_properties():
    t = tt.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert t.shape == (2, 3) and t.ndim == 2 and t.dim() == 2
    assert t.size() == (2, 3) and t.size(1) == 3 and t.numel() == 6
    assert t.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert isinstance(t.numpy(), np.ndarray)
    assert t.sum().item() == 21.0
    assert len(t) == 2 and [row.shape for row in t] == [(3,), (3,)]
    assert "tensor([[1., 2., 3.]" in repr(t)
    assert "requires_grad=True" in repr(tt.ones(2, requires_grad=True))


def test_tensor_copies_but_from_numpy_shares():
    a = np.zeros(3, dtype=np.float32)
    t, s = tt.tensor(a), tt.from_numpy(a)
    a[0] = 5
    assert t.data[0] == 0 and s.data[0] == 5


def test_factories():
    tt.manual_seed(3)
    r1 = tt.randn(4, 5)
    tt.manual_seed(3)
    r2 = tt.randn(4, 5)
    np.testing.assert_array_equal(r1.data, r2.data)
    assert tt.rand(1000).data.min() >= 0 and tt.rand(1000).data.max() < 1
    np.testing.assert_array_equal(tt.eye(3).data, np.eye(3))
    np.testing.assert_array_equal(tt.full((2, 2), 7.0).data, np.full((2, 2), 7.0))
    assert tt.full((2,), 3).dtype == np.int64
    ref = tt.ones(2, 3, dtype=tt.float64)
    for like in (tt.zeros_like, tt.ones_like, tt.rand_like, tt.randn_like):
        out = like(ref)
        assert out.shape == (2, 3) and out.dtype == np.float64
    assert tt.full_like(ref, 2.0).data.sum() == 12.0
    np.testing.assert_array_equal(tt.arange(1, 7, 2).data, [1, 3, 5])
    assert tt.zeros((2, 3)).shape == (2, 3)


@pytest.mark.parametrize("case", OP_CASES, ids=lambda c: c.name)
def test_forward_matches_numpy_semantics_in_float64(case, rng):
    """Every op's forward, in float64, against a float64 PyTorch or NumPy result."""
    arrays = case.inputs(rng, np.float64)
    out = case.fn(tt, *[tt.tensor(a) for a in arrays])
    assert out.dtype == np.float64
    torch = pytest.importorskip("torch")
    want = case.fn(torch, *[torch.tensor(a) for a in arrays]).numpy()
    np.testing.assert_allclose(out.data, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", OP_CASES, ids=lambda c: c.name)
def test_forward_float32_matches_torch(case, rng, torch):
    arrays = case.inputs(rng)
    out = case.fn(tt, *[tt.tensor(a) for a in arrays])
    want = case.fn(torch, *[torch.tensor(a) for a in arrays]).numpy()
    assert out.dtype == np.float32
    assert out.shape == want.shape
    np.testing.assert_allclose(out.data, want, rtol=case.rtol, atol=case.rtol)


def test_comparisons_give_bool_tensors():
    a = tt.tensor([1.0, 2.0, 3.0])
    for result, want in ((a > 2, [False, False, True]), (a >= 2, [False, True, True]),
                         (a < 2, [True, False, False]), (a <= 2, [True, True, False]),
                         (a == 2, [False, True, False]), (a != 2, [True, False, True])):
        assert result.dtype == np.bool_ and result.tolist() == want
        assert not result.requires_grad


def test_argmax_argmin():
    a = tt.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    assert a.argmax().item() == 3
    assert a.argmax(dim=1).tolist() == [1, 0]
    assert a.argmin(dim=0, keepdim=True).tolist() == [[0, 1, 0]]
    assert a.argmax(dim=1).dtype == np.int64
    values, indices = a.max(dim=1)
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0]


def test_scalar_operands_keep_float32():
    a = tt.ones(3)
    for out in (a + 1, 2 * a, a / 3.0, a ** 2, 1.5 - a, a * np.float64(2.0)):
        assert out.dtype == np.float32


_PROMOTION_CASES = [  # (name, op) applied to (tinytorch, torch) alike
    ("int_times_float", lambda lib: lib.tensor([1, 2]) * 2.5),
    ("int_div_int", lambda lib: lib.tensor([1, 2]) / lib.tensor([2, 2])),
    ("int_div_scalar", lambda lib: lib.tensor([1, 2]) / 2),
    ("int_plus_float_tensor", lambda lib: lib.tensor([1, 2]) + lib.tensor([0.5, 0.5])),
    ("float32_plus_0d_float64", lambda lib: lib.ones(2) + lib.tensor(1.0, dtype=lib.float64)),
    ("int_plus_0d_float32", lambda lib: lib.tensor([1, 2]) + lib.tensor(1.5)),
    ("int_pow_float", lambda lib: lib.tensor([1, 4]) ** 0.5),
    ("rsub_int", lambda lib: 1.5 - lib.tensor([1, 2])),
    ("exp_int", lambda lib: lib.tensor([0, 1]).exp()),
    ("sqrt_int", lambda lib: lib.tensor([4, 9]).sqrt()),
    ("log_int", lambda lib: lib.tensor([1, 2]).log()),
    ("clamp_int_float_bound", lambda lib: lib.tensor([1, 2]).clamp(min=1.5)),
    ("where_python_floats", lambda lib: lib.where(lib.tensor([True, False]), 1.0, 0.0)),
    ("where_int_and_float", lambda lib: lib.where(lib.tensor([True, False]),
                                                  lib.tensor([1, 2]), 0.5)),
    ("cat_float_int", lambda lib: lib.cat([lib.tensor([1.0]), lib.tensor([2])])),
    ("stack_float_int", lambda lib: lib.stack([lib.tensor([1.0]), lib.tensor([2])])),
    ("bool_plus_int", lambda lib: lib.tensor([True, False]) + 1),
]


@pytest.mark.parametrize("name, op", _PROMOTION_CASES, ids=[c[0] for c in _PROMOTION_CASES])
def test_dtype_promotion_matches_torch(name, op, torch):
    """PyTorch promotes by category (bool < int < float), not by size like NumPy: int64
    with a float is float32, and a 0-d float64 tensor does not widen a float32 one."""
    got, want = op(tt), op(torch)
    assert str(got.dtype) == str(want.dtype).removeprefix("torch.")
    np.testing.assert_allclose(got.data, want.numpy(), rtol=1e-6)


def test_zero_d_tensors_accept_dim_0_and_minus_1(torch):
    for method in ("sum", "mean", "argmax", "argmin", "squeeze"):  # softmax: Module 03
        got, want = getattr(tt.tensor(3.0), method)(0), getattr(torch.tensor(3.0), method)(-1)
        assert got.shape == () and got.item() == pytest.approx(want.item())
    values, indices = tt.tensor(3.0).max(dim=-1)
    assert values.item() == 3.0 and indices.item() == 0
    assert tt.tensor(3.0).sum(dim=0, keepdim=True).shape == ()
    assert tt.tensor(3.0).transpose(0, -1).item() == 3.0
    with pytest.raises(IndexError, match="dim 1 is out of range"):
        tt.tensor(3.0).sum(dim=1)


def test_reduction_over_empty_dim_tuple_reduces_everything(torch):
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    for method in ("sum", "mean", "var"):
        got, want = getattr(tt.tensor(x), method)(dim=()), getattr(torch.tensor(x), method)(
            dim=())
        assert got.shape == () and got.item() == pytest.approx(want.item())


def test_squeeze_accepts_a_tuple_of_dims():
    assert tt.ones(1, 2, 1, 1).squeeze((0, 2)).shape == (2, 1)
    assert tt.ones(1, 2, 1).squeeze((1, -1)).shape == (1, 2)  # size-2 dim is left alone


def test_var_std_positional_arguments_follow_torch(torch):
    """torch's order is var(dim, unbiased, keepdim): x.var(0, False) is the biased variance."""
    x = np.array([[1.0, 2.0], [3.0, 5.0]], dtype=np.float32)
    for method in ("var", "std"):
        for args in ((0, False), (1, True, True), (1, False, False)):
            got, want = getattr(tt.tensor(x), method)(*args), getattr(torch.tensor(x), method)(
                *args)
            assert got.shape == tuple(want.shape)
            np.testing.assert_allclose(got.data, want.numpy(), rtol=1e-6)


def test_setitem_and_inplace_helpers():
    a = tt.zeros(2, 3)
    a[0, 1] = 5.0
    a[1] = tt.tensor([1.0, 2.0, 3.0])
    assert a.tolist() == [[0.0, 5.0, 0.0], [1.0, 2.0, 3.0]]
    a.fill_(2.0)
    assert a.sum().item() == 12.0
    a.zero_()
    assert a.sum().item() == 0.0


# ---- clear errors -----------------------------------------------------------------

def test_incompatible_shapes_name_both():
    with pytest.raises(ValueError, match=r"add: shapes \(2, 3\) and \(4,\)"):
        tt.ones(2, 3) + tt.ones(4)
    with pytest.raises(ValueError, match=r"mul: shapes \(2, 3\) and \(2, 2\)"):
        tt.ones(2, 3) * tt.ones(2, 2)


def test_matmul_errors_name_both_shapes():
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(4, 5\)"):
        tt.ones(2, 3) @ tt.ones(4, 5)
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 2, 3\) and \(3, 3, 4\)"):
        tt.ones(2, 2, 3) @ tt.ones(3, 3, 4)
    with pytest.raises(ValueError, match="at least 1 dimension"):
        tt.tensor(2.0) @ tt.ones(2)


def test_other_errors():
    with pytest.raises(ValueError, match=r"cannot reshape a tensor of shape \(2, 3\)"):
        tt.ones(2, 3).reshape(4, 2)
    with pytest.raises(ValueError, match="only one-element tensors"):
        tt.ones(2).item()
    with pytest.raises(IndexError, match=r"shape \(2, 3\)"):
        tt.ones(2, 3)[5]
    with pytest.raises(IndexError, match="dim 3 is out of range"):
        tt.ones(2, 3).sum(dim=3)
    with pytest.raises(ValueError, match="not a permutation"):
        tt.ones(2, 3).permute(0, 0)
    with pytest.raises(ValueError, match="cat: shapes"):
        tt.cat([tt.ones(2, 3), tt.ones(3, 3)], dim=1)
    with pytest.raises(ValueError, match="stack: all tensors must have the same shape"):
        tt.stack([tt.ones(2), tt.ones(3)])
    with pytest.raises(TypeError, match="mask must be a bool"):
        tt.ones(2).masked_fill(tt.tensor([1, 0]), 0.0)
    with pytest.raises(TypeError, match="rectangular"):
        tt.tensor([[1.0, 2.0], [3.0]])
    with pytest.raises(RuntimeError, match="floating-point"):
        tt.tensor([1, 2], requires_grad=True)
    with pytest.raises(ValueError, match=r"equal: shapes \(2,\) and \(3,\) cannot be broadcast"):
        _ = tt.ones(2) == tt.ones(3)
    with pytest.raises(ValueError, match=r"less: shapes \(2, 3\) and \(2,\)"):
        _ = tt.ones(2, 3) < np.ones(2)


# ---- property-based: broadcasting agrees with NumPy for any compatible shapes ---------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=4),
       op=st.sampled_from(["add", "sub", "mul"]))
def test_broadcasting_matches_numpy(shapes, op):
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal(s).astype(np.float32) for s in shapes.input_shapes)
    got = getattr(tt.tensor(a), op)(tt.tensor(b))
    np.testing.assert_allclose(got.data, getattr(np, {"sub": "subtract", "mul": "multiply"}
                                                 .get(op, op))(a, b), rtol=1e-6)


def test_non_numeric_operands_raise_type_error():
    with pytest.raises(TypeError, match="unsupported operand"):
        tt.ones(2) + "a"
    with pytest.raises(TypeError, match="unsupported operand"):
        tt.ones(2, 2) @ "a"
    with pytest.raises(IndexError, match="transpose: dim 5"):
        tt.ones(2, 3).transpose(0, 5)

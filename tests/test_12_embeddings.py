"""Module 12: embeddings -- F.embedding / nn.Embedding and positional encodings.

The lookup and its scatter-add backward against PyTorch (repeated ids must
accumulate, the padding row gets nothing), finite differences in float64, the
initialisation, the error messages, and the sinusoidal table against the
formula of Vaswani et al. written out element by element.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinytorch as tt
import tinytorch.nn.functional as F
from tinytorch import nn
from tinytorch.autograd import gradcheck
from tinytorch.nn.functional.embedding import scatter_add_rows


def _ids(rng, shape, n):
    return rng.integers(0, n, size=shape).astype(np.int64)


@pytest.mark.parametrize("shape,padding_idx", [((4,), None), ((3, 5), None), ((2, 3, 4), 2),
                                               ((6,), -1), ((0,), None)])
def test_embedding_forward_and_grad_match_torch(torch, shape, padding_idx):
    rng = np.random.default_rng(0)
    weight = rng.standard_normal((7, 5)).astype(np.float32)
    ids = _ids(rng, shape, 7)
    if ids.size:
        ids.reshape(-1)[:3] = 2  # the same row read several times: its gradient must add up
    wt = torch.tensor(weight, requires_grad=True)
    ref = torch.nn.functional.embedding(torch.tensor(ids), wt, padding_idx=padding_idx)
    g = rng.standard_normal(tuple(ref.shape)).astype(np.float32)
    ref.backward(torch.tensor(g))
    w = tt.Tensor(weight.copy(), requires_grad=True)
    out = F.embedding(tt.Tensor(ids), w, padding_idx=padding_idx)
    out.backward(g)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=0, atol=0)
    np.testing.assert_allclose(w.grad.data, wt.grad.numpy(), rtol=1e-6, atol=1e-6)
    assert out.shape == shape + (5,) and w.grad.dtype == np.float32


def test_repeated_ids_accumulate_and_padding_row_gets_zero():
    w = tt.Tensor(np.ones((4, 2), dtype=np.float32), requires_grad=True)
    F.embedding(tt.tensor([[1, 1, 3], [1, 0, 0]]), w, padding_idx=0).sum().backward()
    np.testing.assert_array_equal(w.grad.data, [[0, 0], [3, 3], [0, 0], [1, 1]])


def test_scatter_add_rows_equals_add_at():
    rng = np.random.default_rng(1)
    ids = rng.integers(0, 50, size=1000)
    rows = rng.standard_normal((1000, 8))
    want = np.zeros((60, 8))
    np.add.at(want, ids, rows)
    np.testing.assert_allclose(scatter_add_rows(ids, rows, 60), want, rtol=1e-12, atol=1e-12)
    assert not scatter_add_rows(np.zeros(0, np.int64), np.zeros((0, 8)), 3).any()


def test_embedding_gradcheck_float64():
    rng = np.random.default_rng(2)
    ids = tt.Tensor(_ids(rng, (3, 4), 5))
    w = tt.Tensor(rng.standard_normal((5, 3)), requires_grad=True)
    # (not with padding_idx: its row is used in forward but frozen by design, as in PyTorch)
    assert gradcheck(lambda weight: F.embedding(ids, weight), [w])


def test_embedding_layer_init_and_repr(torch):
    tt.manual_seed(0)
    emb = nn.Embedding(1000, 64)
    assert emb.weight.shape == (1000, 64) and emb.weight.dtype == np.float32
    assert abs(float(emb.weight.data.mean())) < 0.01 and abs(emb.weight.data.std() - 1) < 0.01
    padded = nn.Embedding(10, 3, padding_idx=-2)
    assert padded.padding_idx == 8 and not padded.weight.data[8].any()
    assert repr(padded) == repr(torch.nn.Embedding(10, 3, padding_idx=-2))
    assert repr(emb) == repr(torch.nn.Embedding(1000, 64))
    assert list(emb.state_dict()) == ["weight"]


def test_embedding_layer_matches_torch_with_copied_weights(torch):
    emb = nn.Embedding(9, 4, padding_idx=3)
    ref = torch.nn.Embedding(9, 4, padding_idx=3)
    ref.load_state_dict({"weight": torch.tensor(emb.weight.data)})
    ids = np.array([[3, 1, 8], [1, 1, 0]])
    ref(torch.tensor(ids)).pow(2).sum().backward()
    out = emb(tt.Tensor(ids))
    (out * out).sum().backward()
    np.testing.assert_allclose(out.data, ref(torch.tensor(ids)).detach().numpy())
    np.testing.assert_allclose(emb.weight.grad.data, ref.weight.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("ids,message", [
    ([0, 7], "index 7 is out of range for a table of 7 rows"),
    ([-1, 2], "index -1 is out of range for a table of 7 rows"),
])
def test_bad_indices_name_the_index_and_the_table(ids, message):
    with pytest.raises(IndexError, match=message):
        F.embedding(tt.tensor(ids), tt.zeros(7, 2))


def test_non_integer_ids_and_bad_arguments_are_rejected():
    with pytest.raises(TypeError, match="integer tensor"):
        F.embedding(tt.tensor([0.0, 1.0]), tt.zeros(3, 2))
    with pytest.raises(ValueError, match="2-D"):
        F.embedding(tt.tensor([0]), tt.zeros(3))
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(4, 2, padding_idx=4)
    with pytest.raises(ValueError, match="num_embeddings must be a positive int"):
        nn.Embedding(0, 2)


def test_sinusoidal_table_matches_the_formula():
    for max_len, dim in ((6, 8), (5, 7), (3, 1)):
        table = nn.sinusoidal_positional_encoding(max_len, dim).data
        assert table.shape == (max_len, dim) and table.dtype == np.float32
        for pos in range(max_len):
            for j in range(dim):
                angle = pos / 10000 ** (2 * (j // 2) / dim)
                want = math.sin(angle) if j % 2 == 0 else math.cos(angle)
                assert table[pos, j] == pytest.approx(want, abs=1e-6)


def test_sinusoidal_module_adds_the_first_rows_and_is_not_saved():
    pe = nn.SinusoidalPositionalEncoding(10, 4)
    x = tt.randn(2, 3, 4, requires_grad=True)
    out = pe(x)
    np.testing.assert_allclose(out.data, x.data + nn.sinusoidal_positional_encoding(10, 4).data[:3])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.ones((2, 3, 4)))
    assert pe.state_dict() == {} and "pe" in dict(pe.named_buffers())
    with pytest.raises(ValueError, match="sequence length 11 exceeds max_len=10"):
        pe(tt.zeros(1, 11, 4))
    with pytest.raises(ValueError, match=r"expected input of shape \(B, T, 4\)"):
        pe(tt.zeros(1, 3, 5))
    with pytest.raises(ValueError, match="dim must be a positive int"):
        nn.sinusoidal_positional_encoding(4, 0)

"""One table of differentiable Tensor ops, written once for both libraries.

Each case is ``fn(lib, *tensors)`` where ``lib`` is ``tinytorch`` or
``torch``: the API is the same, so one lambda states the op for TinyTorch,
for PyTorch (the oracle) and for the finite-difference gradcheck.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass
class OpCase:
    name: str
    fn: Callable
    shapes: tuple[tuple[int, ...], ...]
    positive: bool = False        # inputs must be > 0 (log, sqrt, pow base)
    rtol: float = 1e-5            # float32 vs torch; reductions get 1e-4
    extra: dict = field(default_factory=dict)

    def inputs(self, rng: np.random.Generator, dtype=np.float32) -> list[np.ndarray]:
        arrays = []
        for shape in self.shapes:
            x = rng.standard_normal(shape)
            if self.positive:
                x = np.abs(x) + 0.5
            arrays.append(x.astype(dtype))
        return arrays


def _mask(lib, a):
    return a > 0.3


OP_CASES = [
    OpCase("add", lambda lib, a, b: a + b, ((3, 4), (3, 4))),
    OpCase("add_broadcast", lambda lib, a, b: a + b, ((2, 3, 4), (3, 1))),
    OpCase("radd_scalar", lambda lib, a: 2.5 + a, ((3, 4),)),
    OpCase("sub", lambda lib, a, b: a - b, ((3, 4), (4,))),
    OpCase("rsub_scalar", lambda lib, a: 1.0 - a, ((5,),)),
    OpCase("mul", lambda lib, a, b: a * b, ((3, 4), (3, 4))),
    OpCase("mul_broadcast", lambda lib, a, b: a * b, ((4, 1, 3), (1, 5, 3))),
    OpCase("div", lambda lib, a, b: a / b, ((3, 4), (3, 4)), positive=True),
    OpCase("rdiv_scalar", lambda lib, a: 2.0 / a, ((3, 4),), positive=True),
    OpCase("pow_scalar", lambda lib, a: a ** 3, ((3, 4),)),
    OpCase("pow_tensor", lambda lib, a, b: a ** b, ((3, 4), (3, 4)), positive=True),
    OpCase("rpow", lambda lib, a: 2.0 ** a, ((3, 4),)),
    OpCase("neg", lambda lib, a: -a, ((3, 4),)),
    OpCase("exp", lambda lib, a: a.exp(), ((3, 4),)),
    OpCase("log", lambda lib, a: a.log(), ((3, 4),), positive=True),
    OpCase("sqrt", lambda lib, a: a.sqrt(), ((3, 4),), positive=True),
    OpCase("abs", lambda lib, a: a.abs(), ((3, 4),)),
    OpCase("clamp", lambda lib, a: a.clamp(min=-0.5, max=0.7), ((4, 5),)),
    OpCase("clamp_min", lambda lib, a: a.clamp(min=0.1), ((4, 5),)),
    OpCase("matmul_2d", lambda lib, a, b: a @ b, ((4, 3), (3, 5)), rtol=1e-4),
    OpCase("matmul_batched", lambda lib, a, b: a @ b, ((2, 4, 3), (2, 3, 5)), rtol=1e-4),
    OpCase("matmul_broadcast", lambda lib, a, b: a @ b, ((2, 1, 4, 3), (3, 3, 5)), rtol=1e-4),
    OpCase("matmul_shared_weight", lambda lib, a, b: a @ b, ((2, 4, 3), (3, 5)), rtol=1e-4),
    OpCase("matmul_vec_mat", lambda lib, a, b: a @ b, ((3,), (3, 5)), rtol=1e-4),
    OpCase("matmul_mat_vec", lambda lib, a, b: a @ b, ((4, 3), (3,)), rtol=1e-4),
    OpCase("matmul_vec_vec", lambda lib, a, b: a @ b, ((6,), (6,)), rtol=1e-4),
    OpCase("matmul_method", lambda lib, a, b: a.matmul(b), ((7, 13), (13, 5)), rtol=1e-4),
    OpCase("sum_all", lambda lib, a: a.sum(), ((3, 4),), rtol=1e-4),
    OpCase("sum_dim", lambda lib, a: a.sum(dim=1), ((3, 4, 5),), rtol=1e-4),
    OpCase("sum_dims_keepdim", lambda lib, a: a.sum(dim=(0, 2), keepdim=True), ((3, 4, 5),),
           rtol=1e-4),
    OpCase("mean_all", lambda lib, a: a.mean(), ((3, 4),), rtol=1e-4),
    OpCase("mean_dim", lambda lib, a: a.mean(dim=-1, keepdim=True), ((3, 4),), rtol=1e-4),
    OpCase("max_all", lambda lib, a: a.max(), ((3, 4),)),
    OpCase("max_dim", lambda lib, a: a.max(dim=1).values, ((3, 4),)),
    OpCase("max_dim_keepdim", lambda lib, a: a.max(dim=0, keepdim=True)[0], ((3, 4),)),
    OpCase("min_all", lambda lib, a: a.min(), ((3, 4),)),
    OpCase("min_dim", lambda lib, a: a.min(dim=-1).values, ((3, 4, 2),)),
    OpCase("var_all", lambda lib, a: a.var(), ((3, 4),), rtol=1e-4),
    OpCase("var_dim", lambda lib, a: a.var(dim=1), ((3, 4),), rtol=1e-4),
    OpCase("var_biased", lambda lib, a: a.var(dim=0, keepdim=True, unbiased=False), ((5, 4),),
           rtol=1e-4),
    OpCase("reshape", lambda lib, a: a.reshape(4, 3) * 2, ((3, 4),)),
    OpCase("view_infer", lambda lib, a: a.view(-1, 2), ((3, 4),)),
    OpCase("transpose", lambda lib, a: a.transpose(0, 2), ((2, 3, 4),)),
    OpCase("permute", lambda lib, a: a.permute(2, 0, 1), ((2, 3, 4),)),
    OpCase("T", lambda lib, a: a.T, ((3, 4),)),
    OpCase("squeeze", lambda lib, a: a.squeeze(), ((3, 1, 4, 1),)),
    OpCase("squeeze_dim", lambda lib, a: a.squeeze(1), ((3, 1, 4),)),
    OpCase("unsqueeze", lambda lib, a: a.unsqueeze(1), ((3, 4),)),
    OpCase("flatten", lambda lib, a: a.flatten(1), ((2, 3, 4),)),
    OpCase("getitem_basic", lambda lib, a: a[1:, ::2], ((4, 5),)),
    OpCase("getitem_int", lambda lib, a: a[2], ((4, 5),)),
    OpCase("getitem_neg_step", lambda lib, a: a[:, -1], ((4, 5),)),
    OpCase("getitem_repeated_index", lambda lib, a: a[lib.tensor([0, 2, 0, 0])], ((4, 5),)),
    OpCase("getitem_2d_index", lambda lib, a: a[lib.tensor([0, 3]), lib.tensor([1, 1])],
           ((4, 5),)),
    OpCase("getitem_bool_mask", lambda lib, a: a[_mask(lib, a)], ((4, 5),)),
    OpCase("cat", lambda lib, a, b: lib.cat([a, b, a], dim=1), ((2, 3), (2, 4))),
    OpCase("stack", lambda lib, a, b: lib.stack([a, b], dim=1), ((2, 3), (2, 3))),
    OpCase("where", lambda lib, a, b: lib.where(a > 0, a, b), ((3, 4), (3, 4))),
    OpCase("where_broadcast", lambda lib, a, b: lib.where(a > 0, a, b), ((3, 4), (4,))),
    OpCase("masked_fill", lambda lib, a: a.masked_fill(a < 0, 0.0) * 3, ((3, 4),)),
    OpCase("expand", lambda lib, a: a.expand(3, 4, 5), ((4, 1),)),
    OpCase("chain", lambda lib, a, b: ((a @ b).exp().sum(dim=0) / 3).log(), ((3, 4), (4, 2)),
           rtol=1e-4),
]

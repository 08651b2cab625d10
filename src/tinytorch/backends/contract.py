"""The kernel contract every backend implements.

Each backend module (``loop``, ``numpy_backend``, ``native``) defines a
function for every name below, with the same arguments and the same result
within floating-point tolerance. Inputs and outputs are NumPy arrays; the
autograd layer above never sees which backend ran. The conformance test
(``tests/test_15_backend_conformance.py``) checks every backend against it.
"""

from __future__ import annotations

#: kernel name -> what it computes (shapes use the field's standard letters)
KERNELS: dict[str, str] = {
    "matmul": "a: (M, K), b: (K, N) -> (M, N); operands may be transposed views",
    "bmm": "a: (B, M, K), b: (B, K, N) -> (B, M, N)",
    "softmax": "x: any shape, axis: int -> softmax along axis, same shape",
}

"""What every family's native adapter shares: the compiled extension and one calling rule.

The C++ kernels in ``tinytorch._native`` take float32 arrays in C order and
native byte order, nothing else. ``@native_kernel(fallback)`` wraps an adapter
so that every family follows the same rule, written once:

1. dtypes the kernel does not take (float64 in gradient checks, integers,
   byte-swapped data) go to the NumPy implementation, so a dtype never
   silently changes; ``None`` in place of an optional array (a layer norm
   without weight) is passed on as it is;
2. the array arguments are laid out as the kernel needs them (C-contiguous
   and aligned by default; matmul reads transposed views in place);
3. the adapter body runs: it validates what the kernel cannot see (the
   family's shape checks, so messages match the other backends) and calls C++.

The bindings check dtype, shape, contiguity and size overflow once more before
any kernel touches memory (``csrc/bind_common.h``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from tinytorch.backends import BackendUnavailableError

__all__ = ["BUILD_HINT", "build_info", "c_layout", "ext", "native_kernel"]

BUILD_HINT = (
    "build it from the TinyTorch source tree with `pip install .` (or `pip install -e .`); "
    "this needs a C++17 compiler and CMake >= 3.18. `tinytorch doctor` checks the result."
)

try:
    import tinytorch._native as ext
except ImportError as exc:  # missing file, wrong ABI, missing symbol, ...
    raise BackendUnavailableError(
        f"the native backend is not available: tinytorch._native failed to import ({exc}); "
        + BUILD_HINT
    ) from exc

_FLOAT32 = np.dtype(np.float32)
F = TypeVar("F", bound=Callable[..., Any])


def build_info() -> dict:
    """Compiler, SIMD level, OpenMP and thread count the extension was built with."""
    return dict(ext.build_info())


def c_layout(x: np.ndarray) -> np.ndarray:
    """``x`` itself when it is C-contiguous and aligned, else an aligned C-order copy.

    (``np.ascontiguousarray`` keeps a misaligned buffer misaligned; vector loads
    from it are undefined behaviour in C++, so such arrays are copied.)
    """
    flags = x.flags  # one flags object, not two
    if flags.c_contiguous and flags.aligned:
        return x
    return np.array(x, order="C", copy=True)


def native_kernel(fallback: Callable[..., Any], arrays: int = 1,
                  layout: Callable[[np.ndarray], np.ndarray] | None = c_layout,
                  ) -> Callable[[F], F]:
    """Decorate the native adapter of one kernel.

    ``arrays``: how many leading positional arguments are arrays the kernel reads;
    when any of them is not float32 the call goes to ``fallback`` unchanged, else
    each is passed through ``layout`` before the adapter runs. A ``None`` among
    them (an optional array left out) is neither checked nor laid out.
    ``layout=None``: the adapter lays its arrays out itself (softmax moves an axis
    first; matmul's C++ copies only an operand sgemm cannot read in place), so the
    arguments go to it as they came - no Python call per array.
    """

    def decorate(adapter: F) -> F:
        @functools.wraps(adapter)
        def call(*args: Any, **kwargs: Any) -> Any:
            for a in args[:arrays]:
                if a is not None:
                    dtype = getattr(a, "dtype", None)
                    if dtype is not _FLOAT32 and dtype != _FLOAT32:
                        return fallback(*args, **kwargs)
            if layout is None:
                return adapter(*args, **kwargs)
            laid = [a if a is None else layout(a) for a in args[:arrays]]
            laid.extend(args[arrays:])
            return adapter(*laid, **kwargs)

        call.fallback = fallback  # type: ignore[attr-defined]
        return call  # type: ignore[return-value]

    return decorate

"""Saving nested state (model, optimizer, scheduler, RNG) to ``.npz`` -- no pickle.

``save(obj, path)`` accepts nested dicts/lists/tuples of NumPy arrays, Tensors,
numbers, strings, bools and None. Arrays go into the ``.npz`` as separate
entries; everything else goes into one JSON document stored beside them. A
checkpoint therefore cannot execute code when loaded (unlike a pickle), and
``numpy.load(path)`` shows what is inside.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from typing import Any

import numpy as np

_META_KEY = "__tinytorch_meta__"
_ARRAY_TAG = "__array__"
_TUPLE_TAG = "__tuple__"
_INT_KEYS_TAG = "__int_keys__"


def _flatten(obj: Any, arrays: dict[str, np.ndarray], path: str) -> Any:
    from tinytorch.tensor import Tensor

    if isinstance(obj, Tensor):
        obj = obj.data
    if isinstance(obj, np.ndarray):
        if obj.dtype == object:
            raise TypeError(f"cannot save an object array at {path or 'top level'}")
        key = f"a{len(arrays)}"
        arrays[key] = obj
        return {_ARRAY_TAG: key}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        keys = list(obj)
        if all(isinstance(k, str) for k in keys):
            return {k: _flatten(v, arrays, f"{path}.{k}") for k, v in obj.items()}
        if all(isinstance(k, (int, np.integer)) for k in keys):  # optimizer state by index
            return {_INT_KEYS_TAG: [[int(k), _flatten(v, arrays, f"{path}[{k}]")]
                                    for k, v in obj.items()]}
        raise TypeError(f"dict keys at {path or 'top level'} must be all str or all int")
    if isinstance(obj, tuple):
        return {_TUPLE_TAG: [_flatten(v, arrays, f"{path}[{i}]") for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_flatten(v, arrays, f"{path}[{i}]") for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        if isinstance(obj, int) and not isinstance(obj, bool) and abs(obj) >= 2**53:
            return {"__bigint__": str(obj)}  # RNG states hold 128-bit integers
        return obj
    raise TypeError(f"cannot save a {type(obj).__name__} at {path or 'top level'}")


def _unflatten(obj: Any, arrays) -> Any:
    if isinstance(obj, list):
        return [_unflatten(v, arrays) for v in obj]
    if isinstance(obj, dict):
        if _ARRAY_TAG in obj:
            return np.array(arrays[obj[_ARRAY_TAG]])
        if _TUPLE_TAG in obj:
            return tuple(_unflatten(v, arrays) for v in obj[_TUPLE_TAG])
        if _INT_KEYS_TAG in obj:
            return {k: _unflatten(v, arrays) for k, v in obj[_INT_KEYS_TAG]}
        if "__bigint__" in obj:
            return int(obj["__bigint__"])
        return {k: _unflatten(v, arrays) for k, v in obj.items()}
    return obj


def save(obj: Any, path: str | os.PathLike) -> None:
    """Write ``obj`` to ``path`` (an ``.npz`` file), atomically: no half-written checkpoint."""
    arrays: dict[str, np.ndarray] = {}
    meta = _flatten(obj, arrays, "")
    arrays[_META_KEY] = np.array(json.dumps(meta))
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, suffix=".npz.tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def load(path: str | os.PathLike) -> Any:
    """Read what :func:`save` wrote. Raises a clear error for a missing or foreign file."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            files = data.files
            meta_text = str(data[_META_KEY]) if _META_KEY in files else None
            arrays = {k: data[k] for k in files if k != _META_KEY}
        meta = None if meta_text is None else json.loads(meta_text)
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as exc:
        # truncated or not an .npz at all (json.JSONDecodeError is a ValueError)
        raise ValueError(f"{path} is not a readable TinyTorch checkpoint ({exc})") from exc
    if meta is None:
        raise ValueError(f"{path} is an .npz file but not a TinyTorch checkpoint")
    return _unflatten(meta, arrays)

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
from collections.abc import Callable
from typing import Any

import numpy as np

_META_KEY = "__tinytorch_meta__"
_ARRAY_TAG = "__array__"
_TUPLE_TAG = "__tuple__"
_INT_KEYS_TAG = "__int_keys__"
_BIGINT_TAG = "__bigint__"
_STR_KEYS_TAG = "__str_keys__"  # a user dict whose keys would look like one of these tags
_TAGS = (_ARRAY_TAG, _TUPLE_TAG, _INT_KEYS_TAG, _BIGINT_TAG, _STR_KEYS_TAG)
# save() stores arrays uncompressed, so a real checkpoint inflates to about its own size;
# a file claiming far more than this multiple of its size is refused before it is read.
MAX_EXPANSION = 32
_MIN_LIMIT = 64 << 20


class CheckpointError(ValueError):
    """A checkpoint file that is missing pieces, malformed, or not a TinyTorch checkpoint."""


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
            if any(k in _TAGS for k in keys):  # escape: stored as [key, value] pairs
                return {_STR_KEYS_TAG: [[k, _flatten(v, arrays, f"{path}.{k}")]
                                        for k, v in obj.items()]}
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
            return {_BIGINT_TAG: str(obj)}  # RNG states hold 128-bit integers
        return obj
    raise TypeError(f"cannot save a {type(obj).__name__} at {path or 'top level'}")


def _pairs(value: Any, key_type: type, where: str) -> list[tuple[Any, Any]]:
    if not isinstance(value, list) or not all(
            isinstance(p, list) and len(p) == 2 and isinstance(p[0], key_type)
            and not isinstance(p[0], bool) for p in value):
        raise CheckpointError(f"malformed metadata at {where}: expected [key, value] pairs")
    return [(p[0], p[1]) for p in value]


def _unflatten(obj: Any, arrays: Callable[[str, str], np.ndarray], where: str = "top level",
               depth: int = 0) -> Any:
    if depth > 100:
        raise CheckpointError(f"malformed metadata at {where}: nested more than 100 levels")
    if isinstance(obj, list):
        return [_unflatten(v, arrays, f"{where}[{i}]", depth + 1) for i, v in enumerate(obj)]
    if not isinstance(obj, dict):
        return obj
    tag = next(iter(obj)) if len(obj) == 1 else None
    if tag == _ARRAY_TAG:
        if not isinstance(obj[tag], str):
            raise CheckpointError(f"malformed metadata at {where}: array name must be a string")
        return arrays(obj[tag], where)
    if tag == _TUPLE_TAG:
        if not isinstance(obj[tag], list):
            raise CheckpointError(f"malformed metadata at {where}: a tuple must hold a list")
        return tuple(_unflatten(v, arrays, f"{where}[{i}]", depth + 1)
                     for i, v in enumerate(obj[tag]))
    if tag == _INT_KEYS_TAG:
        return {k: _unflatten(v, arrays, f"{where}[{k}]", depth + 1)
                for k, v in _pairs(obj[tag], int, where)}
    if tag == _STR_KEYS_TAG:
        return {k: _unflatten(v, arrays, f"{where}.{k}", depth + 1)
                for k, v in _pairs(obj[tag], str, where)}
    if tag == _BIGINT_TAG:
        text = obj[tag]
        if not isinstance(text, str) or not text.lstrip("-").isdigit() or len(text) > 4000:
            raise CheckpointError(f"malformed metadata at {where}: bad big integer {text!r}")
        return int(text)
    return {k: _unflatten(v, arrays, f"{where}.{k}", depth + 1) for k, v in obj.items()}


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


def load(path: str | os.PathLike, max_bytes: int | None = None) -> Any:
    """Read what :func:`save` wrote. Raises a clear error for a missing or foreign file.

    Before anything is inflated, the sizes the archive declares are checked: in
    total at most ``max_bytes`` (default: ``MAX_EXPANSION`` times the file size,
    at least 64 MiB), so a small file that would inflate to gigabytes is refused.
    Arrays are read one by one as the metadata names them (no extra copies).
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint at {path}")
    if max_bytes is None:
        max_bytes = max(_MIN_LIMIT, MAX_EXPANSION * os.path.getsize(path))
    try:
        with zipfile.ZipFile(path) as archive:
            declared = sum(info.file_size for info in archive.infolist())
            if declared > max_bytes:
                raise CheckpointError(
                    f"{path} declares {declared} bytes of arrays, more than the limit of "
                    f"{max_bytes} (a file of {os.path.getsize(path)} bytes; pass max_bytes= to "
                    "load(...) if it is genuine)")
        with np.load(path, allow_pickle=False) as data:
            files = set(data.files)
            if _META_KEY not in files:
                raise CheckpointError(f"{path} is an .npz file but not a TinyTorch checkpoint")
            meta_array = data[_META_KEY]
            if meta_array.dtype.kind != "U" or meta_array.ndim != 0:
                raise CheckpointError(f"{path}: malformed metadata entry")
            meta = json.loads(str(meta_array))

            def array(name: str, where: str) -> np.ndarray:
                if name not in files or name == _META_KEY:
                    raise CheckpointError(f"{path}: the metadata at {where} names array "
                                          f"{name!r}, which the file does not hold")
                return data[name]

            return _unflatten(meta, array)
    except CheckpointError as exc:
        if path in str(exc):
            raise
        raise CheckpointError(f"{path}: {exc}") from exc
    except RecursionError as exc:
        raise CheckpointError(f"{path}: malformed metadata (nested too deeply)") from exc
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, KeyError, TypeError) as exc:
        # truncated or not an .npz at all (json.JSONDecodeError is a ValueError)
        raise CheckpointError(f"{path} is not a readable TinyTorch checkpoint ({exc})") from exc

"""Shared plumbing of Module 11: token-id inputs, atomic writes, tokenizer files.

Not an exercise: students get this file as is.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from tinytorch.data.dataset import as_array

__all__ = ["as_id_list", "read_json", "write_text_atomic"]

PathLike = str | os.PathLike[str]


def as_id_list(ids: Any, vocab_size: int) -> list[int]:
    """Token ids as a list of Python ints, each checked to lie in ``[0, vocab_size)``.

    ``ids`` is a sequence of ints, a 1-D integer NumPy array or a 1-D integer
    Tensor (a model's generated ids). A negative id is rejected rather than
    read from the end of the vocabulary, which would silently decode garbage.
    """
    if isinstance(ids, list | tuple):
        values = list(ids)
        if not all(type(v) is int for v in values):  # the common case costs one C-speed pass
            for v in values:
                if isinstance(v, bool) or not isinstance(v, int | np.integer):
                    raise TypeError(f"token ids must be integers, got {type(v).__name__} {v!r}")
            values = [int(v) for v in values]
    else:
        array = as_array(ids)
        if array.ndim != 1 or not (np.issubdtype(array.dtype, np.integer) or array.size == 0):
            raise TypeError(
                f"token ids must be a 1-D sequence of integers, got dtype {array.dtype} and "
                f"shape {array.shape}"
            )
        values = array.tolist()
    if values and (min(values) < 0 or max(values) >= vocab_size):
        position, bad = next((i, v) for i, v in enumerate(values) if not 0 <= v < vocab_size)
        raise ValueError(
            f"token id {bad} at position {position} is outside the vocabulary 0..{vocab_size - 1}"
        )
    return values


def write_text_atomic(path: PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file and a rename.

    ``os.replace`` within one folder is atomic: a reader sees the old file or the
    whole new one, never half of it, even if this process dies mid-write.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return path


def read_json(path: PathLike, kind: str) -> dict[str, Any]:
    """The JSON object in ``path``, checked to have been written by a ``kind`` tokenizer."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no {kind} file at {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} is not a {kind} file (not valid JSON: {error})") from None
    if not isinstance(data, dict) or data.get("kind") != kind:
        found = data.get("kind") if isinstance(data, dict) else type(data).__name__
        raise ValueError(f"{path} is not a {kind} file (kind: {found!r})")
    return data

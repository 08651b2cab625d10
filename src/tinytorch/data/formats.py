"""Module 10: the on-disk formats of the classic datasets, read defensively.

* **IDX** (MNIST, Fashion-MNIST): a 4-byte magic number ``00 00 <type> <ndim>``,
  ``ndim`` big-endian uint32 sizes, then the values in C order, big-endian.
  Often gzip-compressed. Validating the header against the file size catches
  truncated downloads before they turn into silently wrong images.
* **CIFAR-10 python batches**: pickled dicts ``{b"data": uint8 (N, 3072),
  b"labels": [N ints], ...}``. Unpickling runs code named by the file, so we
  only allow the few NumPy constructors a real batch needs.
* **tar.gz archives**, extracted with every member checked so a malicious
  archive cannot write outside the target folder.
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
import shutil
import tarfile
import tempfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from tinytorch.data.download import DatasetError

__all__ = ["extract_tar", "load_pickle", "read_idx", "write_idx"]

# IDX type byte -> big-endian NumPy dtype.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _read_bytes(path: Path) -> bytes:
    """File contents, gunzipped when the name ends in ``.gz``; corrupt gzip -> DatasetError."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as stream:
                return stream.read()
        return path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise DatasetError(f"{path}: corrupt or truncated gzip data ({error})") from error


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (``.gz`` or raw) into a native-endian array of its stored shape."""
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise DatasetError(f"{path}: too short for an IDX header ({len(raw)} bytes)")
    zero0, zero1, type_code, ndim = raw[0], raw[1], raw[2], raw[3]
    if zero0 != 0 or zero1 != 0 or type_code not in IDX_DTYPES or ndim == 0:
        raise DatasetError(
            f"{path}: not an IDX file (magic bytes {raw[:4].hex()}; expected 00 00, a type byte "
            f"in {sorted(hex(c) for c in IDX_DTYPES)} and a dimension count)"
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetError(f"{path}: truncated IDX header ({len(raw)} bytes, need {header})")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[type_code]
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        problem = "truncated" if len(raw) < expected else "has trailing bytes"
        raise DatasetError(
            f"{path}: IDX file {problem}: header says shape {shape} of {dtype.name} "
            f"({expected} bytes) but the data is {len(raw)} bytes"
        )
    # frombuffer is zero-copy and read-only; astype gives a writable native-endian array.
    values = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return values.astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike[str], array: np.ndarray) -> Path:
    """Write ``array`` as IDX (gzip-compressed when ``path`` ends in ``.gz``)."""
    path = Path(path)
    array = np.asarray(array)
    codes = {dtype.newbyteorder("=").str: code for code, dtype in IDX_DTYPES.items()}
    key = array.dtype.newbyteorder("=").str
    if key not in codes or array.ndim == 0 or array.ndim > 255:
        raise ValueError(f"cannot store dtype {array.dtype} with {array.ndim} dimensions as IDX")
    code = codes[key]
    body = (
        bytes([0, 0, code, array.ndim])
        + np.asarray(array.shape, dtype=">u4").tobytes()
        + np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()
    )
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as stream:
        stream.write(body)
    return path


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler that can build NumPy arrays and nothing else (no arbitrary code)."""

    _ALLOWED = {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        # Python 3 writes bytes at protocol <= 2 as _codecs.encode(str, "latin1"): harmless.
        ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data file")
        # Files pickled by NumPy 1.x name numpy.core; NumPy 2 moved it to numpy._core.
        if module.startswith("numpy.core") and hasattr(np, "_core"):
            module = "numpy._core" + module[len("numpy.core") :]
        return super().find_class(module, name)


def load_pickle(path: str | os.PathLike[str]) -> Any:
    """Load a CIFAR-style pickle (Python 2 byte strings kept as ``bytes``), NumPy objects only."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    try:
        return _NumpyOnlyUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as error:
        raise DatasetError(f"{path}: corrupt or truncated pickle ({error})") from error


def _check_member(member: tarfile.TarInfo, destination: Path) -> None:
    target = (destination / member.name).resolve()
    if os.path.isabs(member.name) or ".." in Path(member.name).parts:
        raise DatasetError(f"refusing archive member with an unsafe path: {member.name!r}")
    if not (member.isfile() or member.isdir()):
        raise DatasetError(f"refusing archive member that is not a file or folder: {member.name!r}")
    if destination.resolve() not in target.parents and target != destination.resolve():
        raise DatasetError(f"refusing archive member outside the target folder: {member.name!r}")


def extract_tar(archive: str | os.PathLike[str], destination: str | os.PathLike[str]) -> None:
    """Safely extract ``archive`` (tar / tar.gz) into ``destination``.

    Members are extracted into a temporary folder next to ``destination`` and
    each top-level entry is moved into place only after the whole archive read
    cleanly, so a truncated archive leaves nothing half-extracted behind.
    """
    archive, destination = Path(archive), Path(destination)
    try:
        destination.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=destination))
    except OSError as error:
        raise DatasetError(
            f"cannot extract {archive} into {destination} ({error}); copy the archive to a "
            "writable folder and pass root= there"
        ) from error
    try:
        try:
            with tarfile.open(archive, "r:*") as tar:
                members = tar.getmembers()
                for member in members:
                    _check_member(member, staging)
                if hasattr(tarfile, "data_filter"):
                    tar.extractall(staging, members=members, filter="data")
                else:
                    tar.extractall(staging, members=members)
        except (tarfile.TarError, EOFError, OSError, zlib.error) as error:
            raise DatasetError(f"{archive}: corrupt or truncated archive ({error})") from error
        for entry in staging.iterdir():
            target = destination / entry.name
            if target.is_dir():
                shutil.rmtree(target)
            os.replace(entry, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)

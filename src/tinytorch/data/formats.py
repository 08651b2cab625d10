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
from typing import IO, Any

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


# Refuse IDX headers that claim more than this many bytes of data (MNIST's largest
# file holds 47 MB, EMNIST's 550 MB): a corrupt or hostile header must not make
# us allocate gigabytes. ``read_idx(path, max_bytes=...)`` raises it.
MAX_IDX_BYTES = 1 << 30
# Most dimensions an IDX header may claim (NumPy arrays have at most 64).
MAX_IDX_NDIM = 32
_CHUNK = 1 << 20


def _open_idx(path: Path) -> IO[bytes]:
    """A binary stream of the file, inflated on the fly when its name ends in ``.gz``."""
    try:
        return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except OSError as error:
        raise DatasetError(f"{path}: cannot open ({error})") from error


def _read_exactly(stream: IO[bytes], count: int) -> bytearray:
    """Up to ``count`` bytes, read in chunks (a gzip stream inflates only what is asked)."""
    out = bytearray()
    while len(out) < count:
        chunk = stream.read(min(_CHUNK, count - len(out)))
        if not chunk:
            break
        out += chunk
    return out


def _idx_header(path: Path, stream: IO[bytes]) -> tuple[np.dtype, tuple[int, ...], int]:
    """Validate the magic bytes and sizes: (dtype, shape, header bytes), nothing else read."""
    magic = _read_exactly(stream, 4)
    if len(magic) < 4:
        raise DatasetError(f"{path}: too short for an IDX header ({len(magic)} bytes)")
    zero0, zero1, type_code, ndim = magic
    if zero0 != 0 or zero1 != 0 or type_code not in IDX_DTYPES or ndim == 0:
        raise DatasetError(
            f"{path}: not an IDX file (magic bytes {bytes(magic).hex()}; expected 00 00, a type "
            f"byte in {sorted(hex(c) for c in IDX_DTYPES)} and a dimension count)"
        )
    if ndim > MAX_IDX_NDIM:
        raise DatasetError(f"{path}: IDX header claims {ndim} dimensions (at most "
                           f"{MAX_IDX_NDIM} are supported)")
    header = 4 + 4 * ndim
    sizes = _read_exactly(stream, 4 * ndim)
    if len(sizes) < 4 * ndim:
        raise DatasetError(f"{path}: truncated IDX header ({4 + len(sizes)} bytes, need {header})")
    shape = tuple(int(d) for d in np.frombuffer(bytes(sizes), dtype=">u4"))
    return IDX_DTYPES[type_code], shape, header


def read_idx(path: str | os.PathLike[str], max_bytes: int = MAX_IDX_BYTES) -> np.ndarray:
    """Read an IDX file (``.gz`` or raw) into a native-endian array of its stored shape.

    The header is checked before any data is read: the size it claims (an exact
    Python integer, so a product of dimensions cannot wrap) must be at most
    ``max_bytes``, and a raw file must hold exactly that many bytes. A ``.gz``
    file is inflated in a stream, never beyond the claimed size plus one byte,
    so a small file that inflates to gigabytes costs no more memory than its
    header admits to.
    """
    path = Path(path)
    with _open_idx(path) as stream:
        try:
            dtype, shape, header = _idx_header(path, stream)
            count = 1
            for d in shape:
                count *= d
            claimed = count * dtype.itemsize
            expected = header + claimed
            if claimed > max_bytes:
                raise DatasetError(
                    f"{path}: IDX header claims shape {shape} of {dtype.name} ({claimed} bytes), "
                    f"more than the limit of {max_bytes} bytes (read_idx(max_bytes=...))")
            if path.suffix != ".gz" and os.path.getsize(path) != expected:
                size = os.path.getsize(path)
                problem = "truncated" if size < expected else "has trailing bytes"
                raise DatasetError(
                    f"{path}: IDX file {problem}: header says shape {shape} of {dtype.name} "
                    f"({expected} bytes) but the data is {size} bytes")
            body = _read_exactly(stream, claimed)
            trailing = stream.read(1)
        except (gzip.BadGzipFile, EOFError, zlib.error) as error:
            raise DatasetError(f"{path}: corrupt or truncated gzip data ({error})") from error
    if len(body) != claimed or trailing:
        problem = "truncated" if len(body) < claimed else "has trailing bytes"
        got = f"{header + len(body)}" if len(body) < claimed else f"more than {expected}"
        raise DatasetError(
            f"{path}: IDX file {problem}: header says shape {shape} of {dtype.name} "
            f"({expected} bytes) but the data is {got} bytes"
        )
    # frombuffer is zero-copy; the bytearray is ours, so byte-swapping in place needs no copy.
    values = np.frombuffer(body, dtype=dtype).reshape(shape)
    return values.astype(dtype.newbyteorder("="), copy=False) if dtype.itemsize > 1 else values


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


def extract_tar(archive: str | os.PathLike[str], destination: str | os.PathLike[str],
                keep: str | None = None, required: tuple[str, ...] = ()) -> None:
    """Safely extract ``archive`` (tar / tar.gz) into ``destination``.

    Members are extracted into a private staging folder inside ``destination``
    and moved into place only after the whole archive read cleanly, so a
    truncated archive leaves nothing half-extracted behind. With ``keep``, only
    that top-level folder is moved (and it must hold every file of ``required``,
    else nothing is moved): whatever else the archive holds -- a ``notes.txt``,
    a folder named like one of yours -- never touches ``destination``.
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
        if keep is None:
            entries = list(staging.iterdir())
        else:
            kept = staging / keep
            missing = [name for name in required if not (kept / name).is_file()]
            if not kept.is_dir() or missing:
                raise DatasetError(f"{archive}: archive has no {keep}/ with "
                                   f"{', '.join(required) or 'its files'}")
            entries = [kept]
        for entry in entries:
            target = destination / entry.name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            os.replace(entry, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)

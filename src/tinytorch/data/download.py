"""Module 10: where dataset files live, and fetching them safely.

Two systems lessons live here:

* **Verify what you download.** A file is streamed into a temporary file in
  the destination folder while its digest is computed; only when the digest
  matches the published one is it renamed into place. ``os.replace`` within
  one folder is atomic, so a crash, a dropped connection or a wrong checksum
  can never leave a half-written file that a later run would trust.
* **One place decides where data lives** (:func:`candidate_dirs`): an explicit
  ``root``, else ``$TINYTORCH_DATA/<name>``, else a system location (Debian's
  ``dataset-fashion-mnist`` package), else ``~/.cache/tinytorch/<name>``.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

__all__ = [
    "DATA_ENV_VAR",
    "DatasetError",
    "cache_dir",
    "candidate_dirs",
    "download_dir",
    "download_url",
    "file_digest",
]

DATA_ENV_VAR = "TINYTORCH_DATA"
_CHUNK = 1 << 20  # 1 MiB reads: big enough that Python overhead per chunk is negligible


class DatasetError(RuntimeError):
    """A dataset file is missing, truncated, corrupt, or could not be downloaded."""


def cache_dir(name: str) -> Path:
    """``~/.cache/tinytorch/<name>`` (honours ``XDG_CACHE_HOME``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "tinytorch" / name


def candidate_dirs(
    name: str, root: str | os.PathLike[str] | None, system_dirs: Sequence[str] = ()
) -> list[Path]:
    """Folders to search for dataset ``name``, in priority order.

    An explicit ``root`` is searched alone (as given, and ``root/<name>``): asking
    for a folder and silently reading another would hide mistakes.
    """
    if root is not None:
        base = Path(root).expanduser()
        return [base, base / name]
    dirs: list[Path] = []
    env = os.environ.get(DATA_ENV_VAR)
    if env:
        dirs += [Path(env).expanduser() / name, Path(env).expanduser()]
    dirs += [Path(d) for d in system_dirs]
    dirs.append(cache_dir(name))
    return dirs


def download_dir(name: str, root: str | os.PathLike[str] | None) -> Path:
    """Where ``download=True`` writes: ``root``, else ``$TINYTORCH_DATA/<name>``, else the cache."""
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get(DATA_ENV_VAR)
    return Path(env).expanduser() / name if env else cache_dir(name)


def file_digest(path: str | os.PathLike[str], algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in 1 MiB chunks (constant memory for any file size)."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


class _PlainProgress:
    """A dependency-free progress bar on stderr, used when tqdm is not installed."""

    def __init__(self, total: int | None, desc: str) -> None:
        self.total, self.desc, self.done, self._last = total, desc, 0, 0.0

    def update(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if now - self._last >= 0.2:
            self._last = now
            self._draw()

    def _draw(self) -> None:
        mib = self.done / 2**20
        if self.total:
            fraction = self.done / self.total
            bar = "#" * int(30 * fraction)
            sys.stderr.write(f"\r{self.desc}: [{bar:<30}] {100 * fraction:5.1f}% {mib:.1f} MiB")
        else:
            sys.stderr.write(f"\r{self.desc}: {mib:.1f} MiB")
        sys.stderr.flush()

    def close(self) -> None:
        self._draw()
        sys.stderr.write("\n")


def _progress(total: int | None, desc: str, enabled: bool) -> Any:
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return _PlainProgress(total, desc)
    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024)


def _fetch_one(
    url: str,
    destination: Path,
    algorithm: str,
    expected: str,
    progress: bool,
    opener: Callable[[str], IO[bytes]],
) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{destination.name}.", suffix=".part", dir=destination.parent
    )
    digest = hashlib.new(algorithm)
    bar = None
    try:
        with os.fdopen(handle, "wb") as out, opener(url) as response:
            headers = getattr(response, "headers", None)
            length = headers.get("Content-Length") if headers is not None else None
            bar = _progress(int(length) if length else None, destination.name, progress)
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                out.write(chunk)
                digest.update(chunk)
                if bar is not None:
                    bar.update(len(chunk))
        actual = digest.hexdigest()
        if actual != expected.lower():
            raise DatasetError(
                f"checksum mismatch for {destination.name} downloaded from {url}: expected "
                f"{algorithm} {expected}, got {actual}. The file was discarded; retry, or fetch "
                f"it by hand into {destination.parent}"
            )
        os.replace(temporary, destination)
    finally:
        if bar is not None:
            bar.close()
        if os.path.exists(temporary):
            os.unlink(temporary)


def download_url(
    urls: str | Sequence[str],
    destination: str | os.PathLike[str],
    *,
    sha256: str | None = None,
    md5: str | None = None,
    progress: bool = True,
    opener: Callable[[str], IO[bytes]] = urllib.request.urlopen,
) -> Path:
    """Download to ``destination``, verifying its digest; try each mirror in ``urls`` in turn.

    Exactly one of ``sha256`` / ``md5`` is the expected hex digest (use MD5
    only where that is all the publisher gives). Nothing is written at
    ``destination`` unless the digest matches. Raises :class:`DatasetError`
    naming every URL tried when no mirror succeeds.
    """
    if (sha256 is None) == (md5 is None):
        raise ValueError("download_url needs exactly one of sha256= or md5=")
    algorithm, expected = ("sha256", sha256) if sha256 is not None else ("md5", str(md5))
    mirrors = [urls] if isinstance(urls, str) else list(urls)
    if not mirrors:
        raise ValueError("download_url needs at least one URL")
    destination = Path(destination)
    failures = []
    for url in mirrors:
        try:
            _fetch_one(url, destination, algorithm, expected, progress, opener)
            return destination
        except (OSError, ValueError, DatasetError) as error:
            failures.append(f"  {url}: {error}")
    raise DatasetError(
        f"could not download {destination.name}:\n" + "\n".join(failures)
        + f"\nDownload it by hand and place it in {destination.parent}"
    )

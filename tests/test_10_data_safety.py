"""Issue 15, reliability review: the dataset loaders' findings, one regression test each.

Hostile or broken files must end in a ``DatasetError`` naming the file, before
memory is spent on them, and extracting an archive must never touch files of
``root`` that are not the dataset's.
"""

from __future__ import annotations

import gzip
import io
import pickle
import tarfile
import tracemalloc
import zlib

import numpy as np
import pytest

from tests.test_10_dataloader import real_style_pickle, write_cifar, write_mnist_split
from tinytorch.data import CIFAR10, MNIST, DatasetError
from tinytorch.data.formats import read_idx, write_idx


def idx_header(type_code: int, shape: tuple[int, ...]) -> bytes:
    return bytes([0, 0, type_code, len(shape)]) + np.asarray(shape, dtype=">u4").tobytes()


def write_gz_stream(path, head: bytes, zeros: int) -> None:
    """A gzip file of ``head`` then ``zeros`` zero bytes, compressed chunk by chunk."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip container
    with open(path, "wb") as out:
        out.write(compressor.compress(head))
        chunk = bytes(1 << 20)
        for _ in range(zeros // len(chunk)):
            out.write(compressor.compress(chunk))
        out.write(compressor.flush())


def test_gz_bomb_is_refused_without_inflating_it(tmp_path):
    bomb = tmp_path / "bomb-idx1-ubyte.gz"
    write_gz_stream(bomb, idx_header(0x08, (10,)), 64 << 20)  # 64 MiB of zeros after 10 bytes
    assert bomb.stat().st_size < 200_000
    tracemalloc.start()
    try:
        with pytest.raises(DatasetError, match="bomb-idx1-ubyte.gz: IDX file has trailing bytes"):
            read_idx(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"read_idx held {peak} bytes for a 10-byte array"


def test_header_claiming_more_than_the_limit_is_refused_before_reading(tmp_path):
    huge = tmp_path / "huge.gz"
    write_gz_stream(huge, idx_header(0x08, (1 << 20, 1 << 20)), 1 << 20)
    with pytest.raises(DatasetError, match=r"huge.gz: IDX header claims shape \(1048576, "
                                           r"1048576\) .* more than the limit"):
        read_idx(huge)
    small = write_idx(tmp_path / "small", np.zeros((4, 4), np.uint8))
    with pytest.raises(DatasetError, match="more than the limit of 15 bytes"):
        read_idx(small, max_bytes=15)
    assert read_idx(small, max_bytes=16).shape == (4, 4)


def test_dimension_product_that_wraps_int64_is_a_dataset_error(tmp_path):
    path = tmp_path / "wrap"
    # (2**32 - 1)**3 * 8 bytes: far beyond int64, which np.prod silently wrapped
    path.write_bytes(idx_header(0x0E, (2**32 - 1,) * 3) + bytes(16))
    with pytest.raises(DatasetError, match="wrap: IDX header claims"):
        read_idx(path)
    # a product that wraps to exactly the data size must not pass either
    path.write_bytes(idx_header(0x08, (2**32 - 1, 2**32 - 1, 2**32 - 1, 2**32 - 1)) + bytes(1))
    with pytest.raises(DatasetError, match="IDX header claims"):
        read_idx(path)


@pytest.mark.parametrize("ndim", [33, 255])
def test_absurd_dimension_count_is_a_dataset_error(tmp_path, ndim):
    path = tmp_path / "many-dims"
    path.write_bytes(idx_header(0x08, (1,) * ndim) + b"\x00")
    with pytest.raises(DatasetError, match=f"many-dims: IDX header claims {ndim} dimensions"):
        read_idx(path)


def test_raw_idx_size_is_checked_against_the_file_before_reading(tmp_path):
    path = tmp_path / "short"
    path.write_bytes(idx_header(0x08, (1000, 1000)) + bytes(10))
    with pytest.raises(DatasetError, match="short: IDX file truncated"):
        read_idx(path)


@pytest.mark.parametrize("labels,message", [
    (np.array([1, -1, 3, 0], np.int8), "label -1 out of range 0..9"),
    (np.array([1, 10, 3, 0], np.uint8), "label 10 out of range 0..9"),
    (np.array([1.0, 2.0, 3.0, 0.0], np.float32), "labels must be integers, got float32"),
    (np.array([1.0, np.nan, 3.0, 0.0], np.float64), "labels must be integers, got float64"),
])
@pytest.mark.parametrize("gz", [False, True])
def test_mnist_labels_must_be_integers_in_range(tmp_path, labels, message, gz):
    images = np.zeros((4, 28, 28), np.uint8)
    write_mnist_split(tmp_path, "train", images, labels, gz=gz)
    with pytest.raises(DatasetError, match=message):
        MNIST(root=tmp_path)


def cifar_archive(source, extra: dict[str, bytes], folders: tuple[str, ...] = ()) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        if (source / "cifar-10-batches-py").is_dir():
            tar.add(source / "cifar-10-batches-py", arcname="cifar-10-batches-py")
        for folder in folders:
            info = tarfile.TarInfo(folder)
            info.type = tarfile.DIRTYPE
            tar.addfile(info)
        for name, payload in extra.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return buffer.getvalue()


def user_files(root):
    (root / "my_experiments").mkdir(parents=True)
    (root / "my_experiments" / "run1.log").write_text("precious")
    (root / "notes.txt").write_text("my notes")


def assert_user_files_intact(root):
    assert (root / "my_experiments" / "run1.log").read_text() == "precious"
    assert sorted(p.name for p in (root / "my_experiments").iterdir()) == ["run1.log"]
    assert (root / "notes.txt").read_text() == "my notes"


def test_cifar_archive_moves_only_its_dataset_folder(tmp_path, rng):
    source = tmp_path / "source"
    write_cifar(source, rng)
    root = tmp_path / "root"
    user_files(root)
    (root / "cifar-10-python.tar.gz").write_bytes(cifar_archive(
        source, {"notes.txt": b"archive notes", "my_experiments/evil.txt": b"x",
                 "readme.html": b"<html>"}, folders=("my_experiments",)))
    ds = CIFAR10(root=root, train=False)
    assert len(ds) == 4
    assert_user_files_intact(root)
    assert sorted(p.name for p in root.iterdir()) == [
        "cifar-10-batches-py", "cifar-10-python.tar.gz", "my_experiments", "notes.txt"]


def test_rejected_cifar_archive_leaves_root_as_it_was(tmp_path, rng):
    source = tmp_path / "source"
    write_cifar(source, rng)
    (source / "cifar-10-batches-py" / "test_batch").unlink()  # incomplete
    root = tmp_path / "root"
    user_files(root)
    (root / "cifar-10-python.tar.gz").write_bytes(cifar_archive(
        source, {"notes.txt": b"archive notes"}, folders=("my_experiments",)))
    with pytest.raises(DatasetError, match="archive has no cifar-10-batches-py/ with test_batch"):
        CIFAR10(root=root, train=False)
    assert_user_files_intact(root)
    assert sorted(p.name for p in root.iterdir()) == [
        "cifar-10-python.tar.gz", "my_experiments", "notes.txt"]


@pytest.mark.parametrize("labels,message", [
    ("abcd", "b'labels' must be a list of ints, got str"),
    (7, "b'labels' must be a list of ints, got int"),
    ([1.5, 2, 3, 0], "b'labels' must be a list of ints, got float, int"),
    ([None, 1, 2, 3], "b'labels' must be a list of ints, got NoneType, int"),
    ([b"1", 1, 2, 3], "b'labels' must be a list of ints, got bytes, int"),
    ([True, 1, 2, 3], "b'labels' must be a list of ints, got bool, int"),
    ([1, 2, 3, 10], "labels outside 0..9"),
    ([1, 2, 3, -1], "labels outside 0..9"),
    ([1, 2, 3, 2**70], "labels outside 0..9"),
])
def test_malformed_cifar_labels_are_dataset_errors(tmp_path, rng, labels, message):
    batches = write_cifar(tmp_path, rng)
    batch = {**batches["test_batch"], b"labels": labels}
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(real_style_pickle(batch))
    with pytest.raises(DatasetError, match=message):
        CIFAR10(root=tmp_path, train=False)


def test_malformed_cifar_label_names_are_a_dataset_error(tmp_path, rng):
    write_cifar(tmp_path, rng)
    meta = {b"label_names": 5}
    (tmp_path / "cifar-10-batches-py" / "batches.meta").write_bytes(pickle.dumps(meta, 2))
    with pytest.raises(DatasetError, match="b'label_names' must be a list of names"):
        CIFAR10(root=tmp_path, train=False)


def test_gzip_idx_still_round_trips_after_streaming(tmp_path):
    array = np.arange(3 * 70000, dtype=np.int32).reshape(3, 70000)  # several 1 MiB chunks
    path = write_idx(tmp_path / "big.gz", array)
    np.testing.assert_array_equal(read_idx(path), array)
    with gzip.open(path, "rb") as f:
        assert len(f.read()) == 4 + 8 + array.nbytes

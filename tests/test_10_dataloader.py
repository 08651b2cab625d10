"""Module 10 DataLoader: datasets, batching, shuffling, splits, transforms, file formats, downloads.

No test touches the network: downloads go to ``file://`` URLs of files made here.
"""

from __future__ import annotations

import builtins
import gzip
import hashlib
import io
import os
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest

import tinytorch
from tinytorch.data import (
    CIFAR10,
    MNIST,
    DataLoader,
    Dataset,
    DatasetError,
    FashionMNIST,
    Subset,
    TensorDataset,
    collate_arrays,
    default_collate,
    download_url,
    random_split,
)
from tinytorch.data import transforms as T
from tinytorch.data.formats import extract_tar, read_idx, write_idx

FASHION_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")


def numpy_of(batch):
    return [t.numpy() for t in batch]


def per_sample(samples):
    """default_collate behind another name: forces the loader's per-sample path."""
    return default_collate(samples)


# ---------------------------------------------------------------- Dataset basics


def test_dataset_is_abstract():
    with pytest.raises(TypeError):
        Dataset()

    class OnlyLength(Dataset):
        def __len__(self):
            return 3

    with pytest.raises(TypeError):
        OnlyLength()


def test_tensor_dataset_accepts_arrays_and_tensors():
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    y = tinytorch.tensor(np.arange(6))
    ds = TensorDataset(x, y)
    assert len(ds) == 6
    features, label = ds[4]
    np.testing.assert_array_equal(features, [8.0, 9.0])
    assert label == 4
    assert ds[-1][1] == 5
    with pytest.raises(IndexError, match="out of range"):
        ds[6]
    with pytest.raises(TypeError, match="integers"):
        ds[1.5]


def test_tensor_dataset_length_mismatch_is_clear():
    with pytest.raises(ValueError, match=r"same size in dimension 0.*\(5, 2\).*\(4,\)"):
        TensorDataset(np.zeros((5, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()


# ---------------------------------------------------------------- DataLoader


def make_xy(n=10):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    return x, np.arange(n, dtype=np.int64)


@pytest.mark.parametrize("collate", [None, per_sample])
def test_batches_in_order_with_partial_last_batch(collate):
    x, y = make_xy(10)
    loader = DataLoader(TensorDataset(x, y), batch_size=4, collate_fn=collate)
    batches = [numpy_of(b) for b in loader]
    assert len(loader) == 3 and len(batches) == 3
    assert [b[0].shape for b in batches] == [(4, 3), (4, 3), (2, 3)]
    np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), x)
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), y)
    assert batches[0][1].dtype == np.int64 and batches[0][0].dtype == np.float32
    assert loader.uses_batched_path == (collate is None)


def test_batch_items_are_tensors():
    x, y = make_xy(5)
    xb, yb = next(iter(DataLoader(TensorDataset(x, y), batch_size=2)))
    assert isinstance(xb, tinytorch.Tensor) and isinstance(yb, tinytorch.Tensor)


def test_drop_last_and_len():
    x, y = make_xy(10)
    ds = TensorDataset(x, y)
    loader = DataLoader(ds, batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert [b[0].shape[0] for b in loader] == [4, 4]
    assert len(DataLoader(ds, batch_size=5, drop_last=True)) == 2
    assert len(DataLoader(ds, batch_size=11, drop_last=True)) == 0
    assert list(DataLoader(ds, batch_size=11, drop_last=True)) == []
    assert len(DataLoader(ds)) == 10


def test_bad_batch_size_is_rejected():
    ds = TensorDataset(*make_xy(3))
    with pytest.raises(ValueError, match="positive"):
        DataLoader(ds, batch_size=0)
    with pytest.raises(TypeError, match="batch_size"):
        DataLoader(ds, batch_size=2.0)


def epoch_labels(loader):
    return np.concatenate([b[1].numpy() for b in loader])


def test_shuffle_is_a_reproducible_permutation():
    ds = TensorDataset(*make_xy(50))
    first = DataLoader(ds, batch_size=8, shuffle=True, generator=7)
    again = DataLoader(ds, batch_size=8, shuffle=True, generator=7)
    epoch1, epoch2 = epoch_labels(first), epoch_labels(first)
    assert sorted(epoch1.tolist()) == list(range(50))
    assert not np.array_equal(epoch1, np.arange(50))
    assert not np.array_equal(epoch1, epoch2)  # a fresh order each epoch
    np.testing.assert_array_equal(epoch_labels(again), epoch1)  # same seed, same run
    np.testing.assert_array_equal(epoch_labels(again), epoch2)
    other = DataLoader(ds, batch_size=8, shuffle=True, generator=8)
    assert not np.array_equal(epoch_labels(other), epoch1)


def test_shuffle_accepts_generator_and_follows_manual_seed():
    ds = TensorDataset(*make_xy(30))
    a = epoch_labels(DataLoader(ds, 4, shuffle=True, generator=np.random.default_rng(3)))
    b = epoch_labels(DataLoader(ds, 4, shuffle=True, generator=np.random.default_rng(3)))
    np.testing.assert_array_equal(a, b)
    tinytorch.manual_seed(11)
    c = epoch_labels(DataLoader(ds, 4, shuffle=True))
    tinytorch.manual_seed(11)
    d = epoch_labels(DataLoader(ds, 4, shuffle=True))
    np.testing.assert_array_equal(c, d)
    with pytest.raises(TypeError, match="generator"):
        DataLoader(ds, shuffle=True, generator="seed")


def test_shuffled_fast_and_per_sample_paths_agree():
    x, y = make_xy(23)
    ds = TensorDataset(x, y)
    fast = [numpy_of(b) for b in DataLoader(ds, 5, shuffle=True, generator=1)]
    slow_loader = DataLoader(ds, 5, shuffle=True, generator=1, collate_fn=per_sample)
    slow = [numpy_of(b) for b in slow_loader]
    for (fx, fy), (sx, sy) in zip(fast, slow, strict=True):
        np.testing.assert_array_equal(fx, sx)
        np.testing.assert_array_equal(fy, sy)
        np.testing.assert_array_equal(fx, x[fy])


def test_custom_collate_receives_the_list_of_samples():
    ds = TensorDataset(*make_xy(5))
    seen = []

    def collate(samples):
        seen.append(len(samples))
        return sum(int(label) for _, label in samples)

    assert list(DataLoader(ds, batch_size=2, collate_fn=collate)) == [1, 5, 4]
    assert seen == [2, 2, 1]


class SquaresDataset(Dataset):
    """A dataset without array storage: only the per-sample protocol."""

    def __len__(self):
        return 7

    def __getitem__(self, index):
        return {"x": np.full(2, index, dtype=np.float32), "y": index * index, "name": str(index)}


def test_default_collate_follows_sample_structure():
    loader = DataLoader(SquaresDataset(), batch_size=3)
    batch = next(iter(loader))
    assert set(batch) == {"x", "y", "name"}
    assert batch["x"].shape == (3, 2) and batch["y"].dtype == np.int64
    np.testing.assert_array_equal(batch["y"].numpy(), [0, 1, 4])
    assert batch["name"] == ["0", "1", "2"]
    floats = collate_arrays([1.5, 2.5])
    assert floats.dtype == np.float64  # Python floats -> float64, as in PyTorch
    pairs = default_collate([(np.zeros(2), 1), (np.ones(2), 2)])
    assert isinstance(pairs, list) and pairs[0].shape == (2, 2)
    with pytest.raises(ValueError, match="equal shape"):
        collate_arrays([np.zeros(2), np.zeros(3)])
    with pytest.raises(TypeError, match="cannot batch"):
        collate_arrays([object(), object()])


def test_subset_and_loader_use_parent_rows():
    x, y = make_xy(10)
    subset = Subset(TensorDataset(x, y), [9, 0, 4])
    assert len(subset) == 3 and subset[0][1] == 9 and subset[-1][1] == 4
    (xb, yb), = list(DataLoader(subset, batch_size=3))
    np.testing.assert_array_equal(yb.numpy(), [9, 0, 4])
    np.testing.assert_array_equal(xb.numpy(), x[[9, 0, 4]])
    with pytest.raises(IndexError):
        Subset(TensorDataset(x, y), [10])
    nested = Subset(SquaresDataset(), [6, 2])
    np.testing.assert_array_equal(next(iter(DataLoader(nested, 2)))["y"].numpy(), [36, 4])


# ---------------------------------------------------------------- random_split


def test_random_split_integer_lengths_are_disjoint_and_cover():
    ds = TensorDataset(*make_xy(20))
    parts = random_split(ds, [12, 5, 3], generator=0)
    assert [len(p) for p in parts] == [12, 5, 3]
    all_indices = np.concatenate([p.indices for p in parts])
    assert sorted(all_indices.tolist()) == list(range(20))
    again = random_split(ds, [12, 5, 3], generator=0)
    np.testing.assert_array_equal(again[0].indices, parts[0].indices)
    with pytest.raises(ValueError, match="does not equal"):
        random_split(ds, [10, 5])


@pytest.mark.parametrize(
    "n, fractions",
    [(10, [0.33, 0.33, 0.34]), (7, [0.5, 0.5]), (101, [0.8, 0.1, 0.1]), (3, [0.1, 0.9])],
)
def test_random_split_fractions_match_pytorch(torch, n, fractions):
    ours = random_split(TensorDataset(np.arange(n)), fractions, generator=0)
    theirs = torch.utils.data.random_split(range(n), fractions)
    assert [len(p) for p in ours] == [len(p) for p in theirs]
    assert sorted(np.concatenate([p.indices for p in ours]).tolist()) == list(range(n))


def test_random_split_rejects_bad_fractions():
    ds = TensorDataset(np.arange(10))
    with pytest.raises(ValueError, match="sum to 1"):
        random_split(ds, [0.5, 0.4])
    with pytest.raises(ValueError, match="sum to 1"):
        random_split(ds, [1.5, -0.5])


# ---------------------------------------------------------------- transforms


def test_to_tensor_matches_torch(torch, rng):
    gray = rng.integers(0, 256, size=(5, 4), dtype=np.uint8)
    colour = rng.integers(0, 256, size=(5, 4, 3), dtype=np.uint8)
    out = T.ToTensor()(gray)
    assert out.shape == (1, 5, 4) and out.dtype == np.float32
    np.testing.assert_array_equal(out[0], torch.from_numpy(gray).float().div(255).numpy())
    out = T.ToTensor()(colour)
    expected = torch.from_numpy(colour).permute(2, 0, 1).float().div(255).numpy()
    np.testing.assert_array_equal(out, expected)
    batch = np.stack([colour, colour[::-1]])
    np.testing.assert_array_equal(T.ToTensor().batch(batch)[1], T.ToTensor()(colour[::-1]))
    assert T.ToTensor().batch(np.stack([gray, gray])).shape == (2, 1, 5, 4)
    with pytest.raises(TypeError, match="uint8 or floating"):
        T.ToTensor()(gray.astype(np.int32))


def test_normalize_per_channel(rng):
    x = rng.random((3, 4, 4)).astype(np.float32)
    mean, std = [0.1, 0.2, 0.3], [0.5, 0.25, 2.0]
    out = T.Normalize(mean, std)(x)
    for c in range(3):
        np.testing.assert_allclose(out[c], (x[c] - mean[c]) / std[c], rtol=1e-6)
    np.testing.assert_allclose(T.Normalize(mean, std).batch(x[None])[0], out, rtol=1e-6)
    with pytest.raises(ValueError, match="3 values but the image has 1 channels"):
        T.Normalize(mean, std)(x[:1])
    with pytest.raises(ValueError, match="non-zero"):
        T.Normalize(0.0, 0.0)


def windows_of(padded, h, w):
    return {
        (i, j): padded[:, i : i + h, j : j + w]
        for i in range(padded.shape[1] - h + 1)
        for j in range(padded.shape[2] - w + 1)
    }


def test_random_crop_with_padding_takes_a_window_of_the_padded_image():
    image = (np.arange(2 * 5 * 6, dtype=np.float32) + 1).reshape(2, 5, 6)
    padded = np.pad(image, ((0, 0), (2, 2), (2, 2)))
    windows = windows_of(padded, 5, 6)
    crop = T.RandomCrop((5, 6), padding=2, generator=0)
    seen = set()
    for _ in range(300):
        out = crop(image)
        assert out.shape == (2, 5, 6)
        matches = [key for key, window in windows.items() if np.array_equal(out, window)]
        assert len(matches) == 1
        seen.add(matches[0])
    assert len(seen) == len(windows)  # every one of the 5 x 5 offsets occurs


def test_random_crop_batch_and_padding_forms():
    images = (np.arange(4 * 1 * 6 * 6, dtype=np.float32) + 1).reshape(4, 1, 6, 6)
    crop = T.RandomCrop(4, padding=(1, 2, 0, 3), fill=-1, generator=5)  # left, top, right, bottom
    out = crop.batch(images)
    assert out.shape == (4, 1, 4, 4)
    for image, result in zip(images, out, strict=True):
        padded = np.pad(image, ((0, 0), (2, 3), (1, 0)), constant_values=-1)
        assert any(np.array_equal(result, w) for w in windows_of(padded, 4, 4).values())
    assert T.RandomCrop(6)(images[0]).shape == (1, 6, 6)
    np.testing.assert_array_equal(T.RandomCrop(6)(images[0]), images[0])
    with pytest.raises(ValueError, match="larger than the padded image"):
        T.RandomCrop(7)(images[0])


def test_random_crop_is_reproducible_with_a_seed():
    images = np.random.default_rng(0).random((8, 3, 8, 8)).astype(np.float32)
    a = T.RandomCrop(8, padding=4, generator=9).batch(images)
    b = T.RandomCrop(8, padding=4, generator=9).batch(images)
    np.testing.assert_array_equal(a, b)


def test_horizontal_flip():
    image = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(image), image[:, :, ::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=0.0)(image), image)
    batch = np.stack([image] * 400)
    out = T.RandomHorizontalFlip(p=0.5, generator=2).batch(batch)
    flipped = np.array([np.array_equal(o, image[:, :, ::-1]) for o in out])
    unchanged = np.array([np.array_equal(o, image) for o in out])
    assert np.all(flipped ^ unchanged)
    assert 150 < flipped.sum() < 250
    with pytest.raises(ValueError, match="probability"):
        T.RandomHorizontalFlip(p=1.5)


def test_compose_batch_equals_per_sample_for_deterministic_transforms(rng):
    images = rng.integers(0, 256, size=(6, 7, 7), dtype=np.uint8)
    pipeline = T.Compose([T.ToTensor(), T.Normalize(0.5, 0.25), lambda x: x * 2])
    expected = np.stack([pipeline(image) for image in images])
    np.testing.assert_allclose(pipeline.batch(images), expected, rtol=1e-6)


# ---------------------------------------------------------------- IDX files and MNIST


def write_mnist_split(folder, prefix, images, labels, gz):
    suffix = ".gz" if gz else ""
    write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_idx_round_trip(tmp_path, gz, dtype):
    array = (np.arange(2 * 3 * 5) - 7).astype(dtype).reshape(2, 3, 5)
    if dtype == np.uint8:
        array = np.arange(30, dtype=np.uint8).reshape(2, 3, 5)
    path = write_idx(tmp_path / ("a.idx.gz" if gz else "a.idx"), array)
    loaded = read_idx(path)
    assert loaded.dtype == array.dtype and loaded.shape == array.shape
    np.testing.assert_array_equal(loaded, array)


def test_idx_header_is_big_endian_like_the_official_files(tmp_path):
    path = write_idx(tmp_path / "labels", np.arange(3, dtype=np.uint8))
    assert path.read_bytes() == bytes([0, 0, 8, 1, 0, 0, 0, 3, 0, 1, 2])


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_loads_generated_files(tmp_path, gz, rng):
    images = rng.integers(0, 256, size=(12, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=12).astype(np.uint8)
    write_mnist_split(tmp_path, "t10k", images, labels, gz)
    ds = MNIST(root=tmp_path, train=False, transform=T.ToTensor())
    assert ds.data.dtype == np.uint8 and ds.data.shape == (12, 28, 28)
    assert ds.targets.dtype == np.int64
    np.testing.assert_array_equal(ds.data, images)
    image, label = ds[3]
    assert label == labels[3] and isinstance(label, int)
    np.testing.assert_array_equal(image, images[3][None] / np.float32(255))
    fast = [numpy_of(b) for b in DataLoader(ds, 5, shuffle=True, generator=4)]
    slow_loader = DataLoader(ds, 5, shuffle=True, generator=4, collate_fn=per_sample)
    slow = [numpy_of(b) for b in slow_loader]
    for (fx, fy), (sx, sy) in zip(fast, slow, strict=True):
        assert fx.shape == sx.shape and fx.shape[1:] == (1, 28, 28)
        np.testing.assert_array_equal(fx, sx)
        np.testing.assert_array_equal(fy, sy)


def test_torchvision_folder_layout_and_env_var(tmp_path, monkeypatch, rng):
    images = rng.integers(0, 256, size=(3, 28, 28), dtype=np.uint8)
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    write_mnist_split(raw, "train", images, np.array([1, 2, 3], np.uint8), gz=True)
    assert FashionMNIST(root=tmp_path).targets.tolist() == [1, 2, 3]
    env_dir = tmp_path / "env" / "mnist"
    env_dir.mkdir(parents=True)
    write_mnist_split(env_dir, "train", images, np.array([4, 5, 6], np.uint8), gz=False)
    monkeypatch.setenv("TINYTORCH_DATA", str(tmp_path / "env"))
    assert MNIST().targets.tolist() == [4, 5, 6]


def test_missing_files_say_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(DatasetError, match="download=True") as info:
        MNIST(root=tmp_path)
    assert "train-images-idx3-ubyte" in str(info.value) and str(tmp_path) in str(info.value)
    with pytest.raises(DatasetError, match="apt-get install -y dataset-fashion-mnist"):
        FashionMNIST(root=tmp_path, train=False)


def test_truncated_idx_names_the_file(tmp_path, rng):
    images = rng.integers(0, 256, size=(4, 28, 28), dtype=np.uint8)
    write_mnist_split(tmp_path, "train", images, np.arange(4, dtype=np.uint8), gz=False)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DatasetError, match=r"train-images-idx3-ubyte: IDX file truncated"):
        MNIST(root=tmp_path)
    path.write_bytes(path.read_bytes()[:6])
    with pytest.raises(DatasetError, match="truncated IDX header"):
        read_idx(path)


def test_bad_magic_trailing_bytes_and_broken_gzip(tmp_path):
    bad = tmp_path / "bad-magic"
    bad.write_bytes(b"\x00\x01\x08\x01" + bytes(8))
    with pytest.raises(DatasetError, match="bad-magic: not an IDX file"):
        read_idx(bad)
    long = write_idx(tmp_path / "long", np.arange(4, dtype=np.uint8))
    long.write_bytes(long.read_bytes() + b"\x00")
    with pytest.raises(DatasetError, match="trailing bytes"):
        read_idx(long)
    cut = write_idx(tmp_path / "cut.gz", np.arange(5000, dtype=np.int32))
    cut.write_bytes(cut.read_bytes()[:-40])
    with pytest.raises(DatasetError, match=r"cut\.gz: corrupt or truncated gzip"):
        read_idx(cut)
    not_gzip = tmp_path / "plain.gz"
    not_gzip.write_bytes(b"this is not gzip data")
    with pytest.raises(DatasetError, match="plain.gz"):
        read_idx(not_gzip)


def test_label_count_mismatch_is_reported(tmp_path):
    images = np.zeros((4, 28, 28), np.uint8)
    write_mnist_split(tmp_path, "train", images, np.arange(3, dtype=np.uint8), gz=False)
    with pytest.raises(DatasetError, match="expected 4 labels"):
        MNIST(root=tmp_path)


# ---------------------------------------------------------------- CIFAR-10


def cifar_batch(rng, n):
    return {
        b"batch_label": b"generated batch",
        b"labels": rng.integers(0, 10, size=n).tolist(),
        b"data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8),
        b"filenames": [f"img_{i}.png".encode() for i in range(n)],
    }


def real_style_pickle(obj):
    """Protocol 2 naming numpy.core (as the official files, written by NumPy 1.x, do)."""
    return pickle.dumps(obj, protocol=2).replace(b"cnumpy._core.", b"cnumpy.core.")


def write_cifar(folder, rng, n=4):
    """The real layout: cifar-10-batches-py/ with pickled dicts (protocol 2, bytes keys)."""
    batches_dir = folder / "cifar-10-batches-py"
    batches_dir.mkdir(parents=True)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batches[name] = cifar_batch(rng, n)
        (batches_dir / name).write_bytes(real_style_pickle(batches[name]))
    names = [b"airplane", b"automobile", b"bird", b"cat", b"deer",
             b"dog", b"frog", b"horse", b"ship", b"truck"]  # fmt: skip
    meta = {b"num_cases_per_batch": n, b"label_names": names, b"num_vis": 3072}
    (batches_dir / "batches.meta").write_bytes(real_style_pickle(meta))
    return batches


def check_cifar(ds, batches, names):
    data = np.concatenate([batches[n][b"data"] for n in names])
    labels = sum((batches[n][b"labels"] for n in names), [])
    assert ds.data.shape == (len(labels), 32, 32, 3) and ds.data.dtype == np.uint8
    np.testing.assert_array_equal(ds.data, data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
    assert ds.targets.tolist() == labels and ds.classes[0] == "airplane"
    red_plane = data[0, :1024].reshape(32, 32)
    np.testing.assert_array_equal(ds.data[0, :, :, 0], red_plane)


def test_cifar10_round_trip(tmp_path, rng):
    batches = write_cifar(tmp_path, rng)
    train = CIFAR10(root=tmp_path)
    check_cifar(train, batches, [f"data_batch_{i}" for i in range(1, 6)])
    test = CIFAR10(root=tmp_path, train=False, transform=T.ToTensor())
    check_cifar(test, batches, ["test_batch"])
    image, label = test[1]
    assert image.shape == (3, 32, 32) and label == batches["test_batch"][b"labels"][1]
    xb, yb = next(iter(DataLoader(test, batch_size=4)))
    assert xb.shape == (4, 3, 32, 32) and xb.dtype == np.float32
    np.testing.assert_array_equal(xb.numpy()[1], image)


def test_cifar10_from_tar_gz(tmp_path, rng):
    source = tmp_path / "source"
    batches = write_cifar(source, rng)
    root = tmp_path / "root"
    root.mkdir()
    with tarfile.open(root / "cifar-10-python.tar.gz", "w:gz") as tar:
        tar.add(source / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    ds = CIFAR10(root=root, train=False)
    check_cifar(ds, batches, ["test_batch"])
    assert (root / "cifar-10-batches-py" / "data_batch_5").is_file()
    assert [p.name for p in root.iterdir() if p.name.startswith(".")] == []


def test_corrupt_cifar_batch_names_the_file(tmp_path, rng):
    write_cifar(tmp_path, rng)
    path = tmp_path / "cifar-10-batches-py" / "data_batch_3"
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DatasetError, match="data_batch_3: corrupt or truncated pickle"):
        CIFAR10(root=tmp_path)
    path.write_bytes(pickle.dumps({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}))
    with pytest.raises(DatasetError, match=r"data_batch_3: b'data' must be uint8 \(N, 3072\)"):
        CIFAR10(root=tmp_path)


class _Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_cifar_pickle_cannot_run_code(tmp_path, rng):
    write_cifar(tmp_path, rng)
    path = tmp_path / "cifar-10-batches-py" / "test_batch"
    path.write_bytes(pickle.dumps({b"data": _Exploit(), b"labels": []}, protocol=2))
    with pytest.raises(DatasetError, match="refusing to load (posix|os).system"):
        CIFAR10(root=tmp_path, train=False)


def test_truncated_and_malicious_archives_are_refused(tmp_path, rng):
    source = tmp_path / "source"
    write_cifar(source, rng)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(source / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    root = tmp_path / "root"
    root.mkdir()
    (root / "cifar-10-python.tar.gz").write_bytes(buffer.getvalue()[:1000])
    with pytest.raises(DatasetError, match="cifar-10-python.tar.gz: corrupt or truncated archive"):
        CIFAR10(root=root)
    assert sorted(p.name for p in root.iterdir()) == ["cifar-10-python.tar.gz"]
    evil = tmp_path / "evil.tar"
    with tarfile.open(evil, "w") as tar:
        payload = b"owned"
        info = tarfile.TarInfo("../escaped.txt")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    with pytest.raises(DatasetError, match="unsafe path"):
        extract_tar(evil, tmp_path / "out")
    assert not (tmp_path / "escaped.txt").exists()


# ---------------------------------------------------------------- downloads (file:// only)


def test_download_verifies_sha256_and_md5(tmp_path):
    source = tmp_path / "source.bin"
    source.write_bytes(os.urandom(3 * 2**20 + 17))
    sha = hashlib.sha256(source.read_bytes()).hexdigest()
    md5 = hashlib.md5(source.read_bytes()).hexdigest()
    got = download_url(source.as_uri(), tmp_path / "out" / "copy.bin", sha256=sha, progress=False)
    assert got.read_bytes() == source.read_bytes()
    got = download_url(source.as_uri(), tmp_path / "out" / "md5.bin", md5=md5, progress=False)
    assert got.read_bytes() == source.read_bytes()
    with pytest.raises(ValueError, match="exactly one"):
        download_url(source.as_uri(), tmp_path / "x", progress=False)


def test_download_checksum_mismatch_leaves_nothing(tmp_path):
    source = tmp_path / "source.bin"
    source.write_bytes(b"not what was published")
    out = tmp_path / "out"
    with pytest.raises(DatasetError, match="checksum mismatch for data.bin") as info:
        download_url(source.as_uri(), out / "data.bin", sha256="0" * 64, progress=False)
    assert "source.bin" in str(info.value)
    assert list(out.iterdir()) == []  # no data.bin, no .part file


def test_download_falls_back_to_the_next_mirror(tmp_path):
    source = tmp_path / "source.bin"
    source.write_bytes(b"payload")
    sha = hashlib.sha256(b"payload").hexdigest()
    missing = (tmp_path / "missing.bin").as_uri()
    got = download_url([missing, source.as_uri()], tmp_path / "out.bin", sha256=sha, progress=False)
    assert got.read_bytes() == b"payload"
    with pytest.raises(DatasetError, match="missing.bin"):
        download_url([missing], tmp_path / "none.bin", sha256=sha, progress=False)
    assert not (tmp_path / "none.bin").exists()


def test_plain_progress_bar_without_tqdm(tmp_path, monkeypatch, capsys):
    real_import = builtins.__import__

    def no_tqdm(name, *args, **kwargs):
        if name == "tqdm":
            raise ImportError("no tqdm here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    source = tmp_path / "source.bin"
    source.write_bytes(bytes(2**20))
    sha = hashlib.sha256(bytes(2**20)).hexdigest()
    download_url(source.as_uri(), tmp_path / "copy.bin", sha256=sha, progress=True)
    err = capsys.readouterr().err
    assert "copy.bin" in err and "100.0%" in err


def test_mnist_download_true_fetches_and_verifies(tmp_path, monkeypatch, rng):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    images = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    write_mnist_split(mirror, "t10k", images, np.arange(5, dtype=np.uint8), gz=True)
    sums = {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in mirror.iterdir()}
    mirrors = ((tmp_path / "gone").as_uri() + "/", mirror.as_uri() + "/")
    monkeypatch.setattr(MNIST, "mirrors", mirrors)
    monkeypatch.setattr(MNIST, "md5", sums)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    ds = MNIST(train=False, download=True)
    np.testing.assert_array_equal(ds.data, images)
    cached = tmp_path / "cache" / "tinytorch" / "mnist" / "t10k-images-idx3-ubyte.gz"
    assert cached.is_file()
    bad = dict(sums, **{"t10k-labels-idx1-ubyte.gz": "0" * 32})
    monkeypatch.setattr(MNIST, "md5", bad)
    with pytest.raises(DatasetError, match="checksum mismatch"):
        MNIST(root=tmp_path / "fresh", train=False, download=True)
    assert not (tmp_path / "fresh" / "t10k-labels-idx1-ubyte.gz").exists()


# ---------------------------------------------------------------- real data


@pytest.mark.skipif(
    not (FASHION_SYSTEM_DIR / "t10k-images-idx3-ubyte.gz").exists(),
    reason="Debian package dataset-fashion-mnist not installed",
)
def test_real_fashion_mnist_test_split(monkeypatch):
    monkeypatch.delenv("TINYTORCH_DATA", raising=False)
    ds = FashionMNIST(train=False)
    assert ds.data.shape == (10000, 28, 28) and ds.data.dtype == np.uint8
    assert np.bincount(ds.targets).tolist() == [1000] * 10  # balanced classes
    assert ds.classes[9] == "Ankle boot" and ds.targets[0] == 9
    raw = gzip.decompress((FASHION_SYSTEM_DIR / "t10k-images-idx3-ubyte.gz").read_bytes())
    np.testing.assert_array_equal(ds.data[-1].ravel(), np.frombuffer(raw[-784:], np.uint8))
    loader = DataLoader(ds, batch_size=1000, drop_last=True)
    assert sum(xb.shape[0] for xb, _ in loader) == 10000


@pytest.mark.skipif(
    not (FASHION_SYSTEM_DIR / "train-images-idx3-ubyte.gz").exists(),
    reason="Debian package dataset-fashion-mnist not installed",
)
def test_real_fashion_mnist_train_split(monkeypatch):
    monkeypatch.delenv("TINYTORCH_DATA", raising=False)
    ds = FashionMNIST(train=True)
    assert ds.data.shape == (60000, 28, 28)
    assert np.bincount(ds.targets).tolist() == [6000] * 10


@pytest.mark.slow  # importing scikit-learn alone takes about a second
def test_digits_from_sklearn():
    pytest.importorskip("sklearn")
    from tinytorch.data import Digits

    train, test = Digits(train=True), Digits(train=False, transform=T.ToTensor())
    assert len(train) == 1437 and len(test) == 360
    assert train.data.shape[1:] == (8, 8) and train.data.dtype == np.uint8
    assert train.data.max() == 255 and set(np.unique(train.targets)) == set(range(10))
    xb, yb = next(iter(DataLoader(test, batch_size=32)))
    assert xb.shape == (32, 1, 8, 8) and float(xb.numpy().max()) <= 1.0

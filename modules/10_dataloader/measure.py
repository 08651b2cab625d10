"""Module 10 systems questions, measured: load time, memory, per-sample vs batched loading.

Needs Fashion-MNIST: ``apt-get install -y dataset-fashion-mnist``
(or run ``FashionMNIST(download=True)`` once).
"""

import gzip
import tempfile
from pathlib import Path

import numpy as np

from tinytorch.data import DataLoader, FashionMNIST, TensorDataset, default_collate
from tinytorch.data import transforms as T
from tinytorch.utils.benchmark import benchmark


def samples_per_second(loader):
    def one_epoch():
        return sum(x.shape[0] for x, _ in loader)
    run = benchmark(one_epoch, warmup=1, repeats=2)
    return run.result / run.min


def per_sample(samples):
    """default_collate under another name: makes the loader call dataset[i] once per sample."""
    return default_collate(samples)


train = FashionMNIST(train=True)
# The gunzip-vs-raw comparison needs the .gz files; it uses Debian's copy when present.
files = {p.name: p for p in Path(FashionMNIST.system_dirs[0]).glob("train-*.gz")}
load_gz = benchmark(lambda: FashionMNIST(train=True), repeats=3).median
print(f"load FashionMNIST(train) from .gz: {load_gz:.3f} s")
if files:
    images_gz = files["train-images-idx3-ubyte.gz"]
    gunzip = benchmark(lambda: gzip.decompress(images_gz.read_bytes())).median
    print(f"  of which gunzip of the 26 MB image file: {gunzip:.3f} s")
    with tempfile.TemporaryDirectory() as raw:
        for name, path in files.items():
            (Path(raw) / name.removesuffix(".gz")).write_bytes(gzip.decompress(path.read_bytes()))
        load_raw = benchmark(lambda: FashionMNIST(root=raw), repeats=3).median
        print(f"load from uncompressed IDX: {load_raw:.3f} s")

megabytes = train.data.nbytes / 1e6
print(f"memory: uint8 {megabytes:.1f} MB, as float32 {megabytes * 4:.1f} MB "
      f"(CIFAR-10 train: {50000 * 3072 / 1e6:.1f} MB vs {50000 * 3072 * 4 / 1e6:.1f} MB)")

pipelines = {
    "no transform": None,
    "ToTensor+Normalize": T.Compose([T.ToTensor(), T.Normalize(0.2860, 0.3530)]),
    "+RandomCrop(pad 4)+flip": T.Compose([T.ToTensor(), T.RandomCrop(28, padding=4, generator=0),
                                          T.RandomHorizontalFlip(generator=0)]),
}
for name, transform in pipelines.items():
    train.transform = transform
    for batch_size in (64, 256):
        fast = samples_per_second(DataLoader(train, batch_size, shuffle=True, generator=0))
        slow = samples_per_second(
            DataLoader(train, batch_size, shuffle=True, generator=0, collate_fn=per_sample))
        print(f"{name:24s} B={batch_size:3d}: batched {fast:9.0f} samples/s, per-sample "
              f"{slow:8.0f} samples/s ({fast / slow:4.1f}x); epoch {60000 / fast:.3f} s vs "
              f"{60000 / slow:.2f} s")

floats = TensorDataset((train.data[:, None] / np.float32(255)).astype(np.float32), train.targets)
fast = samples_per_second(DataLoader(floats, 64, shuffle=True, generator=0))
slow = samples_per_second(DataLoader(floats, 64, shuffle=True, generator=0, collate_fn=per_sample))
print(f"TensorDataset float32   B= 64: batched {fast:9.0f} samples/s, per-sample {slow:8.0f} "
      f"samples/s ({fast / slow:4.1f}x)")

"""Module 20: the CNN workload -- LeNet-style CNN on Fashion-MNIST (or any image arrays).

Quality is test accuracy on the held-out test split; the speed the targets use is the
median time of one forward over a batch of ``latency_batch`` test images; single-stream
latency is one image per query; offline throughput is the whole test split in batches
(the same pass that gives the accuracy, as MLPerf scores the run it timed).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

import numpy as np

import tinytorch as tt
from tinytorch import nn, quant
from tinytorch.backends import available_backends, use_backend
from tinytorch.capstone.ladder import Measured, System
from tinytorch.capstone.measure import op_breakdown, peak_bytes, single_stream
from tinytorch.milestones.compression_common import Arrays, load_fashion, parameters, train
from tinytorch.models import lenet
from tinytorch.utils.benchmark import Stopwatch, benchmark

__all__ = ["CNNConfig", "CNNWorkload", "FULL", "QUICK", "load_data", "student_like"]


@dataclass(frozen=True)
class CNNConfig:
    train_limit: int | None      # first N training images (None: all 60,000)
    test_limit: int | None       # first N test images (None: all 10,000)
    epochs: int                  # training of the baseline model
    finetune_epochs: int         # after structured shrinking
    shrink: float                # fraction of the channels of every hidden layer removed
    student_epochs: int          # distillation
    latency_batch: int = 256
    queries: int = 100           # single-stream queries per rung
    calibration: int = 512       # training images for static quantization
    seed: int = 0


FULL = CNNConfig(train_limit=None, test_limit=None, epochs=3, finetune_epochs=1, shrink=0.5,
                 student_epochs=3, queries=200)
QUICK = CNNConfig(train_limit=12000, test_limit=2000, epochs=2, finetune_epochs=1, shrink=0.5,
                  student_epochs=2, queries=60)


def load_data(config: CNNConfig, data_dir: str | None = None, download: bool = False) -> Arrays:
    """Fashion-MNIST as arrays (raises ``data.DatasetError`` with the fix when missing)."""
    args = argparse.Namespace(data_dir=data_dir, download=download, limit=config.train_limit,
                              test_limit=config.test_limit)
    return load_fashion(args)


def _training_backend() -> str:
    return "native" if "native" in available_backends() else "numpy"


def student_like(channels: int, size: int, classes: int) -> nn.Sequential:
    """A LeNet-shaped student with 8 and 16 channels and 64 hidden units."""
    flat = 16 * (size // 4) * (size // 4)
    return nn.Sequential(nn.Conv2d(channels, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(flat, 64), nn.ReLU(), nn.Linear(64, classes))


class CNNWorkload:
    """The ladder's view of the CNN: build, train, serve and measure it."""

    name = "cnn"
    metric = "test accuracy"
    higher_is_better = True
    budget = 0.01                # 1 accuracy point
    throughput_unit = "images/s"

    def __init__(self, data: Arrays, config: CNNConfig, model: nn.Module | None = None,
                 log: Any = print) -> None:
        self.data, self.config, self.log = data, config, log
        self.channels, self.size = data.x_train.shape[1], data.x_train.shape[-1]
        self.classes = int(max(data.y_train.max(), data.y_test.max())) + 1
        self.primary_unit = f"batch of {min(config.latency_batch, len(data.x_test))}"
        self.trained_seconds = 0.0
        if model is None:
            tt.manual_seed(config.seed)
            model = lenet(self.channels, self.size, self.classes)
            self.log(f"training the baseline CNN ({parameters(model):,} parameters) on "
                     f"{len(data.x_train):,} images for {config.epochs} epochs")
            self.train(model, config.epochs, 1e-3, config.seed)
        self.teacher = model.eval()

    # ---- what the steps call ------------------------------------------------------------
    def train(self, model: nn.Module, epochs: int, lr: float, seed: int) -> None:
        """Adam on the training split (on the fastest backend: training is not measured)."""
        clock = Stopwatch()
        with use_backend(_training_backend()):
            train(model, self.data, epochs, lr, seed)
        self.trained_seconds += clock.seconds
        model.eval()

    def logits(self, model: nn.Module, x: np.ndarray, batch_size: int = 500) -> np.ndarray:
        model.eval()
        with tt.no_grad():
            return np.concatenate([model(tt.Tensor(x[s:s + batch_size])).data
                                   for s in range(0, len(x), batch_size)])

    def initial_system(self) -> System:
        return System(self.teacher, backend="numpy")

    def serve(self, system: System) -> nn.Module:
        """The model the rung measures: the float weights, quantized as the system says."""
        if system.served is not None:
            return system.served
        model = system.model.eval()
        if system.quantization == "static":
            # each Conv2d / Linear and its ReLU become one int8 layer (ReLU in the epilogue)
            prepared = quant.prepare(quant.fuse_modules(model, quant.fusable_modules(model)))
            with use_backend(_training_backend()), tt.no_grad():
                x = self.data.x_train[:self.config.calibration]
                for s in range(0, len(x), 128):
                    prepared(tt.Tensor(x[s:s + 128]))
            model = quant.convert(prepared)
        elif system.quantization == "dynamic":
            model = quant.quantize_dynamic(model)
        elif system.quantization != "none":
            raise ValueError(f"unknown quantization {system.quantization!r}")
        object.__setattr__(system, "served", model)
        return model

    # ---- measuring ------------------------------------------------------------------------
    def measure(self, system: System) -> Measured:
        model = self.serve(system)
        x_test, y_test = self.data.x_test, self.data.y_test
        batch = tt.Tensor(x_test[:self.config.latency_batch])
        one = [tt.Tensor(x_test[i:i + 1]) for i in range(min(len(x_test), 64))]
        order = iter(range(10**9))

        def forward(x: tt.Tensor) -> Any:
            with tt.no_grad():
                return model(x)

        def query() -> Any:
            return forward(one[next(order) % len(one)])

        def everything() -> np.ndarray:
            return self.logits(model, x_test, self.config.latency_batch)

        with use_backend(system.backend):
            # a pass of more than 10 ms is timed once (benchmark's rule for long calls): the
            # numpy baseline takes minutes over the full test split
            offline = benchmark(everything, min_time=0.0)
            accuracy = float((offline.result.argmax(axis=1) == y_test).mean())
            per_batch = benchmark(forward, batch, warmup=1, min_time=0.5)
            stream = single_stream(query, self.config.queries)
            peak = peak_bytes(lambda: forward(batch))
            ops = op_breakdown(lambda: forward(batch))
        return Measured(quality=accuracy, latency_p50_s=stream.median,
                        latency_p99_s=stream.p99, primary_s=per_batch.median,
                        throughput=len(x_test) / offline.median,
                        size_bytes=quant.model_size_bytes(model), peak_memory_bytes=peak,
                        top_ops=ops, noisy=per_batch.noisy)

    def describe(self) -> dict[str, Any]:
        c = self.config
        return {"model": "LeNet-style CNN (models.lenet)",
                "data": f"{len(self.data.x_train):,} training / {len(self.data.x_test):,} "
                        f"held-out test images, {self.channels}x{self.size}x{self.size}",
                "parameters": parameters(self.teacher), "epochs": c.epochs,
                "quality": "test accuracy on the held-out test split",
                "speed": f"median forward time of a batch of {c.latency_batch} test images",
                "single_stream": f"{c.queries} one-image queries",
                "baseline": "the trained float32 model on the numpy backend"}

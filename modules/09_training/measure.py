"""Module 09 systems questions, measured: where a training step's time goes, checkpoint size."""

import os
import tempfile

import numpy as np

import tinytorch as tt
from tinytorch import nn, optim
from tinytorch.training import ArrayBatches, Trainer, make_toy_images
from tinytorch.utils.benchmark import Stopwatch, benchmark

tt.manual_seed(0)
x, y = make_toy_images(8192, size=28, seed=0)
model = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 2))
optimizer = optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.CrossEntropyLoss()
parts = dict.fromkeys(("batching", "forward+loss", "backward", "optimizer step"), 0.0)
for _ in range(2):  # the first pass warms up caches and thread pools; keep the second
    parts = dict.fromkeys(parts, 0.0)
    clock = Stopwatch()  # one clock, read at each phase boundary
    last = clock.seconds
    for xb, yb in ArrayBatches(x, y, batch_size=128, seed=0):
        now = clock.seconds
        parts["batching"] += now - last
        loss = loss_fn(model(xb), yb)
        t1 = clock.seconds
        optimizer.zero_grad()
        loss.backward()
        t2 = clock.seconds
        optimizer.step()
        last = clock.seconds
        parts["forward+loss"] += t1 - now
        parts["backward"] += t2 - t1
        parts["optimizer step"] += last - t2
total = sum(parts.values())
print(f"MLP 784-256-2, batch 128, 8192 toy images, backend {tt.get_backend()}: "
      f"{len(x) / total:,.0f} samples/s")
for name, seconds in parts.items():
    print(f"  {name:<15} {seconds * 1e3:7.1f} ms  {seconds / total:5.1%}")

trainer = Trainer(model, optimizer, loss_fn, progress=False, log=None)
with tempfile.TemporaryDirectory() as folder:
    path = os.path.join(folder, "ckpt.npz")
    saved = benchmark(trainer.save_checkpoint, path, warmup=0, repeats=3).median
    params = sum(p.data.nbytes for p in model.parameters())
    print(f"checkpoint: {os.path.getsize(path):,} bytes for {params:,} bytes of parameters "
          f"(Adam keeps 2 more copies), written in {saved * 1e3:.1f} ms")
    state = np.load(path)
    print(f"  {len(state.files)} arrays inside, readable with numpy.load (no pickle)")

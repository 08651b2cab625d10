"""Helper for test_09_training: one training run in its own process.

    python _resume_run.py full OUT.json
    python _resume_run.py first-half CKPT OUT.json
    python _resume_run.py second-half CKPT OUT.json   (a fresh process resumes CKPT)
"""

import json
import sys

import tinytorch as tt
from tinytorch import nn, optim
from tinytorch.training import Trainer, make_toy_images

EPOCHS, HALF = 4, 2


def build(seed: int):
    tt.manual_seed(seed)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Dropout(0.2),
                          nn.Linear(32, 2))
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    trainer = Trainer(model, optimizer, nn.CrossEntropyLoss(), scheduler=scheduler,
                      clip_grad_norm=1.0, progress=False, log=None)
    return trainer


def main() -> None:
    phase = sys.argv[1]
    data = make_toy_images(256, size=8, seed=1)
    if phase == "full":
        trainer = build(seed=0)
        trainer.fit(data, EPOCHS, batch_size=32, seed=5)
        out = sys.argv[2]
    elif phase == "first-half":
        trainer = build(seed=0)
        trainer.fit(data, HALF, batch_size=32, seed=5, checkpoint_path=sys.argv[2])
        out = sys.argv[3]
    else:
        trainer = build(seed=123)  # different initial weights: the checkpoint must win
        trainer.load_checkpoint(sys.argv[2], data, batch_size=32, seed=999)
        trainer.fit(data, EPOCHS)
        out = sys.argv[3]
    with open(out, "w") as f:
        json.dump({"step_losses": trainer.step_losses, "epoch": trainer.epoch,
                   "history": trainer.history}, f)


if __name__ == "__main__":
    main()

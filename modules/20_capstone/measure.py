"""Module 20: the measured ladders of this guide, regenerated.

    python modules/20_capstone/measure.py [--full] [--threads N]

Runs ``tinytorch capstone --model tinygpt`` and ``--model cnn`` (``--quick`` unless
``--full``) into ``capstone-measure/<model>/`` and prints both ladder tables, the targets
and the wall time of each run -- the tables of modules/20_capstone/README.md.
"""

import json
import sys
from pathlib import Path

from tinytorch.capstone.report import ladder_table
from tinytorch.cli import main
from tinytorch.utils.benchmark import Stopwatch
from tinytorch.utils.machine import describe

FULL = "--full" in sys.argv
THREADS = sys.argv[sys.argv.index("--threads") + 1] if "--threads" in sys.argv else None

if __name__ == "__main__":
    print(f"machine: {describe()['cpu']}")
    codes = []
    for model in ("tinygpt", "cnn"):
        out = Path("capstone-measure") / model
        argv = ["capstone", "--model", model, "--out", str(out)]
        argv += [] if FULL else ["--quick"]
        argv += ["--threads", THREADS] if THREADS else []
        with Stopwatch() as clock:
            codes.append(main(argv))
        doc = json.loads((out / "submission.json").read_text(encoding="utf-8"))
        print(f"\n### {model}{'' if FULL else ' --quick'}: {clock.seconds / 60:.1f} min wall\n")
        print(ladder_table(doc))
        for t in doc["targets"]:
            print(f"- [{'met' if t['passed'] else 'MISSED'}] {t['name']}: {t['value']:.4g} "
                  f"(target {t['target']})")
    sys.exit(max(codes))

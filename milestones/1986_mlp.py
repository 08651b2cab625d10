"""1986 MLP: same as `tinytorch milestone mlp [options]`."""

import sys

from tinytorch.cli import main

if __name__ == "__main__":
    sys.exit(main(["milestone", "mlp", *sys.argv[1:]]))

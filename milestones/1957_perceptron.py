"""1957 Perceptron: same as `tinytorch milestone perceptron [options]`."""

import sys

from tinytorch.cli import main

if __name__ == "__main__":
    sys.exit(main(["milestone", "perceptron", *sys.argv[1:]]))

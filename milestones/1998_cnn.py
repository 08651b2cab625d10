"""1998 CNN: same as `tinytorch milestone cnn [options]`."""

import sys

from tinytorch.cli import main

if __name__ == "__main__":
    sys.exit(main(["milestone", "cnn", *sys.argv[1:]]))

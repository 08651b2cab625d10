"""1969 XOR: same as `tinytorch milestone xor [options]`."""

import sys

from tinytorch.cli import main

if __name__ == "__main__":
    sys.exit(main(["milestone", "xor", *sys.argv[1:]]))

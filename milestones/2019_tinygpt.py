"""2019 TinyGPT: same as `tinytorch milestone tinygpt [options]`."""

import sys

from tinytorch.cli import main

if __name__ == "__main__":
    sys.exit(main(["milestone", "tinygpt", *sys.argv[1:]]))

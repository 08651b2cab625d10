"""``python -m tinytorch`` runs the ``tinytorch`` command."""

import sys

from tinytorch.cli import main

sys.exit(main())

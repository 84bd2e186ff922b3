"""``python -m core.faces``: see :mod:`core.faces.cli`."""

import sys

from core.cli import run_cli
from core.faces.cli import PROG, main

if __name__ == "__main__":
    sys.exit(run_cli(main, prog=PROG))

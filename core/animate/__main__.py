"""``python -m core.animate animate|record-motion ...`` (same commands as ``python -m core.fomm``)."""

import sys
from functools import partial

from core.animate.cli import main
from core.cli import run_cli

PROG = "python -m core.animate"

if __name__ == "__main__":
    sys.exit(run_cli(partial(main, prog=PROG), prog=PROG))

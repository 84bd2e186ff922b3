"""``python -m core.animate animate|record-motion ...`` (also reached as ``python -m core.fomm``)."""

import sys
from functools import partial

from core.animate.cli import main
from core.cli import run_cli

# The name errors and --help use: the spelling the user typed (core.fomm's entry point sets it).
PROG = globals().get("INVOKED_AS") or "python -m core.animate"

if __name__ == "__main__":
    sys.exit(run_cli(partial(main, prog=PROG), prog=PROG))

"""``python -m core.fomm animate ...``: the animation pipeline (:mod:`core.animate`) on the command line.

The model package never imports the pipeline; only this entry point does.
"""

import sys
from functools import partial

from core.animate.cli import main
from core.cli import run_cli

PROG = "python -m core.fomm"

if __name__ == "__main__":
    sys.exit(run_cli(partial(main, prog=PROG), prog=PROG))

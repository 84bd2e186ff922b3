"""``python -m core.stylegan2.training ...``: the training command line (see cli.py)."""

import sys

from core.cli import run_cli
from core.stylegan2.training.cli import PROG, main

sys.exit(run_cli(main, prog=PROG))

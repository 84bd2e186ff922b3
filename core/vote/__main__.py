"""``python -m core.vote ...``: the live vote's command line (see cli.py)."""

import sys

from core.cli import run_cli
from core.vote.cli import PROG, main

sys.exit(run_cli(main, prog=PROG))

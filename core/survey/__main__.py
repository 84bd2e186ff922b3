"""Command line: ``python -m core.survey report CSV [--question TEXT] [--claim P] [--json]`` (cli.py)."""

import sys

from core.cli import run_cli
from core.survey.cli import PROG, command

sys.exit(run_cli(command, prog=PROG))

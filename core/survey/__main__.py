"""Command line: ``python -m core.survey report CSV [--question TEXT] [--claim P] [--json]`` (see command)."""

import sys

from core.cli import run_cli
from core.survey.command import PROG, command

sys.exit(run_cli(command, prog=PROG))

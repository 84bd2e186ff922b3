"""``python -m core.jobs ...``: launch, status and cancel of background jobs (see cli.py)."""

import sys

from core.cli import run_cli
from core.jobs.cli import main

sys.exit(run_cli(main, prog="python -m core.jobs"))

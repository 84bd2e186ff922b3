"""``python -m core.show prepare|export|demo|list|status|new|add|prune`` (see :mod:`core.show.cli`)."""

import sys

from core.cli import run_cli
from core.show.cli import PROG, main

sys.exit(run_cli(main, prog=PROG))

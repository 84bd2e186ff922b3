"""``python -m core.dcgan train|sample|export`` (see core/dcgan/commands.py for the options)."""

import sys

from core.cli import run_cli
from core.dcgan.commands import PROG, main

if __name__ == "__main__":
    sys.exit(run_cli(main, prog=PROG))

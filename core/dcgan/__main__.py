"""``python -m core.dcgan train|sample|export`` (see core/dcgan/cli.py for the options)."""

import sys

from core.cli import run_cli
from core.dcgan.cli import PROG, main

if __name__ == "__main__":
    sys.exit(run_cli(main, prog=PROG))

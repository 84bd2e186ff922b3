import sys

from core.cli import run_cli
from core.provenance.cli import PROG, main

sys.exit(run_cli(main, prog=PROG))

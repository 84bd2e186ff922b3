"""``python -m core.stylegan2 {list,download,info}``: see :mod:`core.stylegan2.cli`."""

import sys

from core.cli import run_cli
from core.stylegan2.cli import PROG, main

sys.exit(run_cli(main, prog=PROG))

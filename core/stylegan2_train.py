"""Old spelling: ``python -m core.stylegan2_train …`` runs ``python -m core.stylegan2.train …``."""
import sys

from core.cli import run_cli
from core.stylegan2.train import main

if __name__ == "__main__":
    sys.exit(run_cli(main, prog="python -m core.stylegan2_train"))

"""Command line (``python -m core.provenance``)::

    python -m core.provenance verify FILE [--json]   # what made the file; is its manifest intact?
    python -m core.provenance sign FILE --generator NAME [--model M ...]   # sign a file made elsewhere
    python -m core.provenance licences               # the licence ledger
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from core.cli import ArgumentParser

PROG = "python -m core.provenance"


def main(argv: Sequence[str] | None = None) -> int:
    from core import provenance as pv

    p = ArgumentParser(prog=PROG,
                       description="Content credentials, labels and licences of Custom Cast exports.")
    sub = p.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("verify", help="print what made a file and whether its manifest is intact")
    v.add_argument("file")
    v.add_argument("--json", action="store_true", help="machine-readable output")
    v.add_argument("--no-watermark", action="store_true", help="skip the (slower) watermark check")
    s = sub.add_parser("sign", help="sign a file (PNG, JPEG, GIF, MP4, ZIP; HTML gets a .c2pa sidecar)")
    s.add_argument("file")
    s.add_argument("--generator", required=True, help="what made it, e.g. 'StyleGAN2 sampler'")
    s.add_argument("--model", action="append", default=[], help="model file or ledger key (repeatable)")
    sub.add_parser("licences", help="list the licence of every model Custom Cast can load")
    a = p.parse_args(argv)
    if a.cmd == "verify":
        result = pv.verify(a.file, check_watermark=not a.no_watermark)
        print(json.dumps(result.as_dict(), indent=1) if a.json else pv.describe(result))
        return 0 if result.intact is not False else 1
    if a.cmd == "sign":
        from pathlib import Path

        origin = pv.Origin(a.generator, tuple(a.model), title=Path(a.file).name)
        print(pv.seal_file(a.file, origin, pv.settings_from_env().with_(allow_unsigned=False),
                           watermarked=False).message)
        return 0
    for lic in pv.LEDGER.values():
        print(f"{lic.key:18s} {lic.licence} — {lic.use}\n{'':18s} trained on: {lic.data}")
    return 0

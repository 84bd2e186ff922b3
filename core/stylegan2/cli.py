"""Command line of the StyleGAN2 family (``python -m core.stylegan2``)::

    python -m core.stylegan2 list                    # official weights that can be downloaded
    python -m core.stylegan2 download ffhq-1024 --accept-licence  # official pickle, checkpoints/downloads
    python -m core.stylegan2 info PATH               # load a generator safely and print its config

Training has its own command, ``python -m core.stylegan2.train`` (see :mod:`core.stylegan2.train`).
User errors raise (CheckpointError, UserError) and :func:`core.cli.run_cli` prints them as one line.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from core.cli import ArgumentParser, UserError

PROG = "python -m core.stylegan2"


def main(argv: Sequence[str] | None = None) -> int:
    from core import download as dl
    from core.stylegan2.loading import load_generator

    p = ArgumentParser(prog=PROG, description="StyleGAN2 weights: list, download, inspect.")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="list the official StyleGAN2 weights")
    d = sub.add_parser("download", help="download official StyleGAN2 weights (resumable, checksummed)")
    d.add_argument("key", help="e.g. ffhq-1024, metfaces (see `list`)")
    d.add_argument("--dest", default=None, help="folder (default checkpoints/downloads)")
    d.add_argument("--url", default=None, help="mirror URL instead of the official one")
    d.add_argument("--accept-licence", "--accept-license", dest="accept_licence", action="store_true",
                   help="accept NVIDIA's licence of the weights (research and non-commercial use)")
    i = sub.add_parser("info", help="load a generator safely and print its config")
    i.add_argument("path")
    a = p.parse_args(argv)
    if a.cmd == "list":
        for w in dl.OFFICIAL_WEIGHTS.values():
            if w.family == "stylegan2":
                print(f"{w.key:14s} ~{w.size_mb:4d} MB  {w.description}\n{'':14s} {w.url}\n{'':14s} licence: "
                      f"{dl.licence_notice(w.key)}")
        return 0
    if a.cmd == "download":
        known = [k for k, w in dl.OFFICIAL_WEIGHTS.items() if w.family == "stylegan2"]
        if a.key not in known:
            raise UserError(f"'{a.key}' is not an official StyleGAN2 network; choose one of "
                            f"{', '.join(known)}")
        progress_shown = []

        def progress(done: int, total: int | None, rate: float) -> None:
            progress_shown.append(True)
            dl._print_progress(done, total, rate)

        try:
            path = dl.fetch_official(a.key, a.dest, progress, a.url, accept_licence=a.accept_licence)
        except dl.DownloadError as e:
            if progress_shown:
                print(file=sys.stderr)  # end the progress line so the error stands on its own
            raise UserError(str(e)) from None
        print(f"{chr(10) if progress_shown else ''}saved {path} under the licence you accepted: "
              f"{dl.licence_notice(a.key)}", file=sys.stderr)
        return 0
    G = load_generator(a.path)
    n = sum(t.numel() for t in G.state_dict().values())
    print(f"{a.path}: {G.source_info['kind']}, {G.img_resolution} px, num_ws {G.num_ws}, "
          f"{n / 1e6:.1f}M values")
    print(G.init_kwargs)
    return 0

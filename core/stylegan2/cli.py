"""Command line of the StyleGAN2 family (``python -m core.stylegan2``)::

    python -m core.stylegan2 list                    # official weights that can be downloaded
    python -m core.stylegan2 download ffhq-1024 --accept-licence  # official pickle, checkpoints/downloads
    python -m core.stylegan2 info PATH               # load a generator safely and print its config
    python -m core.stylegan2 sample --network FILE --seeds 1-8 [--psi 0.7] [--out DIR] [--device D]
                                                     # one PNG per seed (seed0001.png, as generate.py)

Training has its own command, ``python -m core.stylegan2.training`` (see :mod:`core.stylegan2.training`).
User errors raise (CheckpointError, UserError) and :func:`core.cli.run_cli` prints them as one line.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from core.checks import float_flag
from core.cli import ArgumentParser, UserError
from core.device import add_device_argument

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
    s = sub.add_parser("sample", help="draw one PNG per seed (official generate.py naming)")
    s.add_argument("--network", required=True, help="official .pkl or project .pt generator")
    s.add_argument("--seeds", required=True, help="e.g. 1-8 or 3,7,42")
    s.add_argument("--psi", type=float_flag(0.0, 2.0), default=1.0,
                   help="truncation psi (official default 1)")
    s.add_argument("--noise-mode", choices=("const", "none", "random"), default="const")
    s.add_argument("--precision", choices=("auto", "fp32", "bf16", "reference"), default="auto",
                   help="CPU renderer: auto (fast fp32 for large models), fp32, bf16 or reference")
    s.add_argument("--out", default="out", help="folder for the PNGs (default ./out)")
    s.add_argument("--overwrite", action="store_true", help="replace PNGs that already exist")
    add_device_argument(s)
    a = p.parse_args(argv)
    if a.cmd == "sample":
        return sample(a)
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


def sample(a) -> int:
    """``sample``: every check before the first picture (seeds, psi, the folder, files that would be
    overwritten, the device, the network), then one atomic PNG per seed as it is drawn."""
    import time
    from pathlib import Path

    from core.checkpoint import atomic_write_bytes
    from core.device import choose_device, describe, run_with_cpu_fallback
    from core.image.convert import png_bytes
    from core.stylegan2.latents import parse_seeds, seeds_to_ws
    from core.stylegan2.loading import load_generator
    from core.stylegan2.sampling import render_precision, synthesize

    try:
        seeds = parse_seeds(a.seeds, limit=100_000)
    except ValueError as e:
        raise UserError(f"--seeds: {e}") from None
    out = Path(a.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file, not a folder")
    targets = {seed: out / f"seed{seed:04d}.png" for seed in seeds}
    existing = [p for p in targets.values() if p.exists()]
    if existing and not a.overwrite:
        raise UserError(f"{existing[0]} already exists ({len(existing)} of the {len(seeds)} PNGs would be "
                        "replaced); pass --overwrite to replace them or choose another --out")
    device = choose_device(a.device).device
    G = load_generator(a.network)
    out.mkdir(parents=True, exist_ok=True)
    state = {"G": G, "device": "cpu"}

    def on(dev: str):
        if state["device"] != dev:
            state["G"] = state["G"].to(dev)
            state["device"] = dev
        return state["G"]

    def warn(line: str) -> None:
        print(line, file=sys.stderr)

    shown = False
    for seed, path in targets.items():
        t0 = time.perf_counter()

        def draw(dev: str, seed: int = seed):
            Gd = on(dev)
            ws = seeds_to_ws(Gd, [seed], a.psi)
            return synthesize(Gd, ws, a.noise_mode, noise_seed=seed, precision=a.precision)[0]

        image, device = run_with_cpu_fallback(draw, device, warn)
        if not shown:
            print(describe(device, render_precision(state["G"], a.noise_mode, a.precision)), file=sys.stderr)
            shown = True
        atomic_write_bytes(path, png_bytes(image))
        print(f"{path} ({time.perf_counter() - t0:.2f} s)")
    return 0

"""Resumable, checksummed downloads of official weights (StyleGAN2-ADA pickles, FOMM vox-cpk).

The URL list lives here, in one place. Downloads go to ``<name>.partial`` and resume with an HTTP
``Range`` request; the file is renamed into place only when its SHA-256 matches (when one is
known). Nothing in the test-suite reaches the internet: tests serve files from loopback.

Command line::

    python -m core.download list
    python -m core.download get ffhq-1024 --accept-licence [--dest DIR]
    python -m core.download url URL --dest DIR [--sha256 HEX]
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import core
from core import DOWNLOADS_DIR
from core.checkpoint import publish_file
from core.cli import ArgumentParser, run_cli

PROG = "python -m core.download"


@dataclass(frozen=True)
class Weights:
    key: str          # short name used on the command line and in the app
    family: str       # "stylegan2" or "fomm"
    url: str          # official location
    filename: str     # name on disk
    sha256: str | None  # known digest, or None when the publisher gives none
    size_mb: int      # approximate size, for the UI
    description: str


OFFICIAL_WEIGHTS: dict[str, Weights] = {w.key: w for w in [
    # StyleGAN2 URLs as published in the official READMEs: NVlabs/stylegan3 ("StyleGAN2 pre-trained
    # models compatible with this codebase", NGC) and NVlabs/stylegan2-ada-pytorch ("Data repository").
    # NVIDIA publishes no checksums; sha256 stays None (size and a successful safe load are the checks).
    Weights("ffhq-1024", "stylegan2",
            "https://api.ngc.nvidia.com/v2/models/nvidia/research/stylegan2/versions/1/files/"
            "stylegan2-ffhq-1024x1024.pkl",
            "stylegan2-ffhq-1024x1024.pkl", None, 364,
            "StyleGAN2 config F, FFHQ 1024 px (NGC release of the stylegan3 repo)"),
    Weights("ffhq-512", "stylegan2",
            "https://api.ngc.nvidia.com/v2/models/nvidia/research/stylegan2/versions/1/files/"
            "stylegan2-ffhq-512x512.pkl",
            "stylegan2-ffhq-512x512.pkl", None, 350, "StyleGAN2, FFHQ 512 px (NGC)"),
    Weights("ffhq-256", "stylegan2",
            "https://api.ngc.nvidia.com/v2/models/nvidia/research/stylegan2/versions/1/files/"
            "stylegan2-ffhq-256x256.pkl",
            "stylegan2-ffhq-256x256.pkl", None, 280, "StyleGAN2, FFHQ 256 px (NGC)"),
    Weights("metfaces", "stylegan2",
            "https://api.ngc.nvidia.com/v2/models/nvidia/research/stylegan2/versions/1/files/"
            "stylegan2-metfaces-1024x1024.pkl",
            "stylegan2-metfaces-1024x1024.pkl", None, 364,
            "StyleGAN2-ADA, MetFaces 1024 px, transfer from FFHQ (NGC)"),
    Weights("ffhq-1024-ada", "stylegan2",
            "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/ffhq.pkl",
            "stylegan2-ada-ffhq.pkl", None, 364,
            "FFHQ 1024 px, original StyleGAN2 (stylegan2-ada-pytorch data repository)"),
    Weights("metfaces-ada", "stylegan2",
            "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metfaces.pkl",
            "stylegan2-ada-metfaces.pkl", None, 364,
            "MetFaces 1024 px, ADA transfer from FFHQ (stylegan2-ada-pytorch data repository)"),
    # FOMM: the official README (AliaksandrSiarohin/first-order-model, "Pre-trained checkpoint") links a
    # Google Drive folder and a Yandex Disk folder, neither of which allows a plain HTTP download; its
    # Colab demo (by @graphemecluster, linked from the same README) fetches the checkpoints from this
    # GitHub release, the one direct location the official repository uses. No checksum is published;
    # the file is checked by loading it safely (core.fomm.load_fomm, weights_only=True).
    Weights("vox-256", "fomm",
            "https://github.com/graphemecluster/first-order-model-demo/releases/download/checkpoints/"
            "vox-cpk.pth.tar",
            "vox-cpk.pth.tar", None, 700, "First Order Motion Model, VoxCeleb 256 px (vox-cpk.pth.tar)"),
]}


# Where to get a file by hand when the direct location fails (official pages, for a browser).
MANUAL_SOURCES: dict[str, str] = {
    "vox-256": ("Official pages (download vox-cpk.pth.tar in a browser): "
                "https://drive.google.com/open?id=1PyQJmkdCsAkOYwUyaj_l-l0as-iLDgeH or "
                "https://yadi.sk/d/lEw8uRm140L_eQ (from the README of "
                "https://github.com/AliaksandrSiarohin/first-order-model). Put the file in "
                "checkpoints/downloads/, or pass a mirror with --url."),
}


# What a downloaded file of each family looks like (checkpoints/downloads holds both families' files).
_FOMM_PREFIX, _FOMM_SUFFIX = "vox", ".pth.tar"
_STYLEGAN2_SUFFIXES = (".pkl", ".pt", ".pth", ".tar")
FAMILIES = ("stylegan2", "fomm")


def _is_fomm(name: str) -> bool:
    return name.startswith(_FOMM_PREFIX) and name.endswith(_FOMM_SUFFIX)


def downloaded_weights(family: str, folder: str | os.PathLike | None = None) -> list[Path]:
    """The weight files of ``family`` ("stylegan2" or "fomm") in ``folder`` (default: checkpoints/downloads),
    sorted by name; unfinished downloads (``.partial``) and the other family's files are left out."""
    if family not in FAMILIES:
        raise ValueError(f"Unknown model family '{family}'. Known: {', '.join(FAMILIES)}")
    d = Path(folder if folder is not None else core.DOWNLOADS_DIR)  # read now: tests point it elsewhere
    if not d.is_dir():
        return []
    files = sorted(p for p in d.iterdir() if p.is_file())
    if family == "fomm":
        return [p for p in files if _is_fomm(p.name)]
    return [p for p in files if p.suffix.lower() in _STYLEGAN2_SUFFIXES and not _is_fomm(p.name.lower())]


class DownloadError(ValueError):
    """A download failed; the message is for users and the partial file is kept for resuming."""


ProgressFn = Callable[[int, int | None, float], None]  # (bytes_done, bytes_total_or_None, bytes_per_s)


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def download(url: str, dest: str | os.PathLike, sha256: str | None = None,
             progress: ProgressFn | None = None, timeout: float = 30.0, chunk: int = 1 << 16) -> Path:
    """Download ``url`` to the file ``dest``, resuming ``dest.partial`` if present.

    Raises :class:`DownloadError` on HTTP/network failure or checksum mismatch (a mismatching file
    is deleted, since resuming it cannot help).
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists() and (sha256 is None or sha256_file(dest) == sha256.lower()):
        return dest
    partial = dest.with_name(dest.name + ".partial")
    have = partial.stat().st_size if partial.exists() else 0
    req = urllib.request.Request(url, headers={"User-Agent": "custom-cast/1.0"})
    if have:
        req.add_header("Range", f"bytes={have}-")
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # already complete on disk
            resp = None
        else:
            raise DownloadError(f"Download failed: HTTP {e.code} {e.reason} for {url}") from None
    except (urllib.error.URLError, OSError) as e:
        raise DownloadError(f"Download failed: cannot reach {url} ({getattr(e, 'reason', e)}). "
                            "Check the network; the partial file is kept for resuming.") from None
    if resp is not None:
        with resp:
            status = getattr(resp, "status", 200)
            if have and status != 206:  # server ignored Range: start over
                have = 0
            length = resp.headers.get("Content-Length")
            total = have + int(length) if length is not None else None
            done, t0 = have, time.monotonic()
            try:
                with open(partial, "ab" if have else "wb") as f:
                    while block := resp.read(chunk):
                        f.write(block)
                        done += len(block)
                        if progress:
                            rate = (done - have) / max(time.monotonic() - t0, 1e-6)
                            progress(done, total, rate)
            except (OSError, urllib.error.URLError) as e:
                raise DownloadError(f"Download interrupted at {done} bytes ({e}); run it again to "
                                    "resume.") from None
            if total is not None and done < total:
                raise DownloadError(f"Download interrupted at {done} of {total} bytes; run it again "
                                    "to resume.")
    if sha256 is not None:
        got = sha256_file(partial)
        if got != sha256.lower():
            partial.unlink(missing_ok=True)
            raise DownloadError(f"Checksum mismatch for {dest.name}: expected {sha256}, got {got}. "
                                "The file was deleted; download it again.")
    publish_file(partial, dest)
    return dest


def licence_notice(key: str) -> str:
    """The licence of an official download, in one paragraph (core.provenance.licences is the ledger)."""
    from core.provenance.licences import download_notice

    return download_notice(key)


def fetch_official(key: str, dest_dir: str | os.PathLike | None = None,
                   progress: ProgressFn | None = None, url: str | None = None,
                   accept_licence: bool = False) -> Path:
    """Download one entry of :data:`OFFICIAL_WEIGHTS` (``url`` overrides the location, for mirrors).

    The weights come under their publisher's licence (NVIDIA's and FOMM's are non-commercial):
    ``accept_licence`` must say the user accepted it (``--accept-licence``, or a confirmation on a page).
    """
    if key not in OFFICIAL_WEIGHTS:
        raise DownloadError(f"Unknown weights '{key}'. Known: {', '.join(OFFICIAL_WEIGHTS)}")
    if not accept_licence:
        raise DownloadError(f"{licence_notice(key)} Rerun with --accept-licence to accept this licence and "
                            "download.")
    w = OFFICIAL_WEIGHTS[key]
    return download(url or w.url, Path(dest_dir or DOWNLOADS_DIR) / w.filename, w.sha256, progress)


def _print_progress(done: int, total: int | None, rate: float) -> None:
    if total:
        pct = 100.0 * done / total
        eta = (total - done) / rate if rate > 0 else float("inf")
        msg = (f"\r{done / 2**20:8.1f} / {total / 2**20:.1f} MiB  {pct:5.1f}%  "
               f"{rate / 2**20:6.2f} MiB/s  ETA {eta:5.0f}s")
    else:
        msg = f"\r{done / 2**20:8.1f} MiB  {rate / 2**20:6.2f} MiB/s"
    print(msg, end="", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    p = ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="list the official weights")
    g = sub.add_parser("get", help="download official weights by key")
    g.add_argument("key")
    g.add_argument("--dest", default=None)
    g.add_argument("--url", default=None, help="mirror URL to use instead of the official one")
    g.add_argument("--accept-licence", "--accept-license", dest="accept_licence", action="store_true",
                   help="accept the weights' licence (printed by `list` and before downloading)")
    u = sub.add_parser("url", help="download any URL with resume and optional checksum")
    u.add_argument("url")
    u.add_argument("--dest", required=True, help="destination file")
    u.add_argument("--sha256", default=None)
    a = p.parse_args(argv)
    try:
        if a.cmd == "list":
            from core.provenance.licences import licence_for

            for w in OFFICIAL_WEIGHTS.values():
                print(f"{w.key:10s} {w.family:9s} ~{w.size_mb} MB  {w.description}\n{'':21s} licence: "
                      f"{licence_for(w.key).licence} — {licence_for(w.key).use}")
            return 0
        if a.cmd == "get":
            path = fetch_official(a.key, a.dest, _print_progress, a.url, accept_licence=a.accept_licence)
        else:
            path = download(a.url, a.dest, a.sha256, _print_progress)
    except DownloadError as e:
        manual = f" {MANUAL_SOURCES[a.key]}" if a.cmd == "get" and a.key in MANUAL_SOURCES else ""
        raise DownloadError(f"{e}{manual}") from None
    except KeyboardInterrupt:
        print("\ninterrupted; run the same command again to resume", file=sys.stderr)
        return 130
    accepted = f" under the licence you accepted: {licence_notice(a.key)}" if a.cmd == "get" else ""
    print(f"\nsaved {path}{accepted}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main, prog=PROG))

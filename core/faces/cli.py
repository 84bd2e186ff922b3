"""``python -m core.faces scan DIR|ZIP --out OUTDIR``: detect, align and vet the faces of a photo folder.

Run through :func:`core.cli.run_cli` (see ``__main__``): a user error is one stderr line and exit 2, also
with the MediaPipe detectors, whose native logs are kept off stderr (:func:`core.cli.quiet_native_stderr`).
The JSON (``--json``) lists only crops that were written and checked; a failed write stops the scan.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path

from core.cli import ArgumentParser, UserError, quiet_native_stderr
from core.faces.align import ALIGN_SIZES
from core.faces.detection import DETECTORS
from core.faces.export import display_name, prepare_output_dir
from core.faces.ingest import extract_zip, folder_sources, skipped_sources
from core.faces.records import FILE_REASONS, KEEP_MODES, ImageRecord, ScanConfig
from core.faces.scan import ScanResult, scan_files
from core.image.decode import IMAGE_EXTENSIONS

PROG = "python -m core.faces"


def build_parser() -> argparse.ArgumentParser:
    ap = ArgumentParser(prog=PROG, description="Face pipeline")  # bad flags: one line, not a usage block
    sub = ap.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("scan", help="detect, align and filter the faces of every image in DIR")
    sp.add_argument("dir", type=Path, help="folder of photos, a zip of photos, or one photo")
    sp.add_argument("--out", type=Path, required=True, help="folder for the aligned crops (PNG)")
    sp.add_argument("--detector", choices=DETECTORS, default="modern")
    sp.add_argument("--size", type=int, choices=ALIGN_SIZES, default=64)
    sp.add_argument("--keep", choices=KEEP_MODES, default="largest")
    sp.add_argument("--min-face", type=int, default=32)
    sp.add_argument("--blur", type=float, default=20.0, help="minimum Laplacian variance of a crop")
    sp.add_argument("--dup-threshold", type=int, default=6)
    sp.add_argument("--no-cache", action="store_true")
    sp.add_argument("--cache-dir", type=Path)
    sp.add_argument("--json", action="store_true", help="print one JSON object (records + summary)")
    return ap


def _no_photos_hint(root: Path) -> str:
    others = [p for p in root.rglob("*") if p.is_file()] if root.is_dir() else []
    found = f"its {len(others)} file(s) have none of the extensions" if others else "it is empty; expected"
    return (f"no photos to scan in {display_name(str(root))}: {found} {', '.join(IMAGE_EXTENSIONS)} "
            "(hidden files and folders are skipped); point DIR at a folder of photos or a zip of them")


def _sources(root: Path, workdir: Path) -> tuple[list, list[tuple[str, str]]]:
    """(name, reader) pairs for DIR (a folder, a zip extracted into ``workdir``, or one photo), and the
    (name, reason) of the files there that are not photos."""
    if not root.exists():
        raise UserError(f"{display_name(str(root))} does not exist")
    if root.is_file() and root.suffix.lower() == ".zip":
        root = extract_zip(root, workdir / "zip")
    elif root.is_file() and root.suffix.lower() not in IMAGE_EXTENSIONS:
        raise UserError(f"{display_name(str(root))} is neither a folder, a zip nor a photo "
                        f"({', '.join(IMAGE_EXTENSIONS)})")
    files = folder_sources(root)
    if not files:
        raise UserError(_no_photos_hint(root))
    return files, skipped_sources(root)


def _report(result: ScanResult, out: Path, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result.to_json()))
        return
    s = result.summary()
    for rec in result.records:
        if len(rec.faces) > 1:
            print(f"{display_name(rec.file)}: {rec.detail}")
    # Every file that was not read as a photo is named with its reason: a phone's HEIC without a
    # decoder, a clip, a damaged JPEG... never skipped without a word.
    for rec in result.records:
        if rec.reason in FILE_REASONS:
            detail = f" ({rec.detail})" if rec.detail else ""
            print(f"skipped {display_name(rec.file)}: {rec.reason}{detail}")
    for name, why in result.skipped:
        print(f"skipped {display_name(name)}: {why}")
    print(f"{s['files']} files: {s['images']} images ({s['skipped']} other files skipped), "
          f"{s['faces_kept']} faces kept, rejected {s['rejected']}, "
          f"{s['duplicates']} duplicates, {s['seconds']:.1f} s -> {display_name(str(out))}")


def _all_unreadable(records: list[ImageRecord]) -> str | None:
    if not records or any(r.reason not in FILE_REASONS for r in records):
        return None
    counts: dict[str, int] = {}
    for r in records:
        counts[r.reason] = counts.get(r.reason, 0) + 1
    why = ", ".join(f"{n} {reason}" for reason, n in sorted(counts.items()))
    return (f"none of the {len(records)} file(s) could be read as a photo ({why}); check that the folder "
            "holds real JPEG/PNG/WebP/HEIC/AVIF images")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cfg = ScanConfig(detector=args.detector, size=args.size, keep=args.keep, min_face=args.min_face,
                     blur_threshold=args.blur, dup_threshold=args.dup_threshold, use_cache=not args.no_cache)
    cfg.validate()
    out = prepare_output_dir(args.out)  # before any work: a bad --out fails in a second, not after the scan
    with quiet_native_stderr() as terminal, tempfile.TemporaryDirectory(prefix="faces-scan-") as work:
        interactive = terminal.isatty()  # progress lines only for a person watching, never in scripted runs

        def progress(i: int, n: int, rec: ImageRecord) -> None:
            if interactive and not args.json and (i % 50 == 0 or i == n):
                print(f"{i}/{n}", file=terminal, flush=True)

        files, skipped = _sources(args.dir, Path(work))
        result = scan_files(files, cfg, out_dir=out, progress=progress, keep_crops=False,
                            cache_dir=args.cache_dir)
        result.skipped = skipped
    _report(result, out, args.json)
    problem = _all_unreadable(result.records)
    if problem:
        raise UserError(problem)
    return 0

"""``python -m core.show``: prepare a show headless (e.g. on a GPU box), export it, build the demo, list.

    python -m core.show prepare SHOW_DIR [--json] [--force] [--scene ID ...] [--device D]
    python -m core.show export SHOW_DIR --html reel.html | --mp4 reel.mp4
    python -m core.show demo --out DIR [--no-prepare] [--timelapse-run RUN_DIR]
    python -m core.show list [--root DIR] [--json]
    python -m core.show status SHOW_DIR [--json]      # what prepare would do, scene by scene
    python -m core.show new SHOW_DIR --title TITLE
    python -m core.show add SHOW_DIR --scene '{"kind": "face", "model": "...", "seed": 7}'
    python -m core.show prune SHOW_DIR                # delete media no scene uses any more
    python -m core.show preflight SHOW_DIR [--json] [--join-url URL] [--db URL] [--no-load] [--no-vote]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from core.cli import ArgumentParser, quiet_native_stderr
from core.device import add_device_argument, choose_device

PROG = "python -m core.show"


def _parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog=PROG, description="Prepare, present and export shows.")
    sub = p.add_subparsers(dest="command", required=True)
    pr = sub.add_parser("prepare", help="render every scene's media (skips what is rendered; resumes)")
    pr.add_argument("show_dir")
    pr.add_argument("--json", action="store_true", help="print a JSON summary")
    pr.add_argument("--force", action="store_true", help="render every scene again")
    pr.add_argument("--scene", action="append", default=[], help="only this scene id (repeatable)")
    pr.add_argument("--allow-inputs", action="append", default=[], metavar="FOLDER",
                    help="also read scene inputs from this folder (repeatable; '*': any path). Inputs "
                         "outside the show and the project are refused otherwise")
    add_device_argument(pr)
    ex = sub.add_parser("export", help="write the show as one HTML reel or one MP4")
    ex.add_argument("show_dir")
    group = ex.add_mutually_exclusive_group(required=True)
    group.add_argument("--html", help="self-contained HTML file to write")
    group.add_argument("--mp4", help="MP4 file to write")
    ex.add_argument("--label", default=None, help="wording of the visible label (default: AI-generated)")
    ex.add_argument("--no-label", action="store_true", help="no visible label or stage badge")
    ex.add_argument("--allow-unsigned", action="store_true",
                    help="if signing fails, export without content credentials instead of failing")
    de = sub.add_parser("demo", help="build the demo show from the bundled models")
    de.add_argument("--out", required=True)
    de.add_argument("--no-prepare", action="store_true", help="write show.json only")
    de.add_argument("--timelapse-run", default=None, help="DCGAN run folder for the time-lapse scene")
    li = sub.add_parser("list", help="list the shows")
    li.add_argument("--root", default=None)
    li.add_argument("--json", action="store_true")
    stt = sub.add_parser("status", help="what prepare would do for each scene")
    stt.add_argument("show_dir")
    stt.add_argument("--json", action="store_true")
    nw = sub.add_parser("new", help="create an empty show")
    nw.add_argument("show_dir")
    nw.add_argument("--title", required=True)
    ad = sub.add_parser("add", help="append a scene given as JSON")
    ad.add_argument("show_dir")
    ad.add_argument("--scene", required=True, help="the scene as a JSON object (with its 'kind')")
    pn = sub.add_parser("prune", help="delete media that no scene uses")
    pn.add_argument("show_dir")
    pf = sub.add_parser("preflight", help="check the stage before the talk (exit 1 when anything is red)")
    pf.add_argument("show_dir")
    pf.add_argument("--json", action="store_true")
    pf.add_argument("--join-url", default=None, help="the voter app's URL as phones see it "
                    "(default: this machine's LAN address, port 8502)")
    pf.add_argument("--db", default=None,
                    help="the vote database (default: $CUSTOM_CAST_DB or the SQLite file)")
    pf.add_argument("--no-load", action="store_true",
                    help="check that model files exist without loading them")
    pf.add_argument("--no-vote", action="store_true",
                    help="skip the live-vote checks (a show without a vote)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from core.show import store
    from core.show.errors import ShowError

    if args.command == "prepare":
        from core.show.prepare import prepare_show

        if args.allow_inputs:  # read by core.show.store.allowed_input_roots, and by renderers it starts
            allowed = [os.environ.get(store.ALLOW_INPUTS_ENV, ""), *args.allow_inputs]
            os.environ[store.ALLOW_INPUTS_ENV] = os.pathsep.join(p for p in allowed if p)
        # Checked now (one line if this machine lacks it), then passed to every scene's models.
        device = choose_device(args.device).device if args.device else None

        # Rendering an animation runs MediaPipe, whose C++ logs would break the one-error-line contract.
        with quiet_native_stderr() as terminal:
            echo = (lambda line: print(line, file=terminal)) if args.json else print
            summary = prepare_show(args.show_dir, force=args.force, only=args.scene or None, echo=echo,
                                   device=device)
        if args.json:
            print(json.dumps(summary.to_json()))
        else:
            print(f"prepared: {len(summary.rendered)} rendered, {len(summary.skipped)} already rendered, "
                  f"{len(summary.kept)} kept from media, in {summary.seconds:.1f} s")
        return 0
    if args.command == "export":
        from core.jobs import current_context

        ctx = current_context()

        def progress(done: int, total: int) -> None:
            ctx.progress(done, total, f"scene {done}/{total}", unit="scenes")

        from core import provenance as pv
        from core.show.licences import licence_warning

        settings = pv.settings_from_env()
        settings = settings.with_(label=settings.label and not args.no_label,
                                  label_text=args.label or settings.label_text,
                                  allow_unsigned=settings.allow_unsigned or args.allow_unsigned)
        warning = licence_warning(store.load_show(args.show_dir))
        if warning:  # the export goes ahead: a warning, not a refusal
            print(f"warning: {warning}", file=sys.stderr)
        if args.html:
            from core.show.export_html import export_html_signed

            out, signed = export_html_signed(args.show_dir, args.html, progress, settings)
        else:
            from core.show.export_mp4 import export_mp4_signed

            out, signed = export_mp4_signed(args.show_dir, args.mp4, progress, settings)
        ctx.set_result({"path": str(Path(out).resolve()), "bytes": Path(out).stat().st_size,
                        "signed": signed.message, "licence_warning": warning})
        print(f"wrote {out} ({Path(out).stat().st_size / 1e6:.1f} MB); {signed.message}")
        return 0
    if args.command == "demo":
        from core.show.demo import build_demo

        summary = build_demo(args.out, prepare=not args.no_prepare, timelapse_run=args.timelapse_run,
                             echo=print)
        print(f"demo show in {args.out}" + (f" ({summary})" if summary else ""))
        return 0
    if args.command == "list":
        shows = store.list_shows(args.root)
        if args.json:
            print(json.dumps([{"name": s.name, "path": str(s.path), "title": s.title, "scenes": s.scenes,
                               "error": s.error} for s in shows]))
        for s in shows if not args.json else []:
            print(f"{s.name}\t{s.scenes} scenes\t{s.title}" + (f"\tINVALID: {s.error}" if s.error else ""))
        if not shows and not args.json:
            print(f"no shows in {args.root or store.shows_root()}")
        return 0
    if args.command == "status":
        from core.show.prepare import plan

        show = store.load_show(args.show_dir)
        items = plan(args.show_dir, show)
        if args.json:
            print(json.dumps([{"scene": it.scene.id, "kind": it.scene.KIND, "title": it.scene.display_title(),
                               "action": it.action, "reason": it.reason} for it in items]))
        else:
            for it in items:
                print(f"{it.index + 1:>3}. {it.scene.KIND:<9} {it.action:<6} {it.scene.display_title()}"
                      + (f"  ({it.reason})" if it.reason else ""))
        return 0
    if args.command == "new":
        store.create_show(args.show_dir, args.title)
        print(f"created {args.show_dir}")
        return 0
    if args.command == "add":
        from core.safe_json import load_json_bounded
        from core.show.schema import MAX_SHOW_DEPTH

        try:
            data = load_json_bounded(args.scene, max_bytes=256 * 1024, max_depth=MAX_SHOW_DEPTH,
                                     non_finite=True,
                                     what="--scene")
        except ValueError as e:
            raise ShowError(str(e)) from None
        _voice_into_media(args.show_dir, data)
        scene = store.add_scene(args.show_dir, data)
        print(f"added {scene.KIND} scene {scene.id}")
        return 0
    if args.command == "preflight":
        from core.show.preflight import run_preflight

        with quiet_native_stderr():
            report = run_preflight(args.show_dir, join_url=args.join_url, db_url=args.db,
                                   load_models=not args.no_load, vote_checks=not args.no_vote)
        print(json.dumps(report.to_dict(), ensure_ascii=False) if args.json else report.text())
        return 0 if report.ok else 1
    if args.command == "prune":
        from core.show.prepare import prepare_status

        job = prepare_status(args.show_dir)
        if job is not None and job.is_active:
            raise ShowError("a prepare of this show is running; prune it when it has finished")
        removed, freed = store.prune_media(args.show_dir)
        print(f"removed {removed} file(s), {freed / 1e6:.1f} MB")
        return 0
    raise AssertionError(args.command)


MAX_VOICE_BYTES = 200 * 1024 * 1024


def _voice_into_media(show_dir: str, data) -> None:
    """A voice-driven animation's voice is copied into the show's media, so the show carries its sound."""
    from core.show import store
    from core.show.errors import ShowError

    if not isinstance(data, dict) or (data.get("kind"), data.get("driving_kind")) != ("animation", "voice"):
        return
    value = data.get("driving")
    if not isinstance(value, str) or not value or value.startswith(store.MEDIA_PREFIX):
        return
    # The presenter named this file on the command line (not a show file that travelled), so it may lie
    # anywhere they can read; its bytes are copied into the show's media and the path is not kept.
    voice = Path(value).expanduser()
    voice = voice if voice.is_absolute() else store.PROJECT_ROOT / voice
    if not voice.is_file():
        raise ShowError(f"voice not found: {value}")
    if voice.stat().st_size > MAX_VOICE_BYTES:
        raise ShowError(f"voice {value} is larger than {MAX_VOICE_BYTES // 2**20} MB")
    data["driving"] = store.put_media_file(show_dir, voice)

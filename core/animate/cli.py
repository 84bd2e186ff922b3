"""Command line of the animation pipeline: ``python -m core.fomm animate ...`` and ``python -m core.animate``.

``main`` raises on bad input (AnimationError and other ValueErrors, OSError); the entry points wrap it
in :func:`core.cli.run_cli`, which turns that into one stderr line and exit code 2.
"""

from __future__ import annotations

import argparse
from typing import TextIO

import numpy as np

from core.animate.audio import voice_duration_limit_text
from core.animate.driving import record_motion
from core.animate.motions import Motion, bundled_motions, load_motion
from core.animate.pipeline import ENGINES, AnimateOptions, animate
from core.animate.progress import Progress
from core.animate.voice import VoiceOptions, speak
from core.checks import int_flag
from core.cli import ArgumentParser, check_output_path, quiet_native_stderr

MAX_FRAMES_FLAG = 1_000_000  # ~9 h at 30 fps: anything larger is a typo, not a video


def parser(prog: str = "python -m core.animate") -> argparse.ArgumentParser:
    p = ArgumentParser(prog=prog, description="Animate a face with a driving video, a motion or a voice.")
    sub = p.add_subparsers(dest="command", required=True)
    a = sub.add_parser("animate", help="animate a source face with a driving video, a motion file or a voice")
    a.add_argument("--source", required=True, help="source face image (png/jpg)")
    drive = a.add_mutually_exclusive_group(required=True)
    drive.add_argument("--driving",
                       help="driving video (mp4/mov/webm/gif), motion .json, or a bundled motion name")
    drive.add_argument("--audio", help="a voice (wav/mp3/m4a, or a video's sound track) the face speaks; "
                                       f"at most {voice_duration_limit_text()}")
    a.add_argument("--seed", type=int, default=0, help="--audio: seed of the blinks and head motion")
    a.add_argument("--out", required=True, help="output MP4 path")
    a.add_argument("--engine", choices=ENGINES, default="landmarks")
    a.add_argument("--checkpoint", help="vox-cpk.pth.tar for --engine fomm")
    a.add_argument("--config", help="official FOMM YAML config (default: vox-256)")
    a.add_argument("--bf16", action="store_true",
                   help="--engine fomm: run its residual bottleneck under bf16 autocast (faster on CPUs "
                        "with bf16 units, ~1 %% feature error)")
    mode = a.add_mutually_exclusive_group()
    mode.add_argument("--relative", dest="relative", action="store_true", default=True)
    mode.add_argument("--absolute", dest="relative", action="store_false")
    a.add_argument("--adapt-scale", dest="adapt_scale", action="store_true", default=True)
    a.add_argument("--no-adapt-scale", dest="adapt_scale", action="store_false")
    a.add_argument("--best-frame", action="store_true")
    a.add_argument("--side-by-side", action="store_true")
    a.add_argument("--upscale", type=int, default=1, choices=[1, 2, 3, 4])
    a.add_argument("--max-frames", type=int_flag(1, MAX_FRAMES_FLAG))
    a.add_argument("--no-crop-source", action="store_true", help="source is already a framed face")
    a.add_argument("--real-photo", action="store_true",
                   help="the source is a real person's photo you have the right to animate (the clip's "
                        "content credentials then say a real photo was used)")
    r = sub.add_parser("record-motion", help="record a motion .json from a video")
    r.add_argument("--video", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--name")
    r.add_argument("--max-frames", type=int_flag(1, MAX_FRAMES_FLAG))
    return p


class _ProgressLine:
    """One self-overwriting progress line on a terminal, erased before anything else is printed."""

    def __init__(self, stream: TextIO):
        self.stream, self.open = stream, False

    def __call__(self, p: Progress) -> None:
        eta = f"{p.eta_s:5.1f}s" if np.isfinite(p.eta_s) else "  ?  "
        print(f"\r{p.stage:9s} {p.done:5d}/{p.total:<5d} {p.fps:6.1f} fps  ETA {eta}", end="",
              file=self.stream, flush=True)
        self.open = True

    def end(self) -> None:
        if self.open:
            print("\r\033[K", end="", file=self.stream, flush=True)
            self.open = False


def main(argv: list[str] | None = None, prog: str = "python -m core.animate") -> int:
    args = parser(prog).parse_args(argv)
    if args.command == "record-motion":
        check_output_path(args.out, {"the video": args.video})
    else:
        check_output_path(args.out, {"the source image": args.source, "the driving video": args.driving,
                                     "the checkpoint": args.checkpoint, "the config": args.config})
    with quiet_native_stderr() as terminal:
        line = _ProgressLine(terminal) if terminal.isatty() else None
        try:
            if args.command == "record-motion":
                m = record_motion(args.video, args.out, args.name, args.max_frames, progress=line)
                print(f"wrote {args.out}: {len(m.keypoints)} frames at {m.fps:g} fps")
                return 0
            if args.audio is not None:
                res = speak(args.source, args.audio, args.out, _options(args), VoiceOptions(seed=args.seed),
                            progress=line, crop_source=not args.no_crop_source)
            else:
                res = animate(args.source, _driving(args.driving), args.out, _options(args), progress=line,
                              crop_source=not args.no_crop_source)
        finally:
            if line:
                line.end()
    audio = "yes" if res.has_audio else "no"
    print(f"wrote {res.path}: {res.frames} frames at {res.fps:g} fps, audio={audio},"
          f" best frame {res.best_frame}, {res.frames / max(res.seconds, 1e-9):.1f} fps overall")
    for n in res.notes:
        print(f"note: {n}")
    return 0


def _driving(name: str) -> str | Motion:
    """A bundled motion's name, a motion .json, or a video path."""
    motions = bundled_motions()
    if name in motions:
        return load_motion(motions[name])
    if name.lower().endswith(".json"):
        return load_motion(name)
    return name


def _options(args: argparse.Namespace) -> AnimateOptions:
    return AnimateOptions(engine=args.engine, checkpoint=args.checkpoint, fomm_config=args.config,
                          relative=args.relative, adapt_scale=args.adapt_scale, best_frame=args.best_frame,
                          upscale=args.upscale, side_by_side=args.side_by_side, max_frames=args.max_frames,
                          fomm_bf16=args.bf16, real_photo=args.real_photo)

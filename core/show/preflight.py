"""Pre-flight: check the stage before the talk (``python -m core.show preflight SHOW_DIR [--json]``).

Live pitches fail in the set-up, not in the model: a missing render, a model file left on another
laptop, a QR code pointing where nothing listens. Each check is green, amber (works, but look) or red
(will fail on stage), and every red says how to fix it:

- every scene's media present and readable (each picture decoded, each clip's container recognised);
- every model the show names loads, or the show plays without it (from its rendered media) and says so;
- how long each scene's first frame takes to be ready (read and decoded on this machine); the Present
  page's "Check the stage" adds what the browser measures: its window against the stage;
- the voter app answering on the join URL, asked from this machine's LAN address as a phone would (a
  loopback or unroutable join URL is red), and the QR code decoding to exactly that URL;
- the vote database writable, and free disk for the show, the runs and the votes.

The command exits 1 when anything is red (2 for bad arguments, as every command here).
"""

from __future__ import annotations

import io
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from core import RUNS_DIR
from core.show import store
from core.show.errors import ShowError
from core.show.schema import AnimationScene, Show, input_paths

GREEN, AMBER, RED = "green", "amber", "red"
FREE_DISK_RED_BYTES = 1 * 2**30
FREE_DISK_AMBER_BYTES = 5 * 2**30
FIRST_FRAME_AMBER_S = 0.3  # the brief's "within 300 ms" for a move on stage
STAGE_MIN_WIDTH, STAGE_MIN_HEIGHT = 1280, 720  # the player's frame plus its bar and controls
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif"}
VIDEO_SIGNATURES = {".mp4": lambda b: b[4:8] == b"ftyp", ".webm": lambda b: b.startswith(b"\x1a\x45\xdf\xa3")}


@dataclass
class Check:
    name: str  # what was checked, e.g. "Scene 3 · Step 3: from one person to another"
    status: str  # GREEN / AMBER / RED
    message: str  # what was found, in plain words
    fix: str = ""  # for amber and red: what to do
    seconds: float | None = None  # a measured time, when the check is a timing

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Preflight:
    show: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(c.status == RED for c in self.checks)

    def add(self, *args, **kwargs) -> Check:
        check = Check(*args, **kwargs)
        self.checks.append(check)
        return check

    def counts(self) -> dict[str, int]:
        return {s: sum(c.status == s for c in self.checks) for s in (GREEN, AMBER, RED)}

    @classmethod
    def from_dict(cls, data: dict) -> Preflight:
        """A report as ``--json`` prints it (the Present page runs the command in its own process, so
        loading the models never puts torch into the presenting server)."""
        return cls(str(data["show"]), [Check(**c) for c in data["checks"]])

    def replace(self, name: str, check: Check) -> None:
        self.checks = [check if c.name == name else c for c in self.checks]

    def to_dict(self) -> dict:
        return {
            "show": self.show,
            "ok": self.ok,
            "counts": self.counts(),
            "checks": [c.to_dict() for c in self.checks],
        }

    def text(self) -> str:
        mark = {GREEN: "green", AMBER: "AMBER", RED: "RED  "}
        lines = [f"Pre-flight of {self.show}:"]
        for c in self.checks:
            lines.append(f"  [{mark[c.status]:<5}] {c.name}: {c.message}")
            if c.fix and c.status != GREEN:
                lines.append(f"           fix: {c.fix}")
        n = self.counts()
        lines.append(
            f"{n[GREEN]} green, {n[AMBER]} amber, {n[RED]} red: "
            + ("ready for the stage." if self.ok else "NOT ready: fix the red lines.")
        )
        return "\n".join(lines)


# ----------------------------------------------------------------------------------------------- media


def _read_media(path: Path) -> tuple[bool, str, float]:
    """(readable, why not, seconds to read and decode)."""
    started = time.perf_counter()
    try:
        data = path.read_bytes()
    except OSError as e:
        return False, f"{path.name} cannot be read ({e.strerror or e})", 0.0
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        from PIL import Image

        try:
            with Image.open(io.BytesIO(data)) as im:
                im.load()
        except Exception as e:  # noqa: BLE001 - PIL raises many types for a damaged file
            return False, f"{path.name} is not a readable picture ({type(e).__name__})", 0.0
    elif suffix in VIDEO_SIGNATURES and not VIDEO_SIGNATURES[suffix](data):
        return False, f"{path.name} is not a {suffix[1:].upper()} clip", 0.0
    elif not data:
        return False, f"{path.name} is empty", 0.0
    return True, "", time.perf_counter() - started


def check_scenes(report: Preflight, show_dir: Path, show: Show) -> None:
    from core.show.view import scene_views

    fix_prepare = f"python -m core.show prepare {show_dir}  (or Prepare show on the Present page)"
    for view in scene_views(show_dir, show):
        name = f"Scene {view.index + 1} · {view.title}"
        if view.kind == "title":
            report.add(name, GREEN, "title card (text only)", seconds=0.0)
            continue
        if not view.ready:
            report.add(name, RED, view.message or "its media is missing", fix_prepare)
            continue
        files = [p for p in [view.image, view.video, view.poster, view.chart, *view.frames] if p is not None]
        bad, first_s = [], None
        for p in files:
            ok, why, seconds = _read_media(p)
            if not ok:
                bad.append(why)
            elif first_s is None:
                first_s = seconds  # the picture the stage shows first
            if len(bad) >= 3:
                break
        if bad:
            report.add(name, RED, f"{len(bad)} media file(s) unreadable: {bad[0]}", fix_prepare + " --force")
            continue
        seconds = first_s or 0.0
        status = AMBER if seconds > FIRST_FRAME_AMBER_S else GREEN
        report.add(
            name,
            status,
            f"{len(files)} media file(s) readable; first frame ready in {seconds * 1000:.0f} ms",
            "a slow disk: copy the show to the laptop's own disk" if status == AMBER else "",
            seconds=seconds,
        )


# ----------------------------------------------------------------------------------------------- models


def _model_inputs(show: Show) -> dict[str, str]:
    """{path as written in show.json: kind} of every model the show names."""
    out: dict[str, str] = {}
    for scene in show.scenes:
        model = getattr(scene, "model", "")
        if model:
            out.setdefault(model, "stylegan2")
        if isinstance(scene, AnimationScene) and scene.engine == "fomm" and scene.checkpoint:
            out.setdefault(scene.checkpoint, "fomm")
    return out


def _load_model(kind: str, path: Path) -> None:
    if kind == "stylegan2":
        from core import stylegan2 as sg

        sg.load_generator(path)
    else:
        from core.fomm.loading import load_fomm

        load_fomm(path)


def check_models(report: Preflight, show_dir: Path, show: Show, load: bool = True) -> None:
    from core.show.view import scene_views

    views = scene_views(show_dir, show)
    for model, kind in _model_inputs(show).items():
        users = [v for v in views if model in input_paths(v.scene)]
        all_rendered = all(v.ready for v in users)
        plays = "the show plays without it: its scenes are rendered" if all_rendered else ""
        name = f"Model {Path(model).name}"
        path = store.resolve_input(show_dir, model)
        if not path.is_file():
            if all_rendered:
                report.add(
                    name,
                    AMBER,
                    f"not found ({model}); {plays}, but they cannot be rendered again",
                    f"put {model} back to change those scenes",
                )
            else:
                report.add(
                    name,
                    RED,
                    f"not found ({model}) and scene(s) that need it are not rendered",
                    f"put {model} back, then prepare the show",
                )
            continue
        if not load:
            report.add(name, GREEN, "present (not loaded: --no-load)")
            continue
        started = time.perf_counter()
        try:
            _load_model(kind, path)
        except (ValueError, OSError, RuntimeError, KeyError) as e:  # CheckpointError is a ValueError
            first = str(e).splitlines()[0] if str(e) else type(e).__name__
            status = AMBER if all_rendered else RED
            report.add(
                name,
                status,
                f"does not load: {first}" + (f"; {plays}" if plays else ""),
                f"replace {model} with a working checkpoint",
            )
            continue
        report.add(
            name,
            GREEN,
            f"loads in {time.perf_counter() - started:.1f} s",
            seconds=time.perf_counter() - started,
        )


# ----------------------------------------------------------------------------------------------- vote


def decode_qr(png: bytes) -> str | None:
    """The text a QR code PNG decodes to, or None when nothing decodes. OpenCV's decoders (already a
    dependency, through MediaPipe): the ArUco-based detector, then WeChat's (opencv-contrib), then the
    classic one, which misses larger codes (version 7+, a long join URL)."""
    import cv2
    import numpy as np

    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    if image is None:
        return None
    decoders = [lambda im: cv2.QRCodeDetectorAruco().detectAndDecode(im)[0]]
    if hasattr(cv2, "wechat_qrcode_WeChatQRCode"):
        decoders.append(lambda im: next(iter(cv2.wechat_qrcode_WeChatQRCode().detectAndDecode(im)[0]), ""))
    decoders.append(lambda im: cv2.QRCodeDetector().detectAndDecode(im)[0])
    for decode in decoders:
        try:
            text = decode(image)
        except cv2.error:
            continue
        if text:
            return text
    return None


def check_vote(report: Preflight, join_url: str, db_url: str | None) -> None:
    from core import vote
    from core.vote.reach import join_url_problem, probe_voter_app

    name = "Join URL"
    problem = join_url_problem(join_url)
    lan = _lan_address()
    if problem:
        report.add(
            name,
            RED,
            f"{join_url}: {problem}",
            f"use this machine's LAN address, e.g. http://{lan or 'LAN-ADDRESS'}:{vote.DEFAULT_VOTER_PORT}/",
        )
    else:
        report.add(name, GREEN, f"{join_url} names an address phones on this network can reach")
    probe = probe_voter_app(join_url, timeout=2.0)
    from core.vote.serve import join_url_port

    try:
        port = join_url_port(join_url)
    except ValueError:
        port = vote.DEFAULT_VOTER_PORT
    if probe.ok:
        report.add("Voter app", GREEN, probe.message)
    else:
        report.add(
            "Voter app",
            RED,
            probe.message,
            f"start it: python -m core.vote serve --port {port} (or Start the voter app on the dashboard)",
        )
    try:
        decoded = decode_qr(vote.qr_png(join_url))
    except ValueError as e:
        report.add("QR code", RED, f"cannot be drawn: {e}", "fix the join URL")
        return
    except ImportError:
        report.add(
            "QR code", AMBER, "not decoded: OpenCV is not installed", "pip install -r requirements.txt"
        )
        return
    if decoded == join_url.strip():
        report.add("QR code", GREEN, f"decodes to exactly {decoded}")
    else:
        report.add(
            "QR code",
            RED,
            f"decodes to {decoded!r}, not the join URL {join_url!r}",
            "redraw the QR code from the join URL shown (Live poll on the dashboard)",
        )
    check_vote_db(report, db_url)


def check_vote_db(report: Preflight, db_url: str | None) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    from core.vote.db import VoteDBError, describe_url, open_db

    try:
        db = open_db(db_url)
        with db.writer.connect() as conn:
            tx = conn.begin()  # on SQLite: BEGIN IMMEDIATE, i.e. the write lock a ballot needs
            if not db.is_sqlite:
                conn.execute(text("CREATE TEMPORARY TABLE preflight_probe (x INTEGER)"))
            tx.rollback()
        _sqlite_writable(db)
    except (VoteDBError, SQLAlchemyError, OSError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        report.add(
            "Vote database",
            RED,
            f"not writable: {first}",
            "set CUSTOM_CAST_DB to a writable file (or a PostgreSQL URL) and check its folder's rights",
        )
        return
    report.add("Vote database", GREEN, f"writable ({describe_url(db.url).split(':')[0]})")


def _sqlite_writable(db) -> None:
    from sqlalchemy.engine import make_url

    if not db.is_sqlite:
        return
    path = make_url(db.url).database
    if path and path != ":memory:":
        for p in (Path(path), Path(path).parent):
            if p.exists() and not os.access(p, os.W_OK):
                raise OSError(f"{p} is read-only")


def _lan_address() -> str | None:
    from core.vote.serve import lan_address

    return lan_address()


# ----------------------------------------------------------------------------------------------- machine


def check_disk(report: Preflight, show_dir: Path) -> None:
    for label, path in (("show folder", show_dir), ("runs folder", RUNS_DIR)):
        probe = path if path.exists() else path.parent
        try:
            free = shutil.disk_usage(probe).free
        except OSError as e:
            report.add(f"Free disk ({label})", AMBER, f"unknown: {e}")
            continue
        gib = free / 2**30
        if free < FREE_DISK_RED_BYTES:
            report.add(
                f"Free disk ({label})",
                RED,
                f"{gib:.1f} GiB free",
                "free at least 1 GiB: renders, recordings and votes need room",
            )
        elif free < FREE_DISK_AMBER_BYTES:
            report.add(
                f"Free disk ({label})", AMBER, f"{gib:.1f} GiB free", "free some space before the talk"
            )
        else:
            report.add(f"Free disk ({label})", GREEN, f"{gib:.0f} GiB free")


def check_window(report: Preflight, width: int | None, height: int | None) -> None:
    """The browser window against the stage (the page measures it; the command line cannot)."""
    if not width or not height:
        report.add(
            "Browser window",
            AMBER,
            "not measured from the command line",
            "press Check the stage on the Present page in the browser you present from",
        )
        return
    if width < STAGE_MIN_WIDTH or height < STAGE_MIN_HEIGHT:
        report.add(
            "Browser window",
            RED,
            f"{width} x {height}: smaller than the stage ({STAGE_MIN_WIDTH} x {STAGE_MIN_HEIGHT})",
            "make the window full screen (F11) or lower the display scaling",
        )
    else:
        report.add("Browser window", GREEN, f"{width} x {height} fits the stage")


def run_preflight(
    show_dir: str | os.PathLike,
    join_url: str | None = None,
    db_url: str | None = None,
    load_models: bool = True,
    vote_checks: bool = True,
    window: tuple[int, int] | None = None,
) -> Preflight:
    from core.vote.serve import DEFAULT_VOTER_PORT, default_join_url

    show_dir = Path(show_dir)
    report = Preflight(str(show_dir))
    try:
        show = store.load_show(show_dir)
    except ShowError as e:
        report.add("Show", RED, str(e), "fix show.json or pick another show")
        return report
    report.add("Show", GREEN, f"“{show.title}”: {len(show.scenes)} scene(s)")
    check_scenes(report, show_dir, show)
    check_models(report, show_dir, show, load=load_models)
    if vote_checks:
        check_vote(report, join_url or default_join_url(None, DEFAULT_VOTER_PORT), db_url)
    check_disk(report, show_dir)
    check_window(report, *(window or (None, None)))
    return report

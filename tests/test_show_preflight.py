"""Pre-flight of a show (core.show.preflight, ``python -m core.show preflight``): green on the bundled demo,
red with a fix for what would fail on stage, exit 1 when anything is red."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import uvicorn

from core import vote
from core.show import preflight as pf
from core.vote import db as vote_db
from core.vote import web
from core.vote.reach import join_url_problem, probe_voter_app

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "shows" / "demo"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def demo(tmp_path) -> Path:
    if not (DEMO / "show.json").is_file():
        pytest.skip("the bundled demo show is missing")
    return Path(shutil.copytree(DEMO, tmp_path / "demo"))


@pytest.fixture
def voter_app(tmp_path):
    """The voter app on every interface (so this machine's LAN address reaches it), on a free port."""
    url = vote.normalize_url(tmp_path / "votes.sqlite3")
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(web.create_app(url), host="0.0.0.0", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    yield url, port
    srv.should_exit = True
    thread.join(timeout=10)
    vote_db.close_all()


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8502/",
        "http://127.0.0.1:8502/",
        "http://[::1]:8502/",
        "http://0.0.0.0:8502/",
        "http://224.0.0.1:8502/",
        "http://169.254.3.4:8502/",
        "ftp://host/",
        "http://no-such-host.invalid:8502/",
        "http://10.0.0.5:99999/",
    ],
)
def test_a_join_url_no_phone_can_reach_is_named(url):
    assert join_url_problem(url)


def test_a_lan_join_url_is_fine():
    assert join_url_problem("http://192.168.1.20:8502/") is None
    assert join_url_problem("https://10.1.2.3/") is None


@pytest.mark.parametrize(
    "url",
    [
        "http://192.168.1.20:8502/",
        "http://10.0.0.7:8502/?room=A%20B&x=1",
        "https://vote.example.org/" + "p" * 120,
    ],
)
def test_the_qr_code_decodes_to_exactly_the_join_url(url):
    assert pf.decode_qr(vote.qr_png(url)) == url


def test_the_demo_show_is_green_except_the_window_from_the_command_line(demo, voter_app):
    from core.vote.serve import lan_address

    lan = lan_address()
    if lan is None:
        pytest.skip("this machine has no LAN address")
    db_url, port = voter_app
    join = f"http://{lan}:{port}/"
    report = pf.run_preflight(demo, join_url=join, db_url=db_url, load_models=False)
    by_name = {c.name: c for c in report.checks}
    assert report.ok, report.text()
    assert by_name["Voter app"].status == pf.GREEN
    assert by_name["QR code"].message == f"decodes to exactly {join}"
    assert by_name["Vote database"].status == pf.GREEN
    assert by_name["Browser window"].status == pf.AMBER
    scenes = [c for c in report.checks if c.name.startswith("Scene ")]
    assert len(scenes) == 10 and all(c.seconds is not None for c in scenes)
    assert probe_voter_app(join).ok


def test_what_would_fail_on_stage_is_red_with_its_fix_and_the_command_exits_1(demo, tmp_path):
    show = json.loads((demo / "show.json").read_text())
    manifest_frame = sorted((demo / "media").glob("*.jpg"))[0]
    manifest_frame.write_bytes(b"\xff\xd8 not a jpeg")  # a damaged render
    show["scenes"][3]["model"] = "checkpoints/no_such_model.pt"  # a model left on another laptop
    (demo / "show.json").write_text(json.dumps(show))
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "core.show",
            "preflight",
            str(demo),
            "--json",
            "--no-load",
            "--join-url",
            "http://127.0.0.1:9/",
            "--db",
            str(tmp_path / "v.sqlite3"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1, out.stderr
    report = json.loads(out.stdout)
    assert not report["ok"]
    red = {c["name"]: c for c in report["checks"] if c["status"] == "red"}
    assert "loopback" in red["Join URL"]["message"] and red["Join URL"]["fix"]
    assert red["Voter app"]["fix"].startswith("start it: python -m core.vote serve --port 9")
    damaged = [c for c in red.values() if c["name"].startswith("Scene ") and "unreadable" in c["message"]]
    assert damaged and damaged[0]["fix"].startswith("python -m core.show prepare")
    model = next(c for c in report["checks"] if c["name"] == "Model no_such_model.pt")
    assert model["status"] in ("amber", "red") and "not found" in model["message"]
    assert all(c["fix"] for c in report["checks"] if c["status"] == "red")


def test_an_unwritable_vote_database_is_red(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    report = pf.Preflight("x")
    pf.check_vote_db(report, f"sqlite:///{blocker}/votes.sqlite3")  # its folder is a file
    (check,) = report.checks
    assert check.status == pf.RED and check.fix


def test_a_missing_show_is_one_red_line_and_bad_arguments_exit_2(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "core.show", "preflight", str(tmp_path / "nope"), "--no-vote"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1 and "[RED" in out.stdout and "Traceback" not in out.stderr
    out = subprocess.run(
        [sys.executable, "-m", "core.show", "preflight"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1


def test_the_window_is_checked_against_the_stage():
    report = pf.Preflight("x")
    pf.check_window(report, 1024, 600)
    pf.check_window(report, 1600, 857)
    assert [c.status for c in report.checks] == [pf.RED, pf.GREEN]

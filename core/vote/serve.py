"""Serving the voter app and inviting the room: the voter app's command line, starting it in the
background from the dashboard, the join URL and its QR code (segno, pure Python).
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
from urllib.parse import urlsplit

from core import PROJECT_ROOT, RUNS_DIR
from core.cli import UserError
from core.vote.db import DB_ENV, normalize_url

DEFAULT_VOTER_PORT = 8502
VOTER_APP = PROJECT_ROOT / "vote_app.py"
VOTER_APP_LOG = RUNS_DIR / "vote" / "voter_app.log"
JOIN_URL_MAX_CHARS = 300
_LOOPBACK = ("localhost", "127.0.0.1", "::1", "0.0.0.0", "")


def serve_command(port: int = DEFAULT_VOTER_PORT, address: str = "0.0.0.0", workers: int = 1) -> list[str]:
    """``python -m core.vote serve``: the voter page as a small HTML form (core.vote.web, uvicorn)."""
    return [sys.executable, "-m", "core.vote", "serve", "--port", str(int(port)), "--address", address,
            "--workers", str(int(workers))]


def streamlit_serve_command(port: int = DEFAULT_VOTER_PORT, address: str = "0.0.0.0") -> list[str]:
    """``streamlit run vote_app.py`` for a room: no toolbar, no sidebar, no static files, no telemetry."""
    return [sys.executable, "-m", "streamlit", "run", str(VOTER_APP),
            "--server.port", str(int(port)), "--server.address", address, "--server.headless", "true",
            "--server.enableStaticServing", "false", "--server.fileWatcherType", "none",
            "--client.toolbarMode", "minimal", "--client.showSidebarNavigation", "false",
            "--browser.gatherUsageStats", "false"]


def voter_app_running(port: int = DEFAULT_VOTER_PORT, host: str = "127.0.0.1") -> bool:
    """Whether something answers on the voter app's port on this machine (``join_url_port`` gives the port
    a join URL uses)."""
    try:
        with socket.create_connection((host, int(port)), timeout=0.3):
            return True
    except OSError:
        return False


def check_port_free(port: int, address: str = "0.0.0.0") -> None:
    """Raise UserError (one line) when the voter app could not listen on ``address:port``."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((address, int(port)))
    except OSError as e:
        raise UserError(f"Cannot listen on {address}:{port}: {e.strerror or e}; the voter app may already "
                        "be running, or pick another --port.") from None


def start_voter_app(db_url: str | None = None, port: int = DEFAULT_VOTER_PORT,
                    address: str = "0.0.0.0") -> subprocess.Popen:
    """Start the voter app in the background, in its own session so it outlives the dashboard's rerun;
    its output goes to runs/vote/voter_app.log."""
    if voter_app_running(port):
        raise UserError(f"Port {port} is already in use; the voter app may already be running.")
    env = dict(os.environ)
    env[DB_ENV] = normalize_url(db_url)
    VOTER_APP_LOG.parent.mkdir(parents=True, exist_ok=True)
    with open(VOTER_APP_LOG, "ab") as log:
        return subprocess.Popen(serve_command(port, address), cwd=PROJECT_ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)


def lan_address() -> str | None:
    """This machine's address on the local network (what phones in the room can reach), or None.

    Connecting a UDP socket sends nothing; it only asks the OS which interface would be used.
    """
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed, never contacted
            address = s.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def default_join_url(page_url: str | None = None, port: int = DEFAULT_VOTER_PORT) -> str:
    """The voter app's address as phones should see it: the dashboard's own host name unless that is a
    loopback name, else this machine's LAN address."""
    host = ""
    scheme = "http"
    if page_url:
        parts = urlsplit(page_url)
        host, scheme = parts.hostname or "", parts.scheme or "http"
    if host in _LOOPBACK:
        host = lan_address() or "localhost"
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"{scheme}://{host}:{int(port)}/"


def join_url_port(url: str) -> int:
    """The TCP port a join URL points at (80 / 443 when it names none)."""
    parts = urlsplit((url or "").strip())
    try:
        port = parts.port
    except ValueError:
        raise UserError(f"The join URL {url!r} has an invalid port.") from None
    return port or (443 if parts.scheme == "https" else 80)


def check_join_url(url: str) -> str:
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError("The join URL must start with http:// or https:// and name a host.")
    if len(url) > JOIN_URL_MAX_CHARS:
        raise UserError(f"The join URL is longer than {JOIN_URL_MAX_CHARS} characters.")
    return url


def qr_png(url: str, scale: int = 10) -> bytes:
    """A QR code (error correction M, quiet zone 4) of the join URL, as PNG bytes."""
    import segno

    buf = io.BytesIO()
    segno.make(check_join_url(url), error="m", micro=False).save(buf, kind="png", scale=scale, border=4)
    return buf.getvalue()


def qr_svg(url: str) -> str:
    """The same QR code as SVG text, for printing or slides."""
    import segno

    buf = io.BytesIO()
    segno.make(check_join_url(url), error="m", micro=False).save(buf, kind="svg", scale=10, border=4,
                                                                  xmldecl=False)
    return buf.getvalue().decode("utf-8")


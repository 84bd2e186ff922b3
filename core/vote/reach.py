"""Can the room reach the voter app? The join URL's host and port, asked the way a phone would.

Used by the dashboard's "Live poll" panel (the "voter app is not running" warning checks the join URL's
own host and port, not a fixed port on localhost) and by the show's pre-flight (``core.show.preflight``).
"""

from __future__ import annotations

import ipaddress
import json
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

from core.vote.serve import join_url_port

VOTER_APP_NAME = "custom-cast-voter"  # core.vote.web.APP_NAME (not imported: that pulls in Starlette)
STREAMLIT_HEALTH = "_stcore/health"  # the older Streamlit voter app (serve --streamlit)


@dataclass(frozen=True)
class Probe:
    ok: bool
    message: str  # one line for the presenter
    detail: str = ""  # what was asked, for Details


def join_url_problem(url: str) -> str | None:
    """Why no phone in the room could open ``url`` (a loopback or unroutable host), else None."""
    parts = urlsplit((url or "").strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "The join URL must start with http:// or https:// and name a host."
    try:
        join_url_port(url)
    except Exception as e:  # noqa: BLE001 - UserError: an invalid port
        return str(e)
    host = parts.hostname
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(".localhost"):
        return f"{host} is this computer's own name: phones cannot reach it."
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)}
    except (socket.gaierror, UnicodeError):
        return f"{host} does not resolve to an address on this network."
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if ip.is_loopback:
            return f"{host} is a loopback address: only this computer can open it, no phone can."
        if ip.is_unspecified:
            return f"{host} is not an address anyone can connect to (it means 'every interface')."
        if ip.is_multicast or ip.is_reserved or (ip.version == 4 and ip.is_link_local):
            return f"{host} is not routable on a network (multicast, reserved or link-local)."
    return None


def probe_voter_app(url: str, timeout: float = 1.0) -> Probe:
    """Ask the join URL's host and port whether the voter app answers there (its /health)."""
    base = url.strip().rstrip("/") + "/"
    try:
        with urllib.request.urlopen(base + "health", timeout=timeout) as r:
            data = json.loads(r.read(4096) or b"{}")
        if isinstance(data, dict) and data.get("app") == VOTER_APP_NAME:
            if data.get("ok", True):
                return Probe(True, f"The voter app answers at {url}.", f"process {data.get('pid')}")
            return Probe(False, f"The voter app at {url} cannot reach the vote database.", str(data))
        return Probe(False, f"Something else answers at {url}: not the voter app.", str(data)[:200])
    except urllib.error.HTTPError as e:
        if e.code == 404:
            try:  # the older Streamlit voter app answers its own health path
                with urllib.request.urlopen(base + STREAMLIT_HEALTH, timeout=timeout) as r:
                    if r.read(16).strip() == b"ok":
                        return Probe(True, f"The (Streamlit) voter app answers at {url}.", STREAMLIT_HEALTH)
            except (OSError, ValueError):
                pass
        return Probe(False, f"Something else answers at {url} (HTTP {e.code}): not the voter app.")
    except (OSError, ValueError) as e:
        reason = getattr(e, "reason", e)
        return Probe(False, f"No voter app answers at {url}.", f"{type(e).__name__}: {reason}")

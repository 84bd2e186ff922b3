"""Benchmark: the morph slider's release -> exact 1024 px face on the sampler page, split into stages, against
the same face drawn alone in this process (the same run, so the box's load hits both).

Writes a 1024 px generator in NVIDIA's official pickle layout (random weights of the FFHQ-1024 shape, the
test helper's writer) into checkpoints/downloads/ (removed afterwards), serves the studio with
``CUSTOM_CAST_TIMING=1`` (core/stage_timing.py: the page logs its stages) and drives headless Chromium: pick
the network, wait for the drag frames, then ``--releases`` times let the slider go at a new value (the
``change`` event a mouse release fires) and wait, in the page, until the face shows the exact blend and the
picture is decoded. Each release is split into

  * browser -> server: the release until the page's callback runs on the server (websocket, Streamlit's
    rerun request, the script thread starting);
  * the server's stages: mapping, synthesis, encoding, handing the picture to the page, and the rest of the
    fragment run (controls, captions);
  * server -> picture: the end of the fragment run until the new picture is decoded in the page;

and the CPU seconds used meanwhile by the server (by thread) and by the browser (chromedriver and every
Chromium process). Between releases, while the page is idle, this process draws the same face alone
(mapping + synthesis + the page's encoding, 2 threads): the ratio of release -> exact to it is printed.

``--omp-rounds N`` first times the face alone in two worker processes, OpenMP threads spinning at their
barriers (libgomp's default) against sleeping (``OMP_WAIT_POLICY=PASSIVE``, what ``core`` sets), each alone
and with a browser-like competitor in its own session (4 ms of CPU every 25 ms, ~16 % of a core: what the
browser used during a release), modes interleaved round by round; wall and CPU seconds per face.

Usage: python bench/bench_release_exact.py [--releases 6] [--alone-threads 2] [--omp-rounds 6] [--no-browser]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
if "--omp-worker" in sys.argv:  # libgomp reads its environment when torch loads it: before core sets it
    import torch  # noqa: F401

from bench_sampler_browser import _browser_pids, _proc_table, tree_cpu_seconds  # noqa: E402

from core import stage_timing  # noqa: E402
from tests.browser_support import (  # noqa: E402
    ARTIFACTS,
    choose_option,
    chromium_installed,
    new_browser,
    running_studio,
    wait,
    wait_in_page,
)

# The studio as it is (core sets OMP_WAIT_POLICY=PASSIVE) and, with --baseline, as before session 9:
# libgomp's default wait (GOMP_SPINCOUNT 300000 is the count it uses when OMP_WAIT_POLICY is unset).
SERVERS = {"after (OpenMP threads sleep at barriers)": ("bench_release_exact.log", {}),
           "before (OpenMP threads spin, libgomp's default)": ("bench_release_exact_before.log",
                                                               {"GOMP_SPINCOUNT": "300000"})}
TICK = os.sysconf("SC_CLK_TCK")
FACE = "document.querySelector('img#sg-face')"

# One WebDriver call per release: let the slider go at ``v`` (the events a mouse drag and release fire),
# then wait, in the page, until the face shows the blend at ``v`` and its picture is decoded.
RELEASE_JS = """
const v = arguments[0];
const range = document.getElementById('sg-morph'), face = document.getElementById('sg-face');
const t0 = performance.now();
window.__release = new Promise(resolve => {
  const check = () => {
    if (Math.abs(Number(face.dataset.t) - v) < 0.004) {
      const shown = performance.now();
      face.decode().then(() => requestAnimationFrame(() => resolve({
        origin: performance.timeOrigin, t0, shown, painted: performance.now()})));
    } else setTimeout(check, 10);
  };
  check();
});
range.value = String(v);
range.dispatchEvent(new Event('input'));
range.dispatchEvent(new Event('change'));
return performance.timeOrigin + t0;
"""
NO_TRANSITIONS_JS = """
document.getElementById('bench-calm')?.remove();
if (arguments[0]) document.head.insertAdjacentHTML('beforeend',
  '<style id="bench-calm">*, *::before, *::after { transition: none !important; '
  + 'animation: none !important; }</style>');
"""
RELEASED_JS = "window.__release.then(arguments[arguments.length - 1]);"


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def _process_cpu(pid: int) -> float:
    """CPU seconds ``pid`` used so far, its ended threads included (a script run's thread ends with it)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _server_pid(port_url: str) -> int:
    """The pid of the Streamlit process serving ``port_url`` (a child of the started process group)."""
    port = port_url.rsplit(":", 1)[1]
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"streamlit" in b" ".join(cmd) and port.encode() in cmd:
            return int(pid)
    raise RuntimeError("the studio's process was not found")


def _descendants(roots: list[int]) -> list[int]:
    table = _proc_table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    out, todo = [], list(roots)
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def _freeze_until_synthesised(browsers: list[int], log: str, since: float, timeout: float = 300) -> None:
    """Stop every browser process (SIGSTOP) until the server's log shows the face's synthesis done."""
    pids = _descendants(browsers)
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = stage_timing.parse((ARTIFACTS / log).read_text(errors="replace").splitlines())
            if any(r["stage"] == "face.synthesis" and r.get("start", 0) >= since for r in rows):
                return
            time.sleep(0.05)
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)



def _face_alone(G, cache, seed: int, seed_b: int, t: float) -> tuple[float, float]:
    """(wall s, process CPU s) of the page's _face work, in this process's main thread."""
    from core import stylegan2 as sg
    from pages._sampler_scrub import data_url, encode_px

    t0, c0 = time.perf_counter(), time.process_time()
    ws = sg.lerp(cache.get(seed, 0.7), cache.get(seed_b, 0.7), t)
    data_url(sg.synthesize(G, ws)[0], encode_px(G))
    return time.perf_counter() - t0, time.process_time() - c0


def _omp_worker() -> None:
    """One face per seed read from stdin; prints ``wall cpu`` (seconds). Imports torch before core, so the
    environment it was started with decides libgomp's wait policy."""
    import torch

    from core import stylegan2 as sg

    torch.set_num_threads(2)
    G = sg.official_size_generator(1024, seed=7).eval()
    cache = sg.WsCache(G)
    sg.synthesize(G, cache.get(0, 0.7))  # warm-up
    print("ready", flush=True)
    for line in sys.stdin:
        t0, c0 = time.perf_counter(), time.process_time()
        sg.synthesize(G, cache.get(int(line), 0.7))
        print(f"{time.perf_counter() - t0:.4f} {time.process_time() - c0:.4f}", flush=True)


def _competitor() -> None:
    """A browser-like load in its own session: 4 ms of CPU every 25 ms."""
    os.setsid()
    while True:
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < 0.004:
            pass
        time.sleep(0.021)


def omp_policies(rounds: int) -> None:
    import subprocess

    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    policies = {"spinning (libgomp default)": env, "sleeping (OMP_WAIT_POLICY=PASSIVE)":
                {**env, "OMP_WAIT_POLICY": "PASSIVE"}}
    workers = {name: subprocess.Popen([sys.executable, __file__, "--omp-worker"], env=e, text=True,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE)
               for name, e in policies.items()}
    for w in workers.values():
        assert w.stdout.readline().strip() == "ready"
    modes = [(name, busy) for busy in (False, True) for name in policies]
    times: dict[tuple[str, bool], list[tuple[float, float]]] = {m: [] for m in modes}
    print(f"\nOpenMP wait policy, a 1024 px face alone, {rounds} rounds (load {_load()}):", flush=True)
    try:
        for r in range(rounds):
            for name, busy in modes[r % len(modes):] + modes[:r % len(modes)]:
                rival = subprocess.Popen([sys.executable, __file__, "--competitor"]) if busy else None
                try:
                    w = workers[name]
                    w.stdin.write(f"{r + 1}\n")
                    w.stdin.flush()
                    wall, cpu = map(float, w.stdout.readline().split())
                finally:
                    if rival is not None:
                        rival.kill()
                        rival.wait()
                times[(name, busy)].append((wall, cpu))
    finally:
        for w in workers.values():
            w.stdin.close()
            w.wait()
    med = statistics.median
    for name, busy in modes:
        xs = times[(name, busy)]
        print(f"  {name:36s} {'with the competitor' if busy else 'alone':20s} "
              f"wall p50 {med(x[0] for x in xs):.2f} s (best {min(x[0] for x in xs):.2f}), "
              f"CPU p50 {med(x[1] for x in xs):.2f} s")
    for busy in (False, True):
        spin, sleep = (times[(n, busy)] for n in policies)
        print(f"  {'with the competitor' if busy else 'alone'}: paired ratio spinning / sleeping, wall p50 "
              f"{med(a[0] / b[0] for a, b in zip(spin, sleep)):.2f}x, CPU p50 "
              f"{med(a[1] / b[1] for a, b in zip(spin, sleep)):.2f}x")
    print(f"  load average after: {_load()}", flush=True)


def _stages_after(rows: list[dict], since: float) -> dict[str, dict]:
    """The first release callback after ``since`` (epoch s) and the stages of that run."""
    out: dict[str, dict] = {}
    for row in rows:
        if row.get("at", row.get("start", 0)) < since:
            continue
        if row["stage"] == "release.callback" and "release.callback" in out:
            break
        out.setdefault(row["stage"], row)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--releases", type=int, default=6)
    ap.add_argument("--freeze-browser", action="store_true",
                    help="every other release, stop the browser's processes (SIGSTOP) until the server has "
                         "drawn the face: how much the browser's own work slows the server's render")
    ap.add_argument("--alone-threads", type=int, default=2,
                    help="threads of the face drawn alone (the page's)")
    ap.add_argument("--baseline", action="store_true",
                    help="a second studio as before session 9 (OpenMP threads spin), releases alternating")
    ap.add_argument("--no-transitions", action="store_true",
                    help="every other release, CSS transitions and animations off in the page (what the "
                         "browser's fades and the running indicator cost while the server draws)")
    ap.add_argument("--omp-rounds", type=int, default=0, help="rounds of the OpenMP wait-policy comparison")
    ap.add_argument("--no-browser", action="store_true", help="only the OpenMP comparison")
    ap.add_argument("--omp-worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--competitor", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.omp_worker:
        return _omp_worker()
    if a.competitor:
        return _competitor()
    if a.omp_rounds:
        omp_policies(a.omp_rounds)
    if a.no_browser:
        return
    if not chromium_installed():
        sys.exit("bench_release_exact: Chromium and chromedriver are needed (/usr/bin)")

    import torch

    from core import DOWNLOADS_DIR
    from core import stylegan2 as sg
    from tests.official_pickle import write_network_pickle

    print(f"load average before: {_load()} ({os.cpu_count()} CPUs)", flush=True)
    path = Path(DOWNLOADS_DIR) / f"bench-release-{os.getpid()}.pkl"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_network_pickle(sg.official_size_generator(1024, seed=7), path)
    servers = dict(list(SERVERS.items())[:2 if a.baseline else 1])
    rows: dict[str, list[dict]] = {name: [] for name in servers}
    try:
        G = sg.load_generator(str(path))
        cache = sg.WsCache(G)
        torch.set_num_threads(a.alone_threads)
        _face_alone(G, cache, 1, 2, 0.5)  # warm-up: buffers, kernels
        # The studios get the policy from their own `import core`, not from this process's environment.
        os.environ.pop("OMP_WAIT_POLICY", None)
        with contextlib.ExitStack() as stack:
            pages = {}
            for name, (log, env) in servers.items():  # one at a time: a model load takes both cores
                url = stack.enter_context(running_studio(log, {"CUSTOM_CAST_TIMING": "1", **env}))
                driver = new_browser()
                stack.callback(driver.quit)
                pages[name] = Page(name, log, _server_pid(url), driver, *_open_sampler(driver, url, path))
            time.sleep(2)
            for k in range(a.releases):
                v = round(0.2 + 0.6 * k / max(1, a.releases - 1), 2)
                order = list(pages.values())
                for page in order[k % len(order):] + order[:k % len(order)]:
                    alone = _face_alone(G, cache, page.seed, page.seed_b, v)
                    time.sleep(1.0)
                    calm = a.no_transitions and k % 2 == 1
                    page.driver.execute_script(NO_TRANSITIONS_JS, calm)
                    row = {**_release(page, v, a.freeze_browser and k % 2 == 1), "calm": calm}
                    rows[page.name].append({**row, "alone": alone})
                    _print_row(page.name, rows[page.name][-1])
    finally:
        path.unlink(missing_ok=True)
    for name, rs in rows.items():
        _summary([r for r in rs if not r["frozen"] and not r["calm"]], f"releases, {name}")
        _summary([r for r in rs if r["calm"]], f"releases, {name}, CSS transitions and animations off")
        _summary([r for r in rs if r["frozen"]], f"releases, {name}, the browser stopped while the server "
                                                 "drew (its wall times include the stop)")
    if a.baseline:
        (after, before) = (rows[n] for n in servers)
        med = statistics.median
        pairs = [(b, x) for b, x in zip(before, after) if not b["frozen"] and not x["frozen"]]
        syn = [(b["stages"]["face.synthesis"]["wall_ms"], x["stages"]["face.synthesis"]["wall_ms"])
               for b, x in pairs if "face.synthesis" in b["stages"] and "face.synthesis" in x["stages"]]
        if pairs and syn:
            print(f"\nbefore / after, paired by release: painted "
                  f"{med(b['painted'] / x['painted'] for b, x in pairs):.2f}x, synthesis "
                  f"{med(b / x for b, x in syn):.2f}x, server CPU "
                  f"{med(b['server_cpu'] / max(x['server_cpu'], 1e-3) for b, x in pairs):.2f}x")
    print(f"load average after: {_load()}")


@dataclass
class Page:
    name: str
    log: str
    server: int
    driver: object
    seed: int
    seed_b: int
    browsers: list[int]


def _open_sampler(driver, url: str, path: Path) -> tuple[int, int, list[int]]:
    """The sampler with the network on screen and its drag frames ready: (seed A, seed B, browser pids)."""
    driver.get(f"{url}/stylegan2")
    wait(driver, "window.__cc && window.__cc.first", 300, "the sampler's first face")
    choose_option(driver, "Generator", f"Downloaded: {path.name}")
    wait(driver, "document.body.innerText.includes('1024 px faces')", 300, "the 1024 px face")
    wait_in_page(driver, "(document.querySelector('input#sg-morph') || {dataset: {}})"
                 ".dataset.scrub === 'ready'", 600, "the drag frames")
    seed, seed_b = (int(x) for x in driver.execute_script(
        "return Object.keys(window.sgScrub).at(-1).split('|').slice(-6, -4)"))
    return seed, seed_b, _browser_pids([driver])


def _release(page: Page, v: float, frozen: bool) -> dict:
    """Let the slider go at ``v`` and wait for the exact face; the stages the server logged meanwhile."""
    server0, browser0, load = _process_cpu(page.server), tree_cpu_seconds(page.browsers), _load()
    released = page.driver.execute_script(RELEASE_JS, v) / 1000
    if frozen:
        _freeze_until_synthesised(page.browsers, page.log, released - 0.05)
    r = page.driver.execute_async_script(RELEASED_JS)
    server1, browser1 = _process_cpu(page.server), tree_cpu_seconds(page.browsers)
    time.sleep(0.5)  # the log lines are flushed
    logged = stage_timing.parse((ARTIFACTS / page.log).read_text(errors="replace").splitlines())
    return {"v": v, "frozen": frozen, "load": load, "release": released,
            "shown": (r["shown"] - r["t0"]) / 1000, "painted": (r["painted"] - r["t0"]) / 1000,
            "stages": _stages_after(logged, released - 0.05), "server_cpu": server1 - server0,
            "browser_cpu": browser1 - browser0}


def _ms(x: float) -> str:
    return f"{x * 1000:6.0f}"


def _split(row: dict) -> dict[str, float]:
    """Seconds of each part of one release -> painted face."""
    st, t0 = row["stages"], row["release"]
    parts: dict[str, float] = {}
    cb = st.get("release.callback", {}).get("at")
    hero = st.get("hero")
    if cb is None or hero is None:
        return parts
    parts["browser -> server callback"] = cb - t0
    parts["callback -> fragment body"] = hero["start"] - cb
    for name in ("face.mapping", "face.synthesis", "face.encode", "face.send"):
        if name in st:
            parts[name] = st[name]["wall_ms"] / 1000
    inside = sum(st[n]["wall_ms"] for n in ("face.mapping", "face.synthesis", "face.encode", "face.send")
                 if n in st) / 1000
    parts["rest of the fragment"] = hero["wall_ms"] / 1000 - inside
    parts["fragment end -> face shown"] = t0 + row["shown"] - hero["end"]
    parts["shown -> decoded and painted"] = row["painted"] - row["shown"]
    return parts


def _print_row(name: str, row: dict) -> None:
    parts = _split(row)
    syn = row["stages"].get("face.synthesis", {})
    stopped = (" (browser stopped)" if row["frozen"] else "") + (" (no transitions)" if row["calm"] else "")
    print(f"{name}: release at t={row['v']:.2f}{stopped} (load {row['load']}): "
          f"painted {row['painted']:.2f} s, face alone {row['alone'][0]:.2f} s "
          f"({row['alone'][1]:.2f} CPU-s); "
          + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in parts.items())
          + f"; synthesis CPU: script thread {syn.get('cpu_ms', 0) / 1000:.2f} s, server process "
          f"{syn.get('proc_cpu_ms', 0) / 1000:.2f} s, {syn.get('minflt', 0):.0f} page faults; whole release: "
          f"server CPU {row['server_cpu']:.2f} s, "
          f"browser CPU {row['browser_cpu']:.2f} s", flush=True)


def _summary(rows: list[dict], what: str = "releases") -> None:
    if not rows:
        return
    med = statistics.median
    print(f"\nmedian of {len(rows)} {what} (1024 px official layout, random weights):")
    keys = list(_split(rows[0]))
    for k in keys:
        vals = [_split(r).get(k) for r in rows]
        vals = [v for v in vals if v is not None]
        if vals:
            print(f"  {k:34s} {_ms(med(vals))} ms")
    syn_cpu = [r["stages"]["face.synthesis"]["cpu_ms"] / 1000 for r in rows
               if "face.synthesis" in r["stages"]]
    painted, alone = med(r["painted"] for r in rows), med(r["alone"][0] for r in rows)
    print(f"  {'release -> exact face painted':34s} {_ms(painted)} ms")
    print(f"  {'the same face alone (this process)':34s} {_ms(alone)} ms "
          f"(CPU {med(r['alone'][1] for r in rows):.2f} s)")
    print(f"  ratio release -> exact / face alone: {painted / alone:.2f}x  (paired per release: "
          f"{med(r['painted'] / r['alone'][0] for r in rows):.2f}x)")
    if syn_cpu:
        print(f"  synthesis, the script thread's own CPU: {med(syn_cpu):.2f} s")
    print(f"  server CPU during a release {med(r['server_cpu'] for r in rows):.2f} s, "
          f"browser CPU {med(r['browser_cpu'] for r in rows):.2f} s")


if __name__ == "__main__":
    main()

"""Benchmark: a foreground 1024 px face while the sampler's drag frames render in the background.

What the room waits for after a seed change or on releasing the morph slider is one exact 1024 px face
(``sg.synthesize`` in the page's thread, two OpenMP threads). Meanwhile the page's background job renders
the morph's drag frames at 256 px (one thread at nice 10 on a KeyedRenderer worker, as
pages/_sampler_scrub.py does). This times the foreground face

  * alone (no background work),
  * with the drag frames rendering in the background and the priority gate OFF (the baseline: what the
    page did before core.jobs.priority), and
  * with the gate ON (the background frames wait between frames and synthesis blocks while the face
    renders),

interleaved round by round so load from other work on the machine hits every mode alike; prints wall
seconds (median, best), the foreground's CPU seconds (the process's minus the background thread's), the
background thread's CPU seconds during the face, the ratios to the face alone, and the load average
before and after.

Generator: random weights in the official FFHQ config-F shape (``sg.official_size_generator``; the cost
does not depend on the values). Usage: python bench/bench_foreground_render.py [--repeats 4] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import stylegan2 as sg  # noqa: E402
from core.image.convert import png_bytes  # noqa: E402
from core.jobs import KeyedRenderer, priority  # noqa: E402

DRAG_FRAMES = 17   # pages/_sampler_scrub.py: SCRUB_FRAMES_LARGE
DRAG_PX = 256      # the preview resolution of a large generator's drag frames
TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _load() -> str:
    return "/".join(f"{v:.1f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"


def _thread_cpu(tid: int) -> float:
    """CPU seconds of one thread of this process (from /proc; 0 where there is none)."""
    try:
        fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


class DragFrames:
    """The page's background job, looping: sets of DRAG_FRAMES frames at DRAG_PX, one thread, nice 10,
    on a KeyedRenderer worker (a background thread of core.jobs.priority). ``running`` pauses it between
    frames, so the face-alone mode really is alone."""

    def __init__(self, G: sg.Generator):
        self.G = G
        cache = sg.WsCache(G)
        self.wa, self.wb = cache.get(11, 0.7), cache.get(12, 0.7)
        self.running, self.idle, self.stop = threading.Event(), threading.Event(), threading.Event()
        self.frames = 0
        self.tid = 0
        self.pool = KeyedRenderer(keep=1, workers=1, name="bench-drag")
        self.future = self.pool.get("drag", self._work)

    def _work(self, cancel: threading.Event) -> None:
        torch.set_num_threads(1)
        self.tid = threading.get_native_id()
        while not self.stop.is_set():
            for _ in sg.morph_frames(self.G, self.wa, self.wb, DRAG_FRAMES, max_resolution=DRAG_PX,
                                     batch_size=1):
                self.frames += 1
                if not self.running.is_set():
                    self.idle.set()
                    self.running.wait()
                    self.idle.clear()
                if self.stop.is_set():
                    return

    def pause(self) -> None:
        self.running.clear()
        self.idle.wait()

    def resume(self) -> None:
        self.running.set()
        before = self.frames
        while self.frames == before:  # it is mid-way through a frame when the face starts
            time.sleep(0.02)

    def close(self) -> None:
        self.stop.set()
        self.running.set()
        self.future.result()
        self.pool.shutdown()


def face(G: sg.Generator, ws: torch.Tensor, bg: DragFrames) -> tuple[float, float, float, int]:
    """(wall s, foreground CPU s, background CPU s, background frames finished) of one exact face + PNG,
    as the page draws it."""
    frames0, bg_cpu0, cpu0, t0 = bg.frames, _thread_cpu(bg.tid), time.process_time(), time.perf_counter()
    png_bytes(sg.synthesize(G, ws)[0], compress_level=1)
    wall, cpu, bg_cpu = time.perf_counter() - t0, time.process_time() - cpu0, _thread_cpu(bg.tid) - bg_cpu0
    return wall, cpu - bg_cpu, bg_cpu, bg.frames - frames0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=4, help="faces per mode (interleaved)")
    ap.add_argument("--threads", type=int, default=2, help="the foreground render's threads (the page's)")
    ap.add_argument("--resolution", type=int, default=1024)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    load_before = _load()
    G = sg.official_size_generator(a.resolution)
    cache = sg.WsCache(G)
    faces = [cache.get(s, 0.7) for s in range(100, 100 + a.repeats + 1)]
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, foreground {a.threads} thread(s); a "
          f"{a.resolution} px face (random weights, official FFHQ shape) with {DRAG_FRAMES} drag frames at "
          f"{DRAG_PX} px in the background; load average before {load_before}")
    bg = DragFrames(G)
    sg.synthesize(G, faces[-1])  # warm-up: buffers, oneDNN primitives
    modes = {"alone": [], "background, gate OFF (before)": [], "background, gate ON (after)": []}
    try:
        names = list(modes)
        for r in range(a.repeats):
            for mode in names[r % 3:] + names[:r % 3]:  # rotated: no mode always follows another
                runs = modes[mode]
                if mode == "alone":
                    bg.pause()
                else:
                    priority.set_enabled("ON" in mode)
                    bg.resume()
                runs.append(face(G, faces[r], bg))
                print(f"    round {r + 1} {mode}: {runs[-1][0]:.2f} s (load {_load()})", flush=True)
    finally:
        priority.set_enabled(True)
        bg.close()
    alone = float(np.median([run[0] for run in modes["alone"]]))
    for mode, runs in modes.items():
        wall, fg_cpu, bg_cpu, frames = (np.array(col) for col in zip(*runs))
        print(f"  {mode:30s}: wall p50 {np.median(wall):5.2f} s (best {wall.min():5.2f}, p25 "
              f"{np.percentile(wall, 25):5.2f}, worst {wall.max():5.2f}) = {np.median(wall) / alone:4.2f}x "
              f"alone; foreground CPU p50 "
              f"{np.median(fg_cpu):5.2f} s; background thread during the face: CPU p50 "
              f"{np.median(bg_cpu):4.2f} s, {frames.sum()} drag frames finished in {len(runs)} faces")
    alone_w, off_w, on_w = (np.array([run[0] for run in runs]) for runs in modes.values())
    print(f"  paired by round (load drifts less within a round), p50 of the ratios: gate OFF / alone "
          f"{np.median(off_w / alone_w):.2f}x, gate ON / alone {np.median(on_w / alone_w):.2f}x, "
          f"OFF / ON {np.median(off_w / on_w):.2f}x (the gate's speed-up with drag frames behind)")
    print(f"  p50 walls: gate OFF {np.median(off_w):.2f} s -> gate ON {np.median(on_w):.2f} s = "
          f"{np.median(off_w) / np.median(on_w):.2f}x")
    waits, waited = priority.stats()
    print(f"  background waits at the gate: {waits}, {waited:.1f} s in all")
    print(f"  load average after {_load()} (2-core box: other work inflates wall times, less the CPU s)")


if __name__ == "__main__":
    main()

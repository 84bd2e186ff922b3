"""Face pipeline throughput: scan + align images/s on 512 px inputs, cached rescans, peak RSS.

    .venv/bin/python bench/bench_faces.py [--n 60] [--detector modern|haar]

Inputs are 512x512 JPEGs: the ../shared CelebA-HQ photos when present, else the bundled demo photos,
upscaled. Prints figures plus the ratio against a decode-only baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import io
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from core import ASSETS_DIR  # noqa: E402
from core import faces as F  # noqa: E402


def inputs(n: int) -> list[tuple[str, bytes]]:
    shared = ROOT.parent / "shared" / "data" / "faces" / "celeba_hq"
    files = sorted(shared.glob("*.jpg")) if shared.exists() else []
    files = files or sorted((ASSETS_DIR / "demo_photos").glob("profile_0*.jpg"))
    out = []
    for i in range(n):
        im = Image.open(files[i % len(files)]).convert("RGB").resize((512, 512), Image.BICUBIC)
        if i >= len(files):  # distinct bytes so the content-hash cache cannot short-cut repeats
            im.putpixel((0, 0), (i % 256, i // 256 % 256, 7))
        b = io.BytesIO()
        im.save(b, format="JPEG", quality=90)
        out.append((f"img_{i:04d}.jpg", b.getvalue()))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--detector", choices=F.DETECTORS, default="modern")
    ap.add_argument("--compare", action="store_true", help="also time modern-fast and haar (cold only)")
    ap.add_argument("--size", type=int, default=64)
    args = ap.parse_args()
    data = inputs(args.n)
    sources = [(name, (lambda b=b: b)) for name, b in data]
    F.get_detector(args.detector)  # model load is not part of the throughput

    t0 = time.perf_counter()
    for _, b in data:
        F.load_image(b)
    decode = args.n / (time.perf_counter() - t0)

    with tempfile.TemporaryDirectory() as cache:
        cfg = F.ScanConfig(detector=args.detector, size=args.size)
        t0 = time.perf_counter()
        first = F.scan_files(sources, cfg, cache_dir=cache, keep_crops=False)
        cold = args.n / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        second = F.scan_files(sources, cfg, cache_dir=cache, keep_crops=False)
        warm = args.n / (time.perf_counter() - t0)
    assert all(r.cached for r in second.records)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"inputs: {args.n} x 512px JPEG, detector {args.detector}, crop {args.size}px, "
          f"faces kept {first.summary()['faces_kept']}")
    print(f"decode only (baseline):  {decode:8.1f} img/s")
    print(f"scan + align (cold):     {cold:8.1f} img/s   ({cold / decode:.3f}x decode)   target >= 30")
    print(f"cached rescan:           {warm:8.1f} img/s   ({warm / decode:.2f}x decode)   target >= 500")
    print(f"peak RSS:                {rss_mb:8.0f} MB")
    if args.compare:
        for other in ("modern-fast", "haar"):
            F.get_detector(other)
            with tempfile.TemporaryDirectory() as cache:
                t0 = time.perf_counter()
                res = F.scan_files(sources, F.ScanConfig(detector=other, size=args.size), cache_dir=cache,
                                   keep_crops=False)
                rate = args.n / (time.perf_counter() - t0)
            print(f"scan + align ({other}): {rate:8.1f} img/s   ({rate / decode:.3f}x decode)   "
                  f"faces kept {res.summary()['faces_kept']}")


if __name__ == "__main__":
    main()

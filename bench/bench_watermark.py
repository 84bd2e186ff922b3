"""Benchmark: provenance on exported faces (issue 24). Prints figures; asserts nothing.

1. Watermark survival: ``--n`` faces of the bundled StyleGAN2 (seeds 0..n-1, ψ 0.7) exported as the sampler
   exports them (``core.provenance.export_png``: enlarged to 256 px, labelled, watermarked, signed), then
   decoded as they are, after a JPEG re-encode at quality 75, after a 50 % downscale, and after both; the
   detection rate of each, the false-positive rate on the same faces without the mark, and the raw 64 px
   faces (too small to carry one). With ../shared's CelebA-HQ photos present, the same at 512 px (the
   official FFHQ models' sizes use the 8x8-block variant).
2. PSNR: the watermarked picture against the same picture labelled but unmarked.
3. Time a person waits for a download: PNG encode alone (the baseline) vs the whole export (label +
   watermark + PNG + C2PA signing), and signing / verifying alone, in ms (median of the runs).

Usage: python bench/bench_watermark.py [--n 100] [--no-shared]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CUSTOM_CAST_CONFIG_DIR", tempfile.mkdtemp(prefix="bench-provenance-"))

from core import provenance as pv  # noqa: E402
from core.image.convert import png_bytes  # noqa: E402
from core.image.decode import read_rgb  # noqa: E402
from core.provenance import watermark  # noqa: E402

SHARED = Path(os.environ.get("CUSTOM_CAST_SHARED", ROOT.parent / "shared"))


def jpeg75(rgb: np.ndarray) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", np.ascontiguousarray(rgb[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, 75])
    return cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1]


def half(rgb: np.ndarray) -> np.ndarray:
    return cv2.resize(rgb, (rgb.shape[1] // 2, rgb.shape[0] // 2), interpolation=cv2.INTER_AREA)


ATTACKS = {"as exported": lambda x: x, "JPEG q75": jpeg75, "50 % resize": half,
           "50 % resize + JPEG q75": lambda x: jpeg75(half(x))}


def survival(marked: list[np.ndarray], plain: list[np.ndarray], title: str) -> None:
    print(f"\n{title}: {len(marked)} faces, {marked[0].shape[1]}x{marked[0].shape[0]} px")
    print(f"  {'after':26s} detected   false positives (unmarked)")
    for name, attack in ATTACKS.items():
        hit = sum(bool(watermark.detect(attack(m))) for m in marked)
        fp = sum(bool(watermark.detect(attack(p))) for p in plain)
        print(f"  {name:26s} {100 * hit / len(marked):6.1f} %   {100 * fp / len(plain):5.1f} %")
    psnr = [cv2.PSNR(p, m) for p, m in zip(plain, marked, strict=True)]
    print(f"  PSNR of the mark: mean {np.mean(psnr):.1f} dB, min {np.min(psnr):.1f} dB")


def video_costs(faces: list[np.ndarray], repeats: int = 3) -> None:
    """An interpolation export (48 frames, 256 px): plain MP4/GIF writes vs labelled, watermarked, signed."""
    from core.image.convert import display_resize
    from core.video import write_gif, write_mp4

    frames = [display_resize(f, 256) for f in faces[:48]]
    origin = pv.Origin("StyleGAN2 sampler", ("checkpoints/stylegan2_demo.pt",), {"keyframe_seeds": "0-47"})
    print(f"\nVideo export, {len(frames)} frames at 256 px, 12 fps (median of {repeats}):")
    with tempfile.TemporaryDirectory() as tmp:
        for suffix, write in ((".mp4", write_mp4), (".gif", write_gif)):
            plain, full, seal = [], [], []
            for _ in range(repeats):
                t0 = time.perf_counter()
                write(frames, Path(tmp) / f"plain{suffix}", fps=12)
                plain.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                pv.export_video(frames, Path(tmp) / f"signed{suffix}", origin, fps=12)
                full.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                pv.seal_file(Path(tmp) / f"plain{suffix}", origin, watermarked=False)
                seal.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            v = pv.verify(Path(tmp) / f"signed{suffix}")
            t_verify = time.perf_counter() - t0
            size = (Path(tmp) / f"plain{suffix}").stat().st_size / 1e6
            print(f"  {suffix}: plain write {1000 * statistics.median(plain):6.0f} ms, export "
                  f"{1000 * statistics.median(full):6.0f} ms "
                  f"(x{statistics.median(full) / statistics.median(plain):.2f}); "
                  f"signing alone {1000 * statistics.median(seal):5.1f} ms ({size:.2f} MB); verify with "
                  f"watermark {1000 * t_verify:.0f} ms, intact={v.intact}, watermark={v.watermark}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--no-shared", action="store_true")
    p.add_argument("--video-only", action="store_true", help="only the video export costs")
    a = p.parse_args()
    from core import stylegan2 as sg

    G = sg.load_generator(ROOT / "checkpoints" / "stylegan2_demo.pt")
    faces = [img for _, img in sg.generate_images(G, range(max(a.n, 48)), 0.7)]
    if a.video_only:
        video_costs(faces)
        return 0
    faces = faces[:a.n]
    settings = pv.ProvenanceSettings()
    origin = pv.Origin("StyleGAN2 sampler", ("checkpoints/stylegan2_demo.pt",), {"psi": 0.7})
    pv.export_png(faces[0], origin, settings)  # first call: imports, certificate chain, signer

    exported, t_export, t_png, t_sign, t_verify = [], [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i, face in enumerate(faces):
            t0 = time.perf_counter()
            png_bytes(face)
            t_png.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            data = pv.export_png(face, pv.Origin(origin.generator, origin.models, {"seed": i, "psi": 0.7}),
                                 settings)
            t_export.append(time.perf_counter() - t0)
            marked_unsigned = pv.mark(face, settings)
            raw = png_bytes(marked_unsigned)
            t0 = time.perf_counter()
            pv.sign_bytes(raw, "image/png", origin)
            t_sign.append(time.perf_counter() - t0)
            path = Path(tmp) / f"{i}.png"
            path.write_bytes(data)
            t0 = time.perf_counter()
            v = pv.verify(path, check_watermark=False)
            t_verify.append(time.perf_counter() - t0)
            assert v.intact
            exported.append(read_rgb(path))
    labelled = [pv.mark(f, settings.with_(watermark=False)) for f in faces]
    survival(exported, labelled,
             "Bundled StyleGAN2 faces exported by the sampler (64 px, enlarged + labelled)")
    raw64 = [watermark.detect(f) for f in faces]
    carried = sum(watermark.embed(f) is not f for f in faces)
    print(f"\n64 px faces as generated: watermark embedded in {carried}"
          f" of {len(faces)} (too small to carry one); detect() answers "
          f"{'None (cannot tell)' if all(r is None for r in raw64) else raw64[:5]}")

    celeba = sorted((SHARED / "data" / "faces" / "celeba_hq").glob("*.jpg"))[:a.n]
    if celeba and not a.no_shared:
        big = [cv2.resize(read_rgb(f), (512, 512), interpolation=cv2.INTER_AREA) for f in celeba]
        survival([watermark.embed(b) for b in big], big, "CelebA-HQ photos at 512 px (as an FFHQ 512 model)")

    ms = lambda xs: 1000 * statistics.median(xs)  # noqa: E731
    print(f"\nDownload of one face (median of {len(faces)}):")
    print(f"  PNG encode alone (baseline)        {ms(t_png):7.1f} ms")
    print(f"  export_png: label+mark+PNG+sign    {ms(t_export):7.1f} ms  (x{ms(t_export) / ms(t_png):.1f})")
    print(f"  C2PA signing alone (256 px PNG)    {ms(t_sign):7.1f} ms")
    print(f"  verify (manifest only)             {ms(t_verify):7.1f} ms")
    video_costs(faces if len(faces) >= 48 else [img for _, img in sg.generate_images(G, range(48), 0.7)])
    return 0


if __name__ == "__main__":
    sys.exit(main())

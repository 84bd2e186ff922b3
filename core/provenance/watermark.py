"""The invisible watermark: 32 bits in the chroma of pictures and video frames of at least 256 px.

The maintained ``invisible-watermark`` library (the one Stable Diffusion's reference scripts use), method
DWT-DCT-SVD: a Haar wavelet of the U channel, 4x4 (8x8 from 1024 px) DCT blocks, the bits in each block's
largest singular value. Strength 64 (the library's default is 36) so the mark survives a JPEG re-encode at
quality 75 *and* a 50 % downscale together (bench/bench_watermark.py; figures in docs/provenance.md).
Below 256 px there are too few blocks for it to survive anything, so smaller pictures carry none (their
labelled exports are enlarged to 256 px first, see core.provenance.export).
"""

from __future__ import annotations

import numpy as np

PAYLOAD = b"CCai"            # "Custom Cast, AI": 32 bits
BITS = 32
MAX_BIT_ERRORS = 3           # chance that an unmarked picture matches: sum C(32,k), k<=3 / 2^32 ~ 1.3e-6
MIN_SIDE = 256
METHOD = "dwtDctSvd"
STRENGTH = 64


def _block(min_side: int) -> int:
    return 4 if min_side < 1024 else 8  # 8x8 at 512 px lost 7 % of faces to JPEG q75; at 1024 it holds


def can_carry(shape: tuple[int, ...]) -> bool:
    return min(shape[0], shape[1]) >= MIN_SIDE


def _payload_bits() -> np.ndarray:
    return np.unpackbits(np.frombuffer(PAYLOAD, np.uint8))


def embed(image: np.ndarray) -> np.ndarray:
    """The watermarked copy of a uint8 HxWx3 RGB picture (unchanged when smaller than 256 px)."""
    if not can_carry(image.shape):
        return image
    from imwatermark import WatermarkEncoder  # imports torch (its RivaGAN method); only when marking

    enc = WatermarkEncoder()
    enc.set_watermark("bytes", PAYLOAD)
    bgr = np.ascontiguousarray(image[..., ::-1])
    out = enc.encode(bgr, METHOD, scales=[0, STRENGTH, 0], block=_block(min(image.shape[:2])))
    return np.ascontiguousarray(out[..., ::-1])


def bit_errors(image: np.ndarray) -> int:
    """Fewest wrong bits over the sizes the picture may have been exported at (as it is, or 2x: a 50 %
    downscale), and both block sizes."""
    import cv2
    from imwatermark import WatermarkDecoder

    dec = WatermarkDecoder("bytes", BITS)
    want = _payload_bits()
    h, w = image.shape[:2]
    best = BITS
    for scale in (1, 2):
        if min(h, w) * scale < MIN_SIDE:
            continue
        candidate = image if scale == 1 else cv2.resize(image, (w * 2, h * 2), interpolation=cv2.INTER_CUBIC)
        bgr = np.ascontiguousarray(candidate[..., ::-1])
        for block in {_block(min(h, w) * scale), 4}:
            got = np.unpackbits(np.frombuffer(dec.decode(bgr, METHOD, scales=[0, STRENGTH, 0], block=block),
                                              np.uint8))
            best = min(best, int((got != want).sum()))
            if best == 0:
                return 0
    return best


def detect(image: np.ndarray) -> bool | None:
    """True: Custom Cast's mark is there; False: it is not; None: the picture is too small to tell."""
    if min(image.shape[:2]) * 2 < MIN_SIDE:
        return None
    return bit_errors(image) <= MAX_BIT_ERRORS

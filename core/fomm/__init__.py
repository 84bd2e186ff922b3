"""First Order Motion Model for image animation (Siarohin et al., NeurIPS 2019), one network per file.

An independent implementation of the paper's networks whose tensor names, shapes and outputs equal
those of the official ``first-order-model`` code, so the released ``vox-cpk.pth.tar`` loads as is:

* :mod:`~core.fomm.keypoint_detector` -- an hourglass predicts one heatmap per keypoint; a spatial
  softmax and a soft-argmax give the keypoint, heatmap-weighted maps its 2x2 jacobian;
* :mod:`~core.fomm.dense_motion` -- sparse motions (one local affine transform per keypoint plus the
  background identity) blended into one dense flow by predicted masks, and an occlusion map;
* :mod:`~core.fomm.generator` -- encodes the source, warps its features, decodes the frame;
* :mod:`~core.fomm.blocks` -- the shared layers (the official ``modules/util.py``);
* :mod:`~core.fomm.normalize` -- the official demo's relative keypoint normalisation;
* :mod:`~core.fomm.config` / :mod:`~core.fomm.loading` -- typed configs (PyYAML) and safe loading;
* :mod:`~core.fomm.animator` + :mod:`~core.fomm.fused` + :mod:`~core.fomm.winograd` -- the batched
  inference path (folded BatchNorm, low-resolution upsampling, Winograd residual convolutions).

This package holds the model only; the video pipeline is :mod:`core.animate`, which imports it
lazily. ``python -m core.fomm animate ...`` (:mod:`core.fomm.__main__`) runs that pipeline.
"""

from core.fomm.animator import FommAnimator
from core.fomm.blocks import KP_VARIANCE, kp2gaussian, make_coordinate_grid
from core.fomm.config import (
    DenseMotionParams,
    FommConfig,
    FommConfigError,
    GeneratorParams,
    KPDetectorParams,
    load_config,
    parse_yaml,
)
from core.fomm.dense_motion import DenseMotionNetwork, sparse_motions
from core.fomm.generator import OcclusionAwareGenerator
from core.fomm.keypoint_detector import KPDetector
from core.fomm.loading import build_fomm, check_fits_config, load_fomm
from core.fomm.normalize import normalize_kp

__all__ = ["KP_VARIANCE", "DenseMotionNetwork", "DenseMotionParams", "FommAnimator", "FommConfig",
           "FommConfigError", "GeneratorParams", "KPDetector", "KPDetectorParams",
           "OcclusionAwareGenerator", "build_fomm", "check_fits_config", "kp2gaussian", "load_config",
           "load_fomm", "make_coordinate_grid", "normalize_kp", "parse_yaml", "sparse_motions"]

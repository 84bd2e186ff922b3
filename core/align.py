"""Compatibility name: FFHQ alignment lives in :mod:`core.faces.align` (the animator imports it here)."""

from core.faces.align import (  # noqa: F401
    ALIGN_SIZES,
    align_face,
    box_quad,
    eye_mouth_points,
    ffhq_quad,
    quad_affine,
    transform_points,
    warp_quad,
)

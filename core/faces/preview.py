"""Pictures of a scan for people to look at: thumbnails, the vetted-face mosaic, detections drawn on a photo.

Kept apart from the scan so the explorer page stays thin (it only caches and lays these out). Not
re-exported by ``core.faces``: it pulls :mod:`core.image.convert` (and with it torch) for the grid.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from core.cli import describe_os_error
from core.faces.records import ImageRecord
from core.faces.scan import ScanResult
from core.image.convert import make_grid, png_bytes
from core.image.decode import ImageRejected, load_image

PLACEHOLDER = 200  # grey of the thumbnail of a photo that cannot be read any more
KEPT, REJECTED, POINTS, MESH = (0, 200, 0), (230, 40, 40), (255, 0, 255), (0, 255, 255)  # RGB
# The caption under a drawn photo, in the colours above (the mesh is cyan: the page once said yellow).
LEGEND = "green box: kept, red box: rejected; magenta: eyes and mouth; cyan dots: face mesh"


def kept_array(result: ScanResult) -> np.ndarray:
    """The kept crops that are in memory as one uint8 N x S x S x 3 array (N may be 0)."""
    crops = [f.crop for _, f in result.kept_crops() if f.crop is not None]
    size = result.config.size
    return np.stack(crops) if crops else np.zeros((0, size, size, 3), np.uint8)


def jpeg_bytes(rgb: np.ndarray, quality: int = 90) -> bytes:
    """A uint8 HxWx3 RGB image as JPEG (a tenth of a PNG's size for photos; PNG if encoding fails)."""
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return buf.tobytes() if ok else png_bytes(rgb)


def thumbnail(rec: ImageRecord, root: str | Path, side: int = 96) -> np.ndarray:
    """side x side RGB: the record's first kept face, else its photo re-read from ``root``, else grey."""
    face = rec.kept_faces[0] if rec.kept_faces else None
    if face is not None and face.crop is not None:
        rgb = face.crop
    else:
        try:
            rgb, _ = load_image(Path(root).joinpath(rec.file).read_bytes())
        except (ImageRejected, OSError):
            return np.full((side, side, 3), PLACEHOLDER, np.uint8)
    return cv2.resize(rgb, (side, side), interpolation=cv2.INTER_AREA)


def face_mosaic(crops: np.ndarray, side: int = 96, cols: int = 12, limit: int = 96) -> np.ndarray:
    """The first ``limit`` crops at ``side`` px tiled ``cols`` to a row (fewer if there are fewer)."""
    assert len(crops), "face_mosaic needs at least one face"
    faces = [cv2.resize(c, (side, side), interpolation=cv2.INTER_AREA) for c in crops[:limit]]
    return make_grid(faces, cols=min(cols, len(faces)), pad=3)


def draw_detections(rgb: np.ndarray, rec: ImageRecord, meshes: list[np.ndarray] = ()) -> np.ndarray:
    """A copy of the photo with every face box (green kept, red rejected), eye and mouth points (magenta)
    and, when given, every third mesh landmark (cyan); :data:`LEGEND` words it."""
    drawn = rgb.copy()
    for pts in meshes:
        for x, y in pts[::3]:
            cv2.circle(drawn, (int(x), int(y)), 1, MESH, -1)
    width = rgb.shape[1]
    for f in rec.faces:
        x0, y0, x1, y1 = (int(v) for v in f.box)
        cv2.rectangle(drawn, (x0, y0), (x1, y1), KEPT if f.kept else REJECTED, max(2, width // 200))
        for x, y in f.points or []:
            cv2.circle(drawn, (int(x), int(y)), max(3, width // 120), POINTS, -1)
    return drawn


def annotated_photo(root: str | Path, rec: ImageRecord,
                    mesh_detector: Callable[[np.ndarray], list] | None = None
                    ) -> tuple[np.ndarray | None, str]:
    """(the record's photo re-read from ``root`` with its detections drawn, or None; why it cannot be).

    With ``mesh_detector`` (a detector whose faces carry ``landmarks``) the face mesh is drawn as well.
    """
    try:
        rgb, _ = load_image(Path(root).joinpath(rec.file).read_bytes())
    except ImageRejected as e:
        return None, f"{e.reason}: {e.detail}"
    except OSError as e:  # the path may hold undecodable bytes: the reason only
        return None, describe_os_error(OSError(e.errno, e.strerror))
    meshes = [f.landmarks for f in mesh_detector(rgb) if f.landmarks is not None] if mesh_detector else []
    return draw_detections(rgb, rec, meshes), ""

"""Face data pipeline: photos in, detected, FFHQ-aligned and vetted face crops out.

One topic per module:

- :mod:`~core.faces.ingest` - folders, zip archives (zip-slip, bomb and damage checks), uploads,
  the metadata CSV. Photos are decoded by :mod:`core.image.decode`, the project's one image reader.
- :mod:`~core.faces.detection` - the Haar cascade (the seed study's) and MediaPipe BlazeFace + mesh.
- :mod:`~core.faces.align` - FFHQ crop geometry from eye and mouth points.
- :mod:`~core.faces.quality` - blur score, perceptual hashes, near-duplicate index.
- :mod:`~core.faces.records` - scan configuration, per-image and per-face records, rejection reasons.
- :mod:`~core.faces.cache` - the per-image result cache keyed by file content.
- :mod:`~core.faces.scan` - the streaming scan loop and its result.
- :mod:`~core.faces.job` - a scan as a thread job of :mod:`core.jobs` (progress, ETA, cancel) for the page.
- :mod:`~core.faces.export` - collision-free crop names, checked PNG writes, the training-set export.
- :mod:`~core.faces.stats` - histograms, eigenfaces, PCA and t-SNE maps of the crops.
- :mod:`~core.faces.preview` - thumbnails, the vetted-face mosaic, detections drawn (not re-exported).
- :mod:`~core.faces.figures` - the explorer's plotly figures and occupation word cloud (not re-exported).
- :mod:`~core.faces.cli` / ``__main__`` - ``python -m core.faces scan DIR|ZIP --out OUTDIR``.

The names below are re-exported so ``from core import faces as F; F.scan_folder(...)`` works.
"""

from core.faces.align import (
    ALIGN_SIZES,
    align_face,
    box_quad,
    eye_mouth_points,
    ffhq_quad,
    quad_affine,
    transform_points,
    warp_quad,
)
from core.faces.cache import CACHE_VERSION
from core.faces.cli import main
from core.faces.detection import (
    DETECT_MAX_SIDE,
    DETECTORS,
    DetectedFace,
    HaarDetector,
    ModernDetector,
    crop_face,
    get_detector,
)
from core.faces.export import (
    CropNamer,
    display_name,
    export_training_set,
    next_export_dir,
    safe_stem,
    write_png,
)
from core.faces.ingest import (
    DEFAULT_ZIP_MAX_BYTES,
    DEFAULT_ZIP_MAX_FILES,
    MAX_COMPRESSION_RATIO,
    METADATA_COLUMNS,
    IngestRefused,
    batch_folder,
    extract_zip,
    folder_sources,
    new_upload_folder,
    read_metadata,
    save_uploads,
    skipped_sources,
)
from core.faces.job import JOB_KIND, ScanCancelled, start_scan_job
from core.faces.quality import DuplicateIndex, blur_score, dhash, hamming, phash
from core.faces.records import (
    R_BLURRY,
    R_DUPLICATE,
    R_EXTRA,
    R_NO_FACE,
    R_SMALL,
    FaceRecord,
    ImageRecord,
    ScanConfig,
)
from core.faces.scan import ProgressFn, ScanResult, iter_scan, scan_files, scan_folder
from core.image.decode import (
    DEFAULT_MAX_PIXELS,
    IMAGE_EXTENSIONS,
    R_CORRUPT,
    R_EMPTY,
    R_NOT_IMAGE,
    R_TOO_LARGE,
    R_UNSUPPORTED,
    ImageRejected,
    list_image_files,
    load_image,
)

__all__ = [
    "ALIGN_SIZES", "CACHE_VERSION", "DEFAULT_MAX_PIXELS", "DEFAULT_ZIP_MAX_BYTES", "DEFAULT_ZIP_MAX_FILES",
    "DETECTORS", "DETECT_MAX_SIDE", "IMAGE_EXTENSIONS", "JOB_KIND", "MAX_COMPRESSION_RATIO",
    "METADATA_COLUMNS", "R_BLURRY", "R_CORRUPT", "R_DUPLICATE", "R_EMPTY", "R_EXTRA", "R_NOT_IMAGE",
    "R_NO_FACE", "R_SMALL", "R_TOO_LARGE", "CropNamer", "DetectedFace", "DuplicateIndex", "FaceRecord",
    "HaarDetector", "ImageRecord", "ImageRejected", "IngestRefused", "ModernDetector", "ProgressFn",
    "ScanCancelled", "ScanConfig", "ScanResult", "align_face", "blur_score", "box_quad", "crop_face",
    "dhash", "display_name", "export_training_set", "extract_zip", "eye_mouth_points", "ffhq_quad",
    "folder_sources", "get_detector", "hamming", "iter_scan", "list_image_files", "load_image", "main",
    "phash", "quad_affine", "read_metadata", "safe_stem", "save_uploads", "scan_files", "scan_folder",
    "start_scan_job", "transform_points", "warp_quad", "write_png", "R_UNSUPPORTED", "skipped_sources",
    "batch_folder", "new_upload_folder", "next_export_dir",
]

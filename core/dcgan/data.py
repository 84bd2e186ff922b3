"""Training images: a folder (read by core.image.decode) or the explorer's .npz export.

Everything becomes uint8 N x 3 x S x S (centre-cropped squares); unreadable files are skipped and
listed, an empty or image-less folder is refused with a hint. :class:`EpochSampler` draws batches.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from core.image.decode import IMAGE_EXTENSIONS, ImageRejected, list_image_files, load_image, square_resize

NPZ_SUFFIX = ".npz"
# An .npz export is refused before its array is read when it claims more than this many pixels
# (about 3 GB of uint8): the header is trusted for nothing but this check.
MAX_NPZ_VALUES = 3 * 2**30
MAX_NPZ_SIDE = 4096
# Below this, batch norm cannot train (it needs two values per channel on each process).
MIN_BATCH = 2


class DatasetError(ValueError):
    """The training images are missing, unreadable or too few. The message is for users."""


@dataclass
class ImageSet:
    images: torch.Tensor          # uint8 N x 3 x S x S
    source: str                   # the folder or file they came from
    skipped: list[str] = field(default_factory=list)  # names of files that could not be decoded

    def __len__(self) -> int:
        return int(self.images.shape[0])


def _npz_header(path: Path) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype of ``images`` in an .npz, read from the member's header without loading it."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            if "images.npy" not in names:
                found = sorted(n[:-4] if n.endswith(".npy") else n for n in names)
                raise DatasetError(f"{path.name} has no 'images' array (found {found}).")
            with zf.open("images.npy") as f:
                version = np.lib.format.read_magic(f)
                reader = {(1, 0): np.lib.format.read_array_header_1_0,
                          (2, 0): np.lib.format.read_array_header_2_0}.get(version)
                if reader is None:
                    raise DatasetError(f"{path.name}: unsupported .npy format version {version}.")
                shape, _, dtype = reader(f)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        if isinstance(e, DatasetError):
            raise
        raise DatasetError(f"{path.name} is not a readable .npz export: {e}") from None
    return tuple(shape), dtype


def load_npz_images(path: str | os.PathLike, size: int) -> np.ndarray:
    """The explorer's export format: ``images`` uint8 N x H x W x 3 (grayscale/RGBA also accepted).

    Shape and dtype are checked from the header first, so a file claiming 10**12 pixels is refused
    without allocating anything.
    """
    path = Path(path)
    shape, dtype = _npz_header(path)
    if len(shape) == 3:
        shape = (*shape, 1)
    if len(shape) != 4 or shape[-1] not in (1, 3, 4):
        raise DatasetError(f"{path.name}: expected images N x H x W x 3, got shape {tuple(shape)}.")
    if dtype != np.uint8:
        raise DatasetError(f"{path.name}: expected uint8 images, got {dtype}.")
    values = int(np.prod(shape, dtype=np.int64))
    if min(shape) < 1 or max(shape[1:3]) > MAX_NPZ_SIDE or values > MAX_NPZ_VALUES:
        raise DatasetError(f"{path.name}: images of shape {tuple(shape)} are empty or too large "
                           f"(at most {MAX_NPZ_SIDE} px a side and {MAX_NPZ_VALUES / 2**30:.0f} GiB).")
    try:
        with np.load(path, allow_pickle=False) as data:
            arr = data["images"]
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise DatasetError(f"{path.name} is not a readable .npz export: {e}") from None
    if arr.ndim == 3:
        arr = arr[..., None]
    if arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, axis=-1)
    elif arr.shape[-1] == 4:
        arr = arr[..., :3]
    if arr.shape[1] == size and arr.shape[2] == size:
        return arr
    return np.stack([square_resize(a, size) for a in arr])


def _dataset_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    exports = [p for p in path.rglob(f"*{NPZ_SUFFIX}") if p.is_file()
               and not any(part.startswith(".") for part in p.relative_to(path).parts)]
    return sorted([*list_image_files(path), *exports])


def load_dataset(path: str | os.PathLike, size: int, min_images: int = 1) -> ImageSet:
    """Load every image under ``path`` (a folder, searched recursively, or an .npz export) as uint8 NCHW.

    Mixed sizes are centre-cropped to squares and resized; grayscale (8 or 16 bit), palette, CMYK and
    RGBA images become RGB (transparency over white) exactly as everywhere else in the project.
    Unreadable files are skipped and listed.
    """
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"Dataset not found: {path}")
    chunks: list[np.ndarray] = []
    skipped: list[str] = []
    for f in _dataset_files(path):
        if f.suffix.lower() == NPZ_SUFFIX:
            chunks.append(load_npz_images(f, size))
        elif f.suffix.lower() in IMAGE_EXTENSIONS:
            try:
                chunks.append(square_resize(load_image(f)[0], size)[None])
            except ImageRejected:
                skipped.append(f.name)
    n = sum(len(c) for c in chunks)
    if n == 0:
        unreadable = f"; {len(skipped)} image file(s) could not be decoded" if skipped else ""
        raise DatasetError(f"No images found in {path} (looked for {', '.join(IMAGE_EXTENSIONS)} files and "
                           f".npz exports{unreadable}). Point --data at a folder of face crops, e.g. the "
                           f"dataset explorer's export.")
    if n < min_images:
        raise DatasetError(f"{path.name} has only {n} usable image(s); training needs at least {min_images} "
                           f"(one batch). Add images or lower the batch size.")
    arr = np.concatenate(chunks)
    images = torch.from_numpy(np.ascontiguousarray(arr)).permute(0, 3, 1, 2).contiguous()
    assert images.dtype == torch.uint8 and images.shape[1:] == (3, size, size), images.shape
    return ImageSet(images=images, source=str(path), skipped=skipped)


def fit_batch_size(batch_size: int, n_images: int, world: int = 1) -> int:
    """The batch to train with: ``batch_size``, or the largest ``n_images`` fill (a multiple of ``world``).

    Raises DatasetError when not even :data:`MIN_BATCH` images per process are available.
    """
    if n_images >= batch_size:
        return batch_size
    fitted = n_images - n_images % world
    if fitted < MIN_BATCH * world:
        raise DatasetError(f"Only {n_images} usable image(s); training needs at least {MIN_BATCH * world} "
                           f"(batch norm needs {MIN_BATCH} per process). Add images.")
    return fitted


class EpochSampler:
    """Shuffled batches without replacement from an explicit generator; its state is checkpointed."""

    def __init__(self, n: int, batch_size: int, seed: int):  # n images, global batch, data-order seed
        assert n >= batch_size, (n, batch_size)
        self.n, self.batch_size = n, batch_size
        self.generator = torch.Generator().manual_seed(seed)
        self.epoch, self.position = 0, 0
        self.order = torch.randperm(n, generator=self.generator)

    def next_indices(self) -> torch.Tensor:
        if self.position + self.batch_size > self.n:  # drop the ragged tail, as DataLoader(drop_last)
            self.order = torch.randperm(self.n, generator=self.generator)
            self.epoch, self.position = self.epoch + 1, 0
        idx = self.order[self.position:self.position + self.batch_size]
        self.position += self.batch_size
        return idx

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state(), "order": self.order.clone(),
                "epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict) -> None:
        order = state["order"]
        if not (torch.is_tensor(order) and order.shape == (self.n,)):
            raise ValueError(f"the saved data order covers {tuple(getattr(order, 'shape', ()))} images, "
                             f"this dataset has {self.n}")
        self.generator.set_state(state["generator"])
        self.order = order.clone()
        self.epoch, self.position = int(state["epoch"]), int(state["position"])

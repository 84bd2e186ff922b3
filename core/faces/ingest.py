"""Getting photos in: folders, zip archives (checked before and while extracting), uploads, metadata.

Decoding the photos themselves is :mod:`core.image.decode`' job; this module only decides which files to
read and makes archives and uploads safe to put on disk. Every refusal of a whole archive is an
:class:`IngestRefused` (a ValueError, so both the page and the CLI wrapper show its one-line message).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path

from core.checkpoint import publish_file
from core.cli import describe_os_error
from core.faces.export import write_file
from core.image.decode import MAX_FILE_BYTES, R_TOO_LARGE, ImageRejected, list_image_files, list_skipped_files

# Zip limits. A folder of a few thousand profile photos is well under 512 MiB; bigger sets are better
# scanned as a folder on disk than uploaded.
DEFAULT_ZIP_MAX_BYTES = 512 * 1024 * 1024
DEFAULT_ZIP_MAX_FILES = 20_000
# Photos (JPEG, PNG, WebP) are already compressed: deflate gains a few percent on them. A ratio over
# this, on more than RATIO_FLOOR_BYTES of data, is a zip bomb (zeros compress ~1000:1).
MAX_COMPRESSION_RATIO = 100
RATIO_FLOOR_BYTES = 8 * 1024 * 1024
# Only stored and deflated entries: they are what every zip tool writes, and deflate's output per
# read is bounded, whereas bzip2 and LZMA can expand one small read into gigabytes.
SUPPORTED_COMPRESSION = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
_COMPRESSION_NAMES = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "LZMA", 9: "Deflate64", 93: "Zstandard"}
_CHUNK = 1 << 20


class IngestRefused(ValueError):
    """A whole upload (e.g. a zip archive) was refused; the message says why, in one line, for the user."""

    def __init__(self, message: str):
        super().__init__(message.replace("\r", " ").replace("\n", " "))


def _os_reason(e: OSError) -> str:
    """"read-only file system", "no space left on the device", ... without the (possibly odd) path."""
    return describe_os_error(OSError(e.errno, e.strerror)).split(": ", 1)[-1]


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


def _name_parts(name: str) -> list[str]:
    return [p for p in name.split("/") if p not in ("", ".")]


def _unsafe(name: str) -> bool:
    p = name.replace("\\", "/")
    return p.startswith("/") or (len(p) > 1 and p[1] == ":") or ".." in p.split("/") or "\0" in p


def _check_directory(infos: list[zipfile.ZipInfo], max_total_bytes: int, max_files: int,
                     max_ratio: float) -> list[zipfile.ZipInfo]:
    """Refuse from the central directory alone (cheap, before anything is written); return the files."""
    if any(not i.filename for i in infos):  # zipfile's own is_dir() fails on an empty name
        raise IngestRefused("zip refused: an entry has an empty name")
    bad = [i.filename for i in infos if _unsafe(i.filename)]
    if bad:
        raise IngestRefused(f"zip refused: {len(bad)} entr{'y' if len(bad) == 1 else 'ies'} would "
                            f"escape the target folder (e.g. {bad[0]!r})")
    files = [i for i in infos if not i.is_dir()]
    if len(files) > max_files:
        raise IngestRefused(f"zip refused: {len(files)} files exceed the limit of {max_files}")
    for i in files:
        if not _name_parts(i.filename):
            raise IngestRefused(f"zip refused: entry {i.filename!r} has no file name")
        if i.flag_bits & 0x1:
            raise IngestRefused(f"zip refused: entry {i.filename!r} is encrypted; password-protected "
                                "archives are not supported, zip the photos without a password")
        if i.compress_type not in SUPPORTED_COMPRESSION:
            method = _COMPRESSION_NAMES.get(i.compress_type, f"method {i.compress_type}")
            raise IngestRefused(f"zip refused: entry {i.filename!r} uses {method} compression, which is "
                                "not supported; re-create the zip with the standard (deflate) method")
    total = sum(i.file_size for i in files)
    if total > max_total_bytes:
        raise IngestRefused(f"zip refused: {total / 2**20:.0f} MiB uncompressed exceeds the "
                            f"{max_total_bytes / 2**20:.0f} MiB cap")
    packed = sum(i.compress_size for i in files)
    for size, comp, what in [(i.file_size, i.compress_size, f"entry {i.filename!r}") for i in files] + \
                            [(total, packed, "the archive")]:
        if size > RATIO_FLOOR_BYTES and size > max_ratio * max(comp, 1):
            raise IngestRefused(f"zip refused: {what} expands {size / max(comp, 1):.0f}-fold "
                                f"({size / 2**20:.0f} MiB from {comp / 2**20:.1f} MiB), more than "
                                f"photos ever do ({max_ratio}-fold); it looks like a zip bomb")
    seen: set[str] = set()
    folders = {"/".join(_name_parts(i.filename)) for i in infos if i.is_dir()}
    for i in files:
        parts = _name_parts(i.filename)
        key = "/".join(parts)
        if key in seen:
            raise IngestRefused(f"zip refused: entry {i.filename!r} appears more than once")
        seen.add(key)
        folders.update("/".join(parts[:k]) for k in range(1, len(parts)))
    clash = sorted(seen & folders)
    if clash:
        raise IngestRefused(f"zip refused: {clash[0]!r} is both a file and a folder in the archive")
    return files


def _drop(path: str | None) -> None:
    """Remove a partially extracted temp file, so nothing truncated is left behind."""
    try:
        if path is not None and os.path.isfile(path):
            os.unlink(path)
    except OSError:
        pass


def _extract_one(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, budget: int) -> int:
    """Stream one entry to ``target`` atomically; returns the bytes written (at most ``budget``).

    The entry goes to a hidden temp file beside ``target`` (a scan skips hidden files) and is renamed over
    it by :func:`core.checkpoint.publish_file` once whole, so no reader ever sees half a photo.
    """
    name = info.filename
    got = 0
    tmp = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name[:40]}.", suffix=".part")
        with zf.open(info) as fin, os.fdopen(fd, "wb") as fout:
            while chunk := fin.read(_CHUNK):
                got += len(chunk)
                if got > info.file_size:
                    raise IngestRefused(f"zip refused: entry {name!r} holds more data than its header says")
                if got > budget:
                    raise IngestRefused("zip refused: the uncompressed size exceeds the cap")
                fout.write(chunk)
        if got != info.file_size:
            raise IngestRefused(f"zip refused: entry {name!r} is shorter than its header says")
        publish_file(tmp, target)
    except IngestRefused:
        _drop(tmp)
        raise
    except OSError as e:
        _drop(tmp)
        if e.errno is None:  # stream errors of the decompressors carry no errno: the data is damaged
            raise IngestRefused(f"zip refused: entry {name!r} is damaged ({_first_line(e)})") from None
        raise IngestRefused(f"zip could not be extracted: writing {name!r} failed: {_os_reason(e)}") from None
    except Exception as e:  # noqa: BLE001 - bad CRC, truncated stream, zlib.error, EOFError, ...
        _drop(tmp)
        raise IngestRefused(f"zip refused: entry {name!r} is damaged ({_first_line(e)})") from None
    return got


def extract_zip(archive: str | os.PathLike | bytes, dest: str | os.PathLike,
                max_total_bytes: int = DEFAULT_ZIP_MAX_BYTES, max_files: int = DEFAULT_ZIP_MAX_FILES,
                max_ratio: float = MAX_COMPRESSION_RATIO) -> Path:
    """Extract a zip into ``dest`` after checking it; raise :class:`IngestRefused` with a reason.

    Refused before anything is written: entries escaping ``dest`` (``../``, absolute paths, drive
    letters), more than ``max_files`` entries, more than ``max_total_bytes`` uncompressed, a
    compression ratio beyond ``max_ratio`` (zip bombs), encrypted entries, compression methods other
    than stored/deflate, duplicate names and a name that is both a file and a folder. While
    extracting, sizes are counted again (headers can lie) and damaged data is refused. No other
    exception escapes; a refused entry's partial file is removed.
    """
    dest = Path(dest)
    try:
        src = io.BytesIO(archive) if isinstance(archive, bytes) else archive
        zf = zipfile.ZipFile(src)
    except Exception as e:  # noqa: BLE001 - a damaged directory raises many types inside zipfile
        raise IngestRefused(f"not a readable zip archive ({_first_line(e)})") from None
    with zf:
        files = _check_directory(zf.infolist(), max_total_bytes, max_files, max_ratio)
        try:
            dest.mkdir(parents=True, exist_ok=True)
            root = dest.resolve()
        except OSError as e:
            raise IngestRefused(f"zip could not be extracted into {str(dest)!r}: {_os_reason(e)}") from None
        written = 0
        for info in files:
            target = root.joinpath(*_name_parts(info.filename))
            try:
                inside = root in target.resolve().parents
            except (OSError, RuntimeError):  # a symlink loop already in dest
                inside = False
            if not inside:
                raise IngestRefused(f"zip refused: entry {info.filename!r} escapes the target folder")
            written += _extract_one(zf, info, target, max_total_bytes - written)
    return dest


def new_upload_folder(parent: str | os.PathLike) -> Path:
    """A fresh, private folder under ``parent`` for one browser session's uploads (never reused)."""
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="uploads-", dir=parent))


def batch_folder(parent: str | os.PathLike, blobs: Iterable[tuple[str, bytes]]) -> Path:
    """``parent/<digest>``: one folder per distinct set of (name, bytes) uploads, so a second, different
    upload is never mixed with the files of the first (and the same upload again lands where it did)."""
    digest = hashlib.sha256()
    for name, data in blobs:
        digest.update(hashlib.sha256(name.encode("utf-8", "surrogateescape")).digest())
        digest.update(hashlib.sha256(data).digest())
    return Path(parent) / digest.hexdigest()[:16]


def save_uploads(files: Iterable[tuple[str, bytes]], dest: str | os.PathLike) -> Path:
    """Write uploaded (name, bytes) pairs into ``dest`` under their base names (no paths honoured).

    Hidden names get a ``_`` prefix (a scan skips hidden files) and repeated names a ``-2``, ``-3``
    suffix, so every upload lands in its own file. Each file is written atomically (the one atomic write,
    :func:`core.checkpoint.atomic_write_bytes`), so a scan never reads half an upload. The original names
    are kept (not :func:`core.uploads.store_upload`'s content hashes): the metadata CSV refers to them.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    for name, data in files:
        base = Path(name.replace("\\", "/").replace("\0", "_")).name or "upload"
        if base.startswith("."):
            base = "_" + base
        stem, suffix = Path(base).stem, Path(base).suffix
        unique, k = base, 1
        while unique.casefold() in used:
            k += 1
            unique = f"{stem}-{k}{suffix}"
        used.add(unique.casefold())
        write_file(dest / unique, data)
    return dest


def read_photo_bytes(path: Path) -> bytes:
    """A photo's bytes, refusing files too big to be photos before reading them into memory."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ImageRejected(R_TOO_LARGE, f"{size / 2**20:.0f} MiB file exceeds "
                                         f"{MAX_FILE_BYTES / 2**20:.0f} MiB")
    return path.read_bytes()


def folder_sources(root: str | os.PathLike) -> list[tuple[str, Callable[[], bytes]]]:
    """(name relative to ``root``, reader) for every image file under ``root`` (or ``root`` itself)."""
    root = Path(root)
    base = root if root.is_dir() else root.parent
    return [(p.relative_to(base).as_posix(), partial(read_photo_bytes, p)) for p in list_image_files(root)]


def skipped_sources(root: str | os.PathLike) -> list[tuple[str, str]]:
    """(name relative to ``root``, reason) for every visible file under ``root`` that is not a photo type."""
    root = Path(root)
    base = root if root.is_dir() else root.parent
    return [(p.relative_to(base).as_posix(), why) for p, why in list_skipped_files(root)]


METADATA_COLUMNS = {"filename": ("filename", "file", "image", "path"),
                    "name": ("name", "full_name", "fullname"),
                    "occupation": ("occupation", "headline", "title", "job", "role")}


def read_metadata(source: str | os.PathLike | bytes) -> dict[str, dict[str, str]]:
    """Optional metadata CSV -> {file base name: {"name": ..., "occupation": ...}}.

    Column names are matched loosely (e.g. ``headline`` counts as occupation). Raises ValueError with
    a readable message when there is no filename column.
    """
    text = source.decode("utf-8-sig", "replace") if isinstance(source, bytes) else \
        Path(source).read_text(encoding="utf-8-sig", errors="replace")
    reader = csv.DictReader(io.StringIO(text))
    cols = {c.strip().lower(): c for c in (reader.fieldnames or [])}
    pick = {k: next((cols[a] for a in aliases if a in cols), None) for k, aliases in METADATA_COLUMNS.items()}
    if pick["filename"] is None:
        raise ValueError(f"metadata CSV needs a filename column (one of {METADATA_COLUMNS['filename']})")
    out = {}
    for row in reader:
        fname = (row.get(pick["filename"]) or "").strip()
        if fname:
            out[Path(fname).name] = {k: (row.get(pick[k]) or "").strip() if pick[k] else ""
                                     for k in ("name", "occupation")}
    return out


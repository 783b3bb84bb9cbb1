"""Raw snapshot bytes, compressed and content-addressed by sha256, for audit and replay.

A part that answers 304 next time is taken from here, so it is never mistaken for an empty list.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

try:  # ISA-L's gzip: the same format (gzip.open reads it) at a third of zlib level 1's CPU, a little smaller
    from isal.igzip import IGzipFile as _GzipFile

    COMPRESS_LEVEL = 2
except ImportError:  # pragma: no cover - isal is a dependency; zlib still writes the same format
    _GzipFile = gzip.GzipFile  # type: ignore[misc,assignment]
    COMPRESS_LEVEL = 1  # a third of level 6's CPU for an archive about a third larger

# Both release the GIL: compressing a large body in a thread overlaps the parse on a second core; on a loaded
# machine every CPU second of the poll counts, which is why the cheaper compressor.
_POOL: ThreadPoolExecutor | None = None


class Archive:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256: str) -> Path:
        return self.root / sha256[:2] / f"{sha256}.gz"

    def put(self, src: Path, sha256: str) -> Path:
        """Store a file under its hash (no-op when already there); returns the archive path."""
        dst = self.path_for(sha256)
        if dst.exists():
            return dst
        dst.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dst.parent, suffix=".tmp")
        try:
            with (
                open(src, "rb") as fin,
                os.fdopen(fd, "wb") as raw,
                _GzipFile(fileobj=raw, mode="wb", compresslevel=COMPRESS_LEVEL, mtime=0) as fout,
            ):
                shutil.copyfileobj(fin, fout, 1 << 20)
            os.replace(tmp, dst)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return dst

    def put_later(self, src: Path, sha256: str) -> Future[Path]:
        """put() in a background thread; the caller waits on the future before it relies on the copy or
        removes `src`."""
        global _POOL
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="archive")
        return _POOL.submit(self.put, src, sha256)

    def has(self, sha256: str) -> bool:
        return self.path_for(sha256).exists()

    def restore(self, sha256: str, dst_dir: Path) -> Path:
        """Decompress an archived body into a temp file (the caller removes it)."""
        src = self.path_for(sha256)
        dst_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="restored-", suffix=".part", dir=dst_dir)
        with gzip.open(src, "rb") as fin, os.fdopen(fd, "wb") as fout:
            shutil.copyfileobj(fin, fout, 1 << 20)
        return Path(name)

"""A content-addressed store of original response bodies: blobs/ab/cd/<sha256>.gz, written once, never changed."""

from __future__ import annotations

import gzip
import hashlib
import itertools
import os
import re
import threading
from pathlib import Path

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class BlobError(Exception):
    """A blob is missing, or its bytes no longer match its name."""


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class BlobStore:
    """Original bytes by their sha256. A body already stored is not stored again."""

    def __init__(self, root: str | os.PathLike[str], fsync: bool | None = None):
        self.root = Path(root)
        # fsync each new blob before its row can point at it (default). STP_TRACKER_BLOB_FSYNC=0 trades that for
        # speed: a process crash still loses nothing (the kernel has the bytes); a power cut may lose the newest
        # blobs, which reading then reports as missing.
        self.fsync = fsync if fsync is not None else os.environ.get("STP_TRACKER_BLOB_FSYNC", "1") != "0"
        self.root.mkdir(parents=True, exist_ok=True)
        self._folders: set[Path] = set()  # fan-out folders known to exist (saves a mkdir per blob)
        self._names = itertools.count()
        self._lock = threading.Lock()

    def path_for(self, sha256: str) -> Path:
        # The name is checked before it becomes a path: nothing outside the store can be named.
        if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):  # fullmatch: `$` passes a final "\n"
            raise BlobError(f"not a sha256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / f"{sha256}.gz"

    def put(self, data: bytes) -> tuple[str, bool]:
        """Store `data`; return its sha256 and whether it was new."""
        sha = sha256_of(data)
        path = self.path_for(sha)
        if path.exists():
            return sha, False
        if path.parent not in self._folders:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._folders.add(path.parent)
        # Write to a temporary file in the same folder, fsync, then rename: a crash leaves
        # either the whole blob or none of it, never a torn one under the real name.
        with self._lock:
            tmp = str(path.parent / f".tmp-{os.getpid()}-{next(self._names)}-{sha[:8]}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            with os.fdopen(fd, "wb") as raw:
                with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) as gz:
                    gz.write(data)
                raw.flush()
                if self.fsync:
                    os.fsync(raw.fileno())
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        return sha, True

    def has(self, sha256: str) -> bool:
        return self.path_for(sha256).exists()

    def get(self, sha256: str, verify: bool = True) -> bytes:
        """The original bytes; with `verify`, checked against their name."""
        path = self.path_for(sha256)
        try:
            with gzip.open(path, "rb") as fh:
                data = fh.read()
        except FileNotFoundError:
            raise BlobError(f"blob {sha256} is missing from {self.root}") from None
        except (OSError, EOFError) as exc:
            raise BlobError(f"blob {sha256} is damaged: {exc}") from None
        if verify and sha256_of(data) != sha256:
            raise BlobError(f"blob {sha256} does not match its hash: the store is damaged")
        return data

    def stored_size(self, sha256: str) -> int:
        return self.path_for(sha256).stat().st_size

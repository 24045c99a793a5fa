"""Where attachment files are kept: by SHA-256, written once, never overwritten, checked when read back.

A store is anything with exists, put, open and read (the `Storage` protocol): a folder
(FolderStorage, the default) or an S3-compatible bucket (engine/records/object_store.py).
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO, Protocol

from engine.config import PROJECT_ROOT
from engine.errors import Conflict

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class StoredFileProblem(Conflict):
    """A recorded file is missing from storage or no longer matches its hash."""

    code = "stored_file_problem"


class Storage(Protocol):
    """Where files are kept by SHA-256: a folder (FolderStorage) or an S3-compatible bucket (object_store.S3Storage)."""

    def exists(self, sha256: str) -> bool: ...

    def put(self, sha256: str, content: bytes) -> None: ...

    def open(self, sha256: str) -> BinaryIO: ...

    def read(self, sha256: str) -> bytes: ...


def object_name(sha256: str) -> str:
    """Where a file lives inside a store: `<first two hex digits>/<sha256>`."""
    if not _SHA256.match(sha256):
        raise ValueError(f"not a SHA-256 digest: {sha256!r}")
    return f"{sha256[:2]}/{sha256}"


def checked_content(sha256: str, content: bytes) -> bytes:
    """`content` if it still matches its digest; a file altered in storage is refused, not served."""
    if hashlib.sha256(content).hexdigest() != sha256:
        raise StoredFileProblem(f"stored file {sha256} no longer matches its SHA-256 (altered in storage)")
    return content


class FolderStorage:
    """Stored files as `<root>/<first two hex digits>/<sha256>`, written once and made read-only."""

    def __init__(self, root: Path | str):
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        return self.root / object_name(sha256)

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).exists()

    def put(self, sha256: str, content: bytes) -> None:
        """Store `content` under its digest; an existing copy is kept as it is (never overwritten)."""
        if hashlib.sha256(content).hexdigest() != sha256:
            raise ValueError("content does not match its SHA-256")
        target = self.path(sha256)
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temp, 0o444)
            try:
                os.link(temp, target)  # fails if another writer stored the same bytes first: theirs stays
            except FileExistsError:
                pass
        finally:
            os.unlink(temp)

    def open(self, sha256: str) -> BinaryIO:
        """The stored file for reading; StoredFileProblem if it is missing."""
        try:
            return self.path(sha256).open("rb")
        except FileNotFoundError:
            raise StoredFileProblem(f"stored file {sha256} is missing from the attachment store") from None

    def read(self, sha256: str) -> bytes:
        """The stored bytes, checked against their digest."""
        with self.open(sha256) as stored:
            return checked_content(sha256, stored.read())


def storage_from_env(environ: dict | None = None) -> Storage:
    """The configured store: an S3-compatible bucket when PLANFLOW_ATTACHMENTS_S3_URL is set, else the folder
    PLANFLOW_ATTACHMENTS_DIR (default instance/attachments)."""
    env = os.environ if environ is None else environ
    if env.get("PLANFLOW_ATTACHMENTS_S3_URL"):
        from engine.records.object_store import S3Storage  # it builds on this module

        return S3Storage(env["PLANFLOW_ATTACHMENTS_S3_URL"], env.get("AWS_ACCESS_KEY_ID", ""),
                         env.get("AWS_SECRET_ACCESS_KEY", ""), env.get("PLANFLOW_ATTACHMENTS_S3_REGION", "us-east-1"))
    return FolderStorage(env.get("PLANFLOW_ATTACHMENTS_DIR") or PROJECT_ROOT / "instance" / "attachments")

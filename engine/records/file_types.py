"""What an uploaded file is, judged by its content (magic bytes), and the name it may be shown under.

The extension and the browser's content type are the sender's claims; only the first bytes
decide. A file of no allowed kind (an executable renamed .jpg, a zip that is not a DOCX or
XLSX, text that is not UTF-8) is refused.
"""
from __future__ import annotations

import hashlib
import io
import unicodedata
import zipfile
from dataclasses import dataclass, field

ALLOWED = {
    "image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp",
    "application/pdf": ".pdf", "audio/mpeg": ".mp3", "audio/mp4": ".m4a", "audio/wav": ".wav",
    "video/mp4": ".mp4", "text/plain": ".txt",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
}
# Shown inside the page (an <img>, or a frame for PDFs); everything else is only downloaded.
PREVIEWABLE = {"image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf"}
MAX_NAME_LENGTH = 200


def _zip_office_type(content: bytes) -> str | None:
    try:
        names = set(zipfile.ZipFile(io.BytesIO(content)).namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    if "word/document.xml" in names:
        return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    if "xl/workbook.xml" in names:
        return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return None


def _is_text(content: bytes) -> bool:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    return not any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f" for ch in text)


def sniff(content: bytes) -> str | None:
    """The allowed content type these bytes are, or None."""
    head = content[:16]
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head[4:8] == b"ftyp":
        return "audio/mp4" if head[8:12] in (b"M4A ", b"M4B ") else "video/mp4"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if head.startswith(b"PK\x03\x04"):
        return _zip_office_type(content)
    if _is_text(content):
        return "text/plain"
    return None


def display_name(name: str | None) -> str:
    """The file's own name, safe to show: no folders, no control or format characters, bounded.

    Never used as a path: files are stored under their SHA-256.
    """
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn"))
    base = base.strip().lstrip(".").strip()
    return base[:MAX_NAME_LENGTH] or "file"


@dataclass(frozen=True)
class Upload:
    """A received file that passed the checks: its name, kind, size and digest, and its bytes."""

    name: str
    content_type: str
    size: int
    sha256: str
    content: bytes = field(repr=False)

    def descriptor(self) -> dict:
        """What the case data and the audit trail keep of the file."""
        return {"sha256": self.sha256, "name": self.name, "type": self.content_type, "size": self.size}


class FileRefused(ValueError):
    """A file that cannot be accepted: an English template and its parameters (translated by the web layer)."""

    def __init__(self, template: str, **params):
        self.template, self.params = template, params
        super().__init__(template % params if params else template)


def N_(template: str) -> str:
    return template


def check_file(name: str | None, content: bytes, max_bytes: int) -> Upload:
    """An Upload for this file, or FileRefused saying why not (empty, too large, not an allowed kind)."""
    shown = display_name(name)
    if not content:
        raise FileRefused(N_("%(name)s is empty (0 bytes)"), name=shown)
    if len(content) > max_bytes:
        limit = f"{max_bytes / 1024 / 1024:g} MB" if max_bytes >= 1024 * 1024 else f"{max_bytes} bytes"
        raise FileRefused(N_("%(name)s is larger than the limit of %(limit)s"), name=shown, limit=limit)
    kind = sniff(content)
    if kind is None:
        raise FileRefused(N_("%(name)s is not an allowed kind of file (photos, PDF, audio, video, text, "
                             "DOCX, XLSX), judged by its content"), name=shown)
    return Upload(shown, kind, len(content), hashlib.sha256(content).hexdigest(), content)

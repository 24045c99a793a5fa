"""The evidence pack: one zip with evidence.json, the printable HTML, the plan's BPMN, every file and the checker.

Identity is masked by the same rule as the pages (engine/people/privacy.py): a reader who may not
see the complainant's identity gets a pack where it appears nowhere — not in the JSON, the
HTML or the file names (files are named by their SHA-256). Masked events keep their payload
hash instead of their salt, so the offline check (verify.py, standard library only) still
proves the chain. Every download is an audited `evidence_downloaded` event naming the
pack's SHA-256.
"""
from __future__ import annotations

import hashlib
import json
import tempfile
import zipfile
from datetime import datetime
from typing import BinaryIO, Callable

from sqlalchemy.orm import Session

from engine.calendar.working_days import WorkingCalendar
from engine.cases import use_cases as cases
from engine.errors import PermissionDenied
from engine.models import Case
from engine.people.privacy import may_see_contact, redacted, shown_identity
from engine.people.users import get_user
from engine.records import attachments, audit
from engine.records.file_store import StoredFileProblem
from engine.records.file_types import ALLOWED
from engine.views import review

EVIDENCE_DOWNLOADED = "evidence_downloaded"
# Version 2: files with their SHA-256, the audit section (masked per reader) and the `masked` flag.
PACK_FORMAT = "planflow-evidence-2"
README = """PlanFlow evidence pack for case {number}

evidence.json   the case, every audit event with its hash, signature and previous hash, the
                deadlines, the files (with their SHA-256) and the checkpoints covering the events
evidence.html   the same, printable
plan.bpmn       the BPMN of the plan version the case ran on
attachments/    every file of the case, named <sha256><extension>
checkpoints.json the signed checkpoints that cover this case's events
verify.py       checks evidence.json offline (Python 3, standard library only):
                    python3 verify.py evidence.json --key <the organisation's public key>.pem
                Without --key it uses the keys written in the pack; pass the key you received
                separately. Check a file with:  sha256sum attachments/<name>
{masked}"""
MASKED_NOTE = ("Identity is masked in this pack (complainant and contact). Events whose data held them carry\n"
               "\"payload_redacted\": true and their payload hash, which the check uses instead of the payload.\n")


def may_download(user, case: Case, tasks) -> bool:
    """Who may see the case may take its pack: its workers, and compliance."""
    return attachments.may_see(user, case, tasks)


def attachment_file(row) -> str:
    """The file's name inside the pack: its digest and the extension of its kind (never the sent name)."""
    return f"attachments/{row.sha256}{ALLOWED.get(row.content_type, '')}"


def evidence_document(session: Session, case: Case, now: datetime, calendar: WorkingCalendar, visible: bool) -> dict:
    """evidence.json: the review pack, the case's files and its audit section, masked unless `visible`."""
    doc = review.evidence_pack(session, case, now, calendar)
    section = audit.pack_section(session, case.id, mask=lambda payload: redacted(payload, case, visible))
    complainant, contact = shown_identity(case, visible)
    files = [{"sha256": row.sha256, "file": attachment_file(row), "name": row.name, "type": row.content_type,
              "size": row.size, "added_by": row.added_by, "added_at": row.added_at.isoformat(), "note": row.note,
              "field": row.field_key, "task_id": row.task_id}
             for row in attachments.case_attachments(session, case.id)]
    events = section["events"]
    rest = {key: value for key, value in doc.items() if key not in ("events", "checkpoints", "public_keys")}
    rest = redacted({**rest, "attachments": files}, case, visible)
    rest["case"] = {**rest["case"], "complainant": complainant, "contact": contact}
    rest["plan_version"] = {**rest.get("plan_version", {}), "file": "plan.bpmn"}
    return {**rest, "format": PACK_FORMAT, "masked": not visible, "events": events, "checkpoints": section["checkpoints"],
            "public_keys": section["public_keys"], "audit": section}


def build_zip(out: BinaryIO, doc: dict, html: str, bpmn_xml: str, files: dict[str, tuple[str, BinaryIO]]) -> None:
    """Write the pack into `out`; `files` maps a name inside the pack to (SHA-256, open stored file), streamed."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as pack:
        pack.writestr("README.txt", README.format(number=doc["case"]["number"],
                                                  masked=MASKED_NOTE if doc["masked"] else ""))
        pack.writestr("evidence.json", json.dumps(doc, ensure_ascii=False, indent=2, default=str))
        pack.writestr("evidence.html", html)
        pack.writestr("plan.bpmn", bpmn_xml)
        pack.writestr("checkpoints.json", json.dumps(doc["checkpoints"], ensure_ascii=False, indent=2))
        pack.writestr("verify.py", audit.OFFLINE_VERIFY_SCRIPT.read_text(encoding="utf-8"))
        for name, (sha256, source) in files.items():
            _copy_checked(pack, name, sha256, source)


def _copy_checked(pack: zipfile.ZipFile, name: str, sha256: str, source: BinaryIO) -> None:
    """Stream one stored file into the pack, refusing it if its bytes no longer match its hash."""
    digest = hashlib.sha256()
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED  # photos, audio and PDFs are compressed already
    with source, pack.open(info, "w", force_zip64=True) as target:
        while chunk := source.read(1024 * 1024):
            digest.update(chunk)
            target.write(chunk)
    if digest.hexdigest() != sha256:
        raise StoredFileProblem(f"stored file {sha256} no longer matches its SHA-256 "
                                            f"(altered in storage); the pack was not made")


def _viewer(session: Session, number: str, username: str):
    user = get_user(session, username)
    case = cases.get_case(session, number)
    if not may_download(user, case, cases.case_tasks(session, case.id)):
        raise PermissionDenied(f"user '{username}' may not see case {number}")
    return user, case


def document_for(session: Session, number: str, username: str, now: datetime, calendar: WorkingCalendar,
                 masked: bool = False) -> tuple[Case, dict]:
    """evidence.json as this user may see it (masked for roles that do not see identity, or on request)."""
    user, case = _viewer(session, number, username)
    return case, evidence_document(session, case, now, calendar, may_see_contact(user) and not masked)


def record_download(session: Session, case: Case, username: str, now: datetime, what: str, sha256: str, size: int,
                    masked: bool) -> None:
    """Audit one download of evidence (the pack, or its JSON or HTML alone) with the SHA-256 of what was sent."""
    audit.record(session, EVIDENCE_DOWNLOADED, username, now, case=case,
                 payload={"what": what, "masked": masked, "sha256": sha256, "size": size})


class _Lazy:
    """A stored file opened on first read, so a pack never holds hundreds of files open."""

    def __init__(self, storage, sha256: str):
        self.storage, self.sha256, self.file = storage, sha256, None

    def read(self, size: int = -1) -> bytes:
        if self.file is None:
            self.file = self.storage.open(self.sha256)
        return self.file.read(size)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.file is not None:
            self.file.close()


def _digest(out: BinaryIO) -> tuple[str, int]:
    out.seek(0)
    digest, size = hashlib.sha256(), 0
    while chunk := out.read(1024 * 1024):
        digest.update(chunk)
        size += len(chunk)
    out.seek(0)
    return digest.hexdigest(), size


def download_pack(session: Session, storage, number: str, username: str, now: datetime, calendar: WorkingCalendar,
                  render_html: Callable[[dict], str], masked: bool = False) -> tuple[str, BinaryIO]:
    """The zip for this user, audited; returns its file name and a temporary file holding it (read from the start).

    The pack goes through a temporary file, not memory: a case may hold hundreds of large files.
    """
    case, doc = document_for(session, number, username, now, calendar, masked)
    rows = {attachment_file(row): row.sha256 for row in attachments.case_attachments(session, case.id)}
    out = tempfile.TemporaryFile()
    try:
        # Opened lazily, one at a time; a missing or altered file stops the pack instead of leaving it out.
        build_zip(out, doc, render_html(doc), case.plan_version.bpmn_xml,
                  {name: (sha256, _Lazy(storage, sha256)) for name, sha256 in rows.items()})
        sha256, size = _digest(out)
        record_download(session, case, username, now, "zip", sha256, size, doc["masked"])
    except BaseException:
        out.close()
        raise
    suffix = "-masked" if doc["masked"] else ""
    return f"{case.number}-evidence{suffix}.zip", out

"""Case files: serving them to those who may see the case, and attaching files outside a task.

Files submitted with a task's form or a registration arrive in the same multipart POST as
the form's JSON (`data`), one part per file named `files.<field key>`; the routes of those
pages read them with `received_files()`. Those routes, and this blueprint's upload, accept
bodies up to PLANFLOW_MAX_UPLOAD_BYTES instead of the general request limit.
"""
from __future__ import annotations

import io
import os

from flask import Blueprint, current_app, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine.calendar.clock import utcnow
from engine.models import Case
from engine.people.privacy import may_see_contact, redacted
from engine.people.users import get_user
from engine.records import attachments, file_store
from engine.records.file_types import PREVIEWABLE
from webapp.db import reading, run

bp = Blueprint("attachments", __name__)

DEFAULT_MAX_UPLOAD_BYTES = 64 * 1024 * 1024
UPLOAD_ENDPOINTS = {"inbox.complete", "cases.register", "attachments.attach"}
FILE_PART_PREFIX = "files."
# A stored file is not a page: it runs nothing, and only our own pages may frame it (PDF preview).
FILE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; "
                               "object-src 'self'; frame-ancestors 'self'",
    "X-Frame-Options": "SAMEORIGIN",
    "Cache-Control": "private, no-store",
}


def storage() -> file_store.Storage:
    return current_app.extensions["planflow_attachments"]


def limits() -> attachments.Limits:
    return current_app.extensions["planflow_attachment_limits"]


def received_files() -> dict[str, list[tuple[str | None, bytes]]]:
    """The request's file parts by field key (`files.<key>`), as (sent name, bytes)."""
    found: dict[str, list[tuple[str | None, bytes]]] = {}
    for part, upload in request.files.items(multi=True):
        if part.startswith(FILE_PART_PREFIX):
            found.setdefault(part[len(FILE_PART_PREFIX):], []).append((upload.filename, upload.read()))
    return found


def case_files(session, case, viewer) -> list[dict]:
    """A case's attachments as a viewer may see them (names and notes masked like the case's identity)."""
    visible = may_see_contact(viewer)
    return [redacted({"id": row.id, "name": row.name, "content_type": row.content_type, "size": row.size,
                      "sha256": row.sha256, "added_by": row.added_by, "added_at": row.added_at, "note": row.note,
                      "field": row.field_key, "task_id": row.task_id,
                      "preview": "image" if row.content_type.startswith("image/") else
                      "pdf" if row.content_type in PREVIEWABLE else None}, case, visible)
            for row in attachments.case_attachments(session, case.id)]


@bp.get("/attachments/<int:attachment_id>")
@login_required
def download(attachment_id: int):
    """The stored file: images and PDFs inline (unless ?download=1), anything else as a download."""
    with reading() as session:
        row = attachments.get_for_viewer(session, attachment_id, current_user.username)
        case = session.get(Case, row.case_id)
        name = redacted({"n": row.name}, case, may_see_contact(get_user(session, current_user.username)))["n"]
        content_type, sha256 = row.content_type, row.sha256
    inline = content_type in PREVIEWABLE and request.args.get("download") != "1"
    mimetype = f"{content_type}; charset=utf-8" if content_type == "text/plain" else content_type
    response = send_file(io.BytesIO(storage().read(sha256)), mimetype=mimetype, as_attachment=not inline,
                         download_name=name, etag=sha256, max_age=0)
    response.headers.update(FILE_HEADERS)
    return response


@bp.post("/cases/<number>/attachments")
@login_required
def attach(number: str):
    """Attach files to a case outside any task, with a note."""
    files = [(upload.filename, upload.read()) for upload in request.files.getlist("files")]
    try:
        added = run(attachments.attach_to_case, storage(), number, current_user.username, files,
                    request.form.get("note"), utcnow(), limits())
    except attachments.AttachmentRefused as refused:
        reason = _(refused.template, **refused.params) if refused.params else _(refused.template)
        flash(_("Nothing was attached: %(reason)s", reason=reason), "error")
    else:
        flash(_("%(count)s file(s) attached.", count=len(added)), "success")
    return redirect(url_for("cases.case", number=number) + "#attachments", code=303)


def init_app(app) -> None:
    """The store and limits from the environment (or ATTACHMENTS_DIR in the app config); call before limits.init_app.

    The blueprint is registered with the others, after limits.init_app (its routes use the bounded int).
    """
    folder = app.config.get("ATTACHMENTS_DIR")
    app.extensions["planflow_attachments"] = (file_store.FolderStorage(folder) if folder
                                              else file_store.storage_from_env())
    file_limits = app.config.get("ATTACHMENT_LIMITS") or attachments.Limits.from_env()
    app.extensions["planflow_attachment_limits"] = file_limits
    upload_body = int(app.config.get("MAX_UPLOAD_BYTES")
                      or os.environ.get("PLANFLOW_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES))
    if file_limits.max_bytes + 1024 * 1024 > upload_body:
        raise RuntimeError(f"PLANFLOW_ATTACHMENT_MAX_BYTES ({file_limits.max_bytes}) must be at least 1 MiB below "
                           f"PLANFLOW_MAX_UPLOAD_BYTES ({upload_body}), or no file of the allowed size could be sent")

    @app.before_request
    def upload_body_limit():
        # Runs before the CSRF check and the input limits read the body, so this limit is the one applied.
        if request.endpoint in UPLOAD_ENDPOINTS:
            request.max_content_length = upload_body

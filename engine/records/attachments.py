"""Files attached to cases: limits, and the use cases that add and read them.

A file is checked by content (engine/records/file_types.py), stored once under its SHA-256 outside
the database (engine/records/file_store.py), and recorded as an Attachment row plus an `attachment_added`
audit event carrying the hash. The application never overwrites or deletes a stored file.
Files are written only after everything else in the step was accepted; if the transaction
still fails, the stored copy is referenced by nothing and harmless (the next upload of the
same bytes reuses it).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.cases import use_cases as cases
from engine.db import transaction
from engine.errors import CaseEngineError, FormInvalid, NotFound, PermissionDenied, PlanFlowError
from engine.forms import conditions as form_conditions
from engine.forms.validation import N_, input_components, validate_submission
from engine.models import Attachment, Case, Task, User
from engine.people.roles import LANE_ROLES
from engine.people.users import get_user
from engine.plans.versions import current_version, spec_cache
from engine.records import audit
from engine.records.file_store import Storage
from engine.records.file_types import FileRefused, Upload, check_file

ATTACHMENT_ADDED = "attachment_added"
COMPLIANCE = "compliance"


class AttachmentRefused(PlanFlowError):
    """Files that cannot be attached: an English template and its parameters (translated by the web layer)."""

    code = "attachment_refused"

    def __init__(self, template: str, **params):
        self.template, self.params = template, params
        super().__init__(template % params if params else template)


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 20 * 1024 * 1024
    per_field: int = 10
    per_case: int = 200

    @classmethod
    def from_env(cls, environ: dict | None = None) -> "Limits":
        """PLANFLOW_ATTACHMENT_MAX_BYTES, PLANFLOW_ATTACHMENTS_PER_FIELD, PLANFLOW_ATTACHMENTS_PER_CASE."""
        env = os.environ if environ is None else environ
        return cls(max_bytes=int(env.get("PLANFLOW_ATTACHMENT_MAX_BYTES", cls.max_bytes)),
                   per_field=int(env.get("PLANFLOW_ATTACHMENTS_PER_FIELD", cls.per_field)),
                   per_case=int(env.get("PLANFLOW_ATTACHMENTS_PER_CASE", cls.per_case)))


def file_fields(schema: dict) -> dict[str, dict]:
    """The form's filepicker components by key."""
    return {c["key"]: c for c in input_components(schema) if c.get("type") == "filepicker"}


def check_files(schema: dict, files: dict[str, list[tuple[str | None, bytes]]], limits: Limits) -> dict[str, list[Upload]]:
    """Each field's received files as Uploads, or FormInvalid with one message per refused field."""
    fields = file_fields(schema)
    problems: dict[str, tuple[str | None, FileRefused]] = {}
    checked: dict[str, list[Upload]] = {}
    for key, received in files.items():
        received = [(name, content) for name, content in received if name or content]
        if not received:
            continue
        component = fields.get(key)
        if component is None:
            problems[key] = (None, FileRefused(N_("this form has no file field '%(key)s'"), key=key))
            continue
        try:
            if len(received) > limits.per_field:
                raise FileRefused(N_("at most %(num)s files per field"), num=limits.per_field)
            checked[key] = [check_file(name, content, limits.max_bytes) for name, content in received]
        except FileRefused as refused:
            problems[key] = (component.get("label") or key, refused)
    if problems:
        raise FormInvalid({key: f"{label}: {error}" if label else str(error) for key, (label, error) in problems.items()},
                          {key: {"label": label, "template": error.template, "params": error.params}
                           for key, (label, error) in problems.items()})
    return checked


def record(session: Session, storage: Storage, case: Case, uploads: list[Upload], actor: str, now: datetime,
           *, limits: Limits, task: Task | None = None, field_key: str | None = None,
           note: str | None = None) -> list[Attachment]:
    """Store the files and add one row and one audited `attachment_added` event per file."""
    held = session.execute(select(func.count(Attachment.id)).where(Attachment.case_id == case.id)).scalar_one()
    if held + len(uploads) > limits.per_case:
        raise AttachmentRefused(N_("case %(case)s may hold at most %(num)s files (%(held)s already)"),
                                case=case.number, num=limits.per_case, held=held)
    added = []
    for upload in uploads:
        storage.put(upload.sha256, upload.content)
        row = Attachment(case_id=case.id, sha256=upload.sha256, name=upload.name, content_type=upload.content_type,
                         size=upload.size, task_id=task.id if task else None, field_key=field_key, note=note,
                         added_by=actor, added_at=now)
        session.add(row)
        session.flush()
        audit.record(session, ATTACHMENT_ADDED, actor, now, case=case, element_id=task.element_id if task else None,
                     payload={**upload.descriptor(), "attachment_id": row.id, "field": field_key,
                              "task_id": task.id if task else None, "note": note})
        added.append(row)
    return added


def _record_fields(session, storage, case, schema, data, uploads, actor, now, limits, task=None) -> None:
    """Record the uploads of fields the submission shows (a field hidden by its condition keeps nothing)."""
    fields = file_fields(schema)
    for key, files in uploads.items():
        if not form_conditions.is_hidden(fields[key], data):
            record(session, storage, case, files, actor, now, limits=limits, task=task, field_key=key)


def complete_task(session: Session, storage: Storage, task_id: int, username: str, data: dict,
                  files: dict[str, list[tuple[str | None, bytes]]], now: datetime, limits: Limits) -> cases.Completion:
    """Complete a task whose form may carry files: check them, complete, then store and record them."""
    task = cases.get_task(session, task_id)
    schema = spec_cache.get(task.case.plan_version).forms.get(task.form_key, {"components": []})
    uploads = check_files(schema, files, limits)
    submitted = {**{k: v for k, v in data.items() if k not in file_fields(schema)}, **uploads}
    validate_submission(schema, submitted)  # every field's error at once, before anything is written
    done = cases.complete_task(session, task_id, username, submitted, now)
    _record_fields(session, storage, done.task.case, schema, submitted, uploads, username, now, limits, done.task)
    return done


def submit_task(session_factory, storage: Storage, task_id: int, username: str, data: dict,
                files: dict[str, list[tuple[str | None, bytes]]], now: datetime, limits: Limits) -> cases.Completion:
    """complete_task in its own transaction; an engine failure keeps the case and records an incident (as cases.submit_task)."""
    try:
        with transaction(session_factory) as session:
            return complete_task(session, storage, task_id, username, data, files, now, limits)
    except CaseEngineError as exc:
        with transaction(session_factory) as session:
            task = cases.get_task(session, task_id)
            cases.record_incident(session, task.case_id, str(exc), username, now, element_id=task.element_id)
        raise


def start_case(session: Session, storage: Storage, plan_key: str, data: dict,
               files: dict[str, list[tuple[str | None, bytes]]], username: str, now: datetime, limits: Limits,
               number_prefix: str = "TS") -> Case:
    """Register a case whose start form may carry files."""
    plan = spec_cache.get(current_version(session, plan_key))
    schema = plan.forms.get(plan.start_form_key, {"components": []}) if plan.start_form_key else {"components": []}
    uploads = check_files(schema, files, limits)
    submitted = {**{k: v for k, v in data.items() if k not in file_fields(schema)}, **uploads}
    case = cases.start_case(session, plan_key, submitted, username, now, number_prefix)
    _record_fields(session, storage, case, schema, submitted, uploads, username, now, limits)
    return case


def may_see(user: User, case: Case, tasks: list[Task]) -> bool:
    """Whoever may see the case may see its files: the people working it, and compliance (read-only)."""
    return user.has_role(COMPLIANCE) or cases.works_on_case(user, case, tasks)


def attach_to_case(session: Session, storage: Storage, number: str, username: str,
                   files: list[tuple[str | None, bytes]], note: str | None, now: datetime, limits: Limits) -> list[Attachment]:
    """Attach files to a case outside any task, with an optional note (people working the case only)."""
    user = get_user(session, username)
    case = cases.lock_case(session, cases.get_case(session, number).id)  # two uploads count the case's files in turn
    if not (user.role_keys & LANE_ROLES and cases.works_on_case(user, case, cases.case_tasks(session, case.id))):
        raise PermissionDenied(f"user '{username}' does not work on case {number} and may not add files to it")
    files = [(name, content) for name, content in files if name or content]
    if not files:
        raise AttachmentRefused(N_("choose at least one file to attach"))
    if len(files) > limits.per_field:
        raise AttachmentRefused(N_("at most %(num)s files at once"), num=limits.per_field)
    try:
        uploads = [check_file(name, content, limits.max_bytes) for name, content in files]
    except FileRefused as refused:
        raise AttachmentRefused(refused.template, **refused.params) from None
    note = (note or "").strip()[:2000] or None
    return record(session, storage, case, uploads, username, now, limits=limits, note=note)


def case_attachments(session: Session, case_id: int) -> list[Attachment]:
    """Every file of a case, in the order they were added."""
    return list(session.execute(select(Attachment).where(Attachment.case_id == case_id)
                                .order_by(Attachment.id)).scalars())


def get_for_viewer(session: Session, attachment_id: int, username: str) -> Attachment:
    """An attachment if the user may see its case; NotFound otherwise (no hint that it exists)."""
    row = session.get(Attachment, attachment_id)
    if row is None:
        raise NotFound(f"no attachment {attachment_id}")
    case = session.get(Case, row.case_id)
    if not may_see(get_user(session, username), case, cases.case_tasks(session, case.id)):
        raise NotFound(f"no attachment {attachment_id}")
    return row

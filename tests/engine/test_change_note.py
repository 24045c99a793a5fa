"""A deploy carries a change note: stored with the version and in the audit trail."""
from __future__ import annotations

from sqlalchemy import select

from engine.models import AuditEvent
from engine.plans import drafts
from engine.plans import versions as plans
from tests.samples import one_task_plan, write_plan
from tests.support import Desk


def test_the_change_note_is_kept_with_the_version_and_audited(session_factory, now, tmp_path):
    desk = Desk.open(session_factory, now, [write_plan(tmp_path / "plans", one_task_plan(timer=None))])
    renamed = one_task_plan(timer=None, task_name="Verify twice")
    desk.do(drafts.deploy_draft, "mini", renamed, 0, "process_owner1", now, "verify twice: the regulator asks")
    version = desk.do(lambda s: plans.current_version(s, "mini").assets["change_note"])
    assert version == "verify twice: the regulator asks"
    [event] = desk.do(lambda s: list(s.execute(select(AuditEvent).where(AuditEvent.kind == "plan_deployed",
                                                                        AuditEvent.element_id == "mini")
                                               .order_by(AuditEvent.seq.desc()).limit(1)).scalars()))
    assert event.payload["note"] == "verify twice: the regulator asks"

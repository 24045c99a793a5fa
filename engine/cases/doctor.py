"""`planflow doctor`: every stored case checked against the liveness invariant."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from engine.cases import liveness, runtime
from engine.errors import CaseEngineError
from engine.models import Case, CaseStatus
from engine.plans.versions import spec_cache


@dataclass(frozen=True)
class Finding:
    case_number: str
    problems: list[str]


def examine(session: Session, include_completed: bool = False) -> list[Finding]:
    """Cases that are neither completed, visibly waiting, nor an incident; with what is wrong with each."""
    query = select(Case).options(undefer(Case.workflow_state)).order_by(Case.id)
    if not include_completed:
        query = query.where(Case.status == CaseStatus.RUNNING)
    findings = []
    for case in session.execute(query).scalars():
        if case.incident:
            continue   # an incident is one of the three allowed states: it is listed by `planflow incidents`
        try:
            workflow = runtime.load(case, spec_cache.get(case.plan_version))
            problems = liveness.stored_problems(session, case, workflow)
        except CaseEngineError as exc:
            problems = [str(exc)]
        if problems:
            findings.append(Finding(case.number, problems))
    return findings

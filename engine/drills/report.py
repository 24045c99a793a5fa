"""The after-action report (演练总结评估), computed from the audit events of a drill and its cases.

Every figure comes from the signed trail: a drill case's events carry their simulated time
as `occurred_at` and the real time in `payload.drill.real_at`; the drill's own events (on
the global chain) carry the real time and `payload.drill.sim_at`. Nothing is taken from
task or timer rows, so the report can be checked event by event.
"""
from __future__ import annotations

import csv
import io
import statistics
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.calendar.clock import as_utc
from engine.models import AuditEvent, Case, Drill, DrillAction, PlanDraft
from engine.records import audit

DRILL_KINDS = ("drill_started", "drill_paused", "drill_resumed", "drill_clock_stepped", "drill_inject",
               "drill_observation", "drill_ended")


def _time(text: str | None) -> datetime | None:
    return as_utc(datetime.fromisoformat(text)) if text else None


def drill_events(session: Session, drill: Drill) -> list[dict]:
    """Every event of the drill and its cases as {sim_at, real_at, kind, actor, case, element_id, payload}."""
    case_numbers = dict(session.execute(select(Case.id, Case.number).where(Case.drill_id == drill.id)).all())
    found = []
    rows = session.execute(select(AuditEvent).where(AuditEvent.case_id.in_(list(case_numbers)))
                           .order_by(AuditEvent.seq)).scalars().all() if case_numbers else []
    for event in rows:
        mark = (event.payload or {}).get("drill") or {}
        found.append({"sim_at": as_utc(event.occurred_at), "real_at": _time(mark.get("real_at")),
                      "kind": event.kind, "actor": event.actor, "case": event.case_number,
                      "element_id": event.element_id, "payload": event.payload, "seq": event.seq})
    for event in session.execute(select(AuditEvent).where(AuditEvent.case_id.is_(None),
                                                          AuditEvent.kind.in_(DRILL_KINDS))
                                 .order_by(AuditEvent.seq)).scalars():
        mark = (event.payload or {}).get("drill") or {}
        if mark.get("id") != drill.id:
            continue
        found.append({"sim_at": _time(mark.get("sim_at")), "real_at": as_utc(event.occurred_at),
                      "kind": event.kind, "actor": event.actor, "case": None, "element_id": None,
                      "payload": event.payload, "seq": event.seq})
    found.sort(key=lambda e: (e["real_at"], e["seq"]))
    return found


def _hours(delta) -> float:
    return round(delta.total_seconds() / 3600, 2)


def steps(events: list[dict]) -> list[dict]:
    """Every user task of the drill's cases: expected deadline, actual response, met/missed/escalated."""
    found: dict[tuple[str, int], dict] = {}
    for event in events:
        payload, key = event["payload"], (event["case"], event["payload"].get("task_id"))
        if event["kind"] == audit.EventKind.TASK_READY:
            found[key] = {"case": event["case"], "task_id": payload["task_id"], "element_id": event["element_id"],
                          "name": payload.get("name"), "role": payload.get("role"),
                          "due_at": _time(payload.get("due_at")), "ready_sim": event["sim_at"],
                          "ready_real": event["real_at"], "done_by": None, "done_sim": None, "done_real": None,
                          "outcome": "open", "deadline_fired": False}
        elif event["kind"] == audit.EventKind.TASK_COMPLETED and key in found:
            found[key].update(done_by=event["actor"], done_sim=event["sim_at"], done_real=event["real_at"])
        elif event["kind"] == audit.EventKind.TASK_CANCELLED and key in found:
            found[key]["outcome"] = "cancelled"
        elif event["kind"] == audit.EventKind.TIMER_FIRED:
            for step in found.values():
                if (step["case"] == event["case"] and step["element_id"] == payload.get("attached_to")
                        and step["done_sim"] is None):
                    step["deadline_fired"] = True
        elif event["kind"] == audit.EventKind.ESCALATED:
            for step in found.values():
                if (step["case"] == event["case"] and step["element_id"] == payload.get("missed_task")
                        and step["done_sim"] is None):
                    step["outcome"] = "escalated"
    result = []
    for step in found.values():
        if step["done_sim"] is not None:
            step["outcome"] = ("met" if step["due_at"] is None or step["done_sim"] <= step["due_at"] else "missed")
            step["response_sim_hours"] = _hours(step["done_sim"] - step["ready_sim"])
            step["response_real_seconds"] = round((step["done_real"] - step["ready_real"]).total_seconds(), 1)
        elif step["outcome"] == "cancelled":
            step["outcome"] = "stopped"   # still open when the drill ended (or cancelled by the plan)
        if step["due_at"] is None and step["outcome"] == "met":
            step["outcome"] = "done"      # no deadline to meet
        result.append(step)
    return result


def per_role(step_list: list[dict]) -> dict[str, dict]:
    roles: dict[str, dict] = {}
    for step in step_list:
        entry = roles.setdefault(step["role"], {"steps": 0, "met": 0, "missed": 0, "escalated": 0, "open": 0,
                                               "response_sim_hours": []})
        entry["steps"] += 1
        if step["outcome"] in ("met", "missed", "escalated"):
            entry[step["outcome"]] += 1
        elif step["outcome"] in ("open", "stopped"):
            entry["open"] += 1
        if "response_sim_hours" in step:
            entry["response_sim_hours"].append(step["response_sim_hours"])
    for entry in roles.values():
        hours = entry.pop("response_sim_hours")
        entry["median_response_sim_hours"] = round(statistics.median(hours), 2) if hours else None
        entry["max_response_sim_hours"] = max(hours) if hours else None
    return dict(sorted(roles.items()))


def _iso(value):
    return value.isoformat() if isinstance(value, datetime) else value


def _summary(event: dict) -> str:
    payload = event["payload"] or {}
    kind = event["kind"]
    if kind == audit.EventKind.TASK_READY:
        return f"{payload.get('name')} → {payload.get('role')}"
    if kind == audit.EventKind.ESCALATED:
        return f"{payload.get('missed_task')} missed its deadline"
    if kind == audit.EventKind.TIMER_FIRED:
        return f"deadline of {payload.get('attached_to')}"
    if kind in ("drill_inject",):
        return str(payload.get("title") or payload.get("message") or "")
    if kind == "drill_observation":
        return str(payload.get("text", ""))
    if kind == "drill_clock_stepped":
        return f"{payload.get('from')} → {payload.get('to')}"
    return ""


def after_action_report(session: Session, drill: Drill) -> dict:
    """The report as JSON-ready data (times in ISO 8601)."""
    events = drill_events(session, drill)
    step_list = steps(events)
    path = [{"case": e["case"], "element_id": e["element_id"], "kind": e["kind"], "sim_at": e["sim_at"]}
            for e in events if e["kind"] in (audit.EventKind.TASK_COMPLETED, audit.EventKind.TIMER_FIRED,
                                             audit.EventKind.CASE_COMPLETED, audit.EventKind.MESSAGE_RECEIVED)]
    observations = [{"author": e["actor"], "text": e["payload"].get("text"), "sim_at": e["sim_at"],
                     "real_at": e["real_at"]} for e in events if e["kind"] == "drill_observation"]
    injects = [{"title": e["payload"].get("title"), "message": e["payload"].get("message"),
                "data": e["payload"].get("data"), "sim_at": e["sim_at"], "real_at": e["real_at"],
                "problems": e["payload"].get("problems")} for e in events if e["kind"] == "drill_inject"]
    outcomes = [s["outcome"] for s in step_list]
    actions = session.execute(select(DrillAction).where(DrillAction.drill_id == drill.id)
                              .order_by(DrillAction.id)).scalars().all()
    first, last = (events[0], events[-1]) if events else (None, None)
    report = {
        "format": "planflow-drill-report-1",
        "drill": {"id": drill.id, "title": drill.title, "plan": drill.plan_key,
                  "version": None if drill.draft_revision is not None else drill.plan_version.version,
                  "draft": drilled_draft(session, drill), "scale": drill.scale, "status": drill.status.value,
                  "participants": drill.participants, "started_by": drill.started_by,
                  "cases": sorted({e["case"] for e in events if e["case"]})},
        "time": {"sim_start": first and first["sim_at"], "sim_end": last and last["sim_at"],
                 "real_start": first and first["real_at"], "real_end": last and last["real_at"]},
        "figures": {"steps": len(step_list), "met": outcomes.count("met"), "missed": outcomes.count("missed"),
                    "escalated": outcomes.count("escalated"),
                    "open": outcomes.count("open") + outcomes.count("stopped"),
                    "escalations": sum(1 for e in events if e["kind"] == audit.EventKind.ESCALATED),
                    "timers_fired": sum(1 for e in events if e["kind"] == audit.EventKind.TIMER_FIRED),
                    "injects": len(injects), "observations": len(observations)},
        "steps": step_list,
        "roles": per_role(step_list),
        "path": path,
        "timeline": [{"sim_at": e["sim_at"], "real_at": e["real_at"], "kind": e["kind"], "actor": e["actor"],
                      "case": e["case"], "element_id": e["element_id"], "summary": _summary(e)} for e in events],
        "observations": observations,
        "injects": injects,
        "improvement_plan": [{"id": a.id, "action": a.action, "owner": a.owner, "due_on": a.due_on.isoformat(),
                              "draft_id": a.draft_id, "done_at": a.done_at} for a in actions],
    }
    if report["time"]["sim_start"] and report["time"]["sim_end"]:
        report["time"]["sim_hours"] = _hours(report["time"]["sim_end"] - report["time"]["sim_start"])
        report["time"]["real_seconds"] = round(
            (report["time"]["real_end"] - report["time"]["real_start"]).total_seconds(), 1)
    return _jsonable(report)


def drilled_draft(session: Session, drill: Drill) -> dict | None:
    """The plan draft the drill ran (None: the deployed version), named so a fix can be traced to it."""
    if drill.draft_revision is None:
        return None
    draft = session.execute(select(PlanDraft).where(PlanDraft.plan_key == drill.plan_key,
                                                    PlanDraft.revision == drill.draft_revision)).scalar_one_or_none()
    return {"revision": drill.draft_revision, "id": draft and draft.id, "saved_by": draft and draft.saved_by,
            "saved_at": draft and draft.saved_at, "base_version": draft and draft.base_version}


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return _iso(value)


def current_report(session: Session, drill: Drill) -> dict:
    """The report kept at the drill's end, with the improvement plan as it stands now (or a live one)."""
    report = dict(drill.report) if drill.report else after_action_report(session, drill)
    if drill.report:
        report["improvement_plan"] = after_action_report(session, drill)["improvement_plan"]
    return report


STEP_COLUMNS = ("case", "task_id", "element_id", "name", "role", "due_at", "ready_sim", "done_sim", "done_by",
                "outcome", "response_sim_hours", "ready_real", "done_real", "response_real_seconds")


def report_csv(report: dict) -> str:
    """The steps of the report, one row each, then the improvement plan (UTF-8 with BOM for spreadsheets)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(STEP_COLUMNS)
    for step in report["steps"]:
        writer.writerow([step.get(column, "") if step.get(column) is not None else "" for column in STEP_COLUMNS])
    writer.writerow([])
    writer.writerow(["improvement_action", "owner", "due_on", "done_at"])
    for item in report["improvement_plan"]:
        writer.writerow([item["action"], item["owner"], item["due_on"], item["done_at"] or ""])
    return out.getvalue()

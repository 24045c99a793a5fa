"""A drill leaves the figures of real work alone, and its tasks reach the participants' inboxes marked as drill."""
from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta

from sqlalchemy import select

from engine.calendar.working_days import WorkingCalendar
from engine.drills import lifecycle
from engine.models import PlanVersion
from engine.ops import counts
from engine.people.users import get_user
from engine.views import inbox, review, team
from tests.engine.test_drills import SCENARIO

CALENDAR = WorkingCalendar()
REGISTRATION = {"complainant": "王女士", "contact": "13800000000", "channel": "phone", "category": "service",
                "content": "快递延误"}


def real_figures(desk) -> dict:
    """Everything real work is counted in: the case list, the monthly report, the heatmap, the team view,
    the figures /metrics reports."""
    with desk.session_factory() as session:
        version = session.execute(select(PlanVersion).where(PlanVersion.plan_key == "general_complaint")
                                  .order_by(PlanVersion.version.desc())).scalars().first()
        monthly = review.monthly_report(session, desk.now.year, desk.now.month, CALENDAR).as_dict()
        monthly.pop("checkpoint")
        view = team.team_view(session, get_user(session, "office_director1"), desk.now, 0.2)
        return {
            "cases": [c.number for c in review.find_cases(session, review.CaseFilter(), desk.now, CALENDAR)],
            "monthly": monthly,
            "heatmap": [asdict(e) for e in review.heatmap(session, version.id)],
            "team": sorted((t.task.id, t.state) for t in view.tasks),
            "team_groups": {str(k): dict(v) for k, v in view.groups.items()},
            "metrics": {name: value for name, value in vars(counts.read(session, desk.now)).items()
                        if name != "workers"},
        }


def test_a_drill_leaves_real_figures_unchanged_and_shows_in_participants_inboxes_marked(desk):
    number = desk.start("general_complaint", REGISTRATION)
    desk.complete(number, "Task_FirstContact", {"contact_note": "已联系", "grade": "general"})
    desk.pass_time(timedelta(days=6))          # the real case escalates: there is something to count
    before = real_figures(desk)
    assert before["cases"] == [number] and before["monthly"]["escalations"] == 1

    # A drill in the same month, through the same steps: a task done, a deadline missed and escalated.
    drill = desk.do(lifecycle.start_drill, "general_complaint", SCENARIO,
                    {"intake": "intake1", "handler": "handler1", "office_director": "office_director1"},
                    "process_owner1", desk.now, sim_start=desk.now)
    drill_number = desk.do(lifecycle.drill_cases, drill.id)[0].number
    with desk.session_factory() as session:
        mine = inbox.task_list(session, get_user(session, "intake1"), "mine", desk.now).tasks
        assert [(t.case.number, t.case.drill_id) for t in mine] == [(drill_number, drill.id)]
    desk.complete(drill_number, "Task_FirstContact", {"contact_note": "已联系", "grade": "general"},
                  as_user="intake1")
    desk.do(lifecycle.step_drill, drill.id, "process_owner1", desk.now)   # to the answer's deadline
    with desk.session_factory() as session:
        mine = inbox.task_list(session, get_user(session, "office_director1"), "mine", desk.now).tasks
        assert [(t.case.number, t.element_id, t.case.drill_id is not None) for t in mine] == [
            (drill_number, "Task_AnswerEscalatedOffice", True)]
    assert real_figures(desk) == before

    desk.do(lifecycle.end_drill, drill.id, "process_owner1", desk.now)
    assert real_figures(desk) == before

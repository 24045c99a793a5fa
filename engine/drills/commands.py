"""`planflow drill …`: start, step, inject into, pause, resume and end a drill; its report."""
from __future__ import annotations

import json
from datetime import date, datetime

import click

from engine.calendar.clock import utcnow
from engine.cli import Context, _emit, _load_json, domain_errors, json_option, pass_ctx
from engine.db import transaction
from engine.drills import actions, clock, injects, lifecycle, live, report
from engine.errors import PlanFlowError


def _participants(values) -> dict:
    found = {}
    for value in values:
        role, _, username = value.partition("=")
        if not role or not username:
            raise PlanFlowError(f"--participant '{value}' is not ROLE=USER")
        found[role.strip()] = username.strip()
    return found


def _datetime(text: str | None, what: str) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise PlanFlowError(f"{what} '{text}' is not an ISO 8601 date-time") from None
    if value.tzinfo is None:
        raise PlanFlowError(f"{what} '{text}' needs an offset, e.g. 2026-03-05T10:00+08:00")
    return value


def _status_text(view: live.DrillView) -> str:
    drill = view.drill
    next_due = view.next_due.isoformat() if view.next_due else "-"
    heading = f"drill {drill.id} {drill.title or ''} [{drill.status.value}] plan {drill.plan_key}"
    lines = [f"{heading}, scale {drill.scale or 'stepped'}",
             f"  simulated now {view.sim_now.isoformat()}, next due {next_due}"]
    lines += [f"  {c.number} {c.status.value}{' incident: ' + c.incident if c.incident else ''}" for c in view.cases]
    lines += [f"  task {t.id} {t.case.number} {t.name} [{t.role}] {t.assignee or 'unclaimed'} due "
              f"{t.due_at.isoformat() if t.due_at else '-'}" for t in view.open_tasks]
    return "\n".join(lines)


def _show(ctx: Context, drill_id: int, as_json: bool) -> None:
    with transaction(ctx.session_factory(), readonly=True) as session:
        view = live.drill_view(session, lifecycle.get_drill(session, drill_id), utcnow())
        _emit(as_json, view.as_dict(), _status_text(view))


@click.group("drill")
def drill():
    """Drills (应急演练): rehearse a plan on a simulated clock."""


@drill.command("start")
@click.argument("plan")
@click.option("--as", "actor", required=True, help="The controller (process_owner or office_director).")
@click.option("--data", default="{}", help="The scenario: the start-form data as a JSON object.")
@click.option("--scale", default=None, help="SIMULATED=REAL, e.g. 'P1D=PT2M'; without it the clock is stepped.")
@click.option("--participant", "participants", multiple=True, help="ROLE=USER, once per role played.")
@click.option("--sim-start", default=None, help="The simulated start, ISO 8601 with offset (default: now).")
@click.option("--inject", "scheduled", multiple=True,
              help='A scheduled inject as JSON: {"at": "PT26H", "title": "…", "data": {…}} or with "message".')
@click.option("--title", default="")
@click.option("--draft", type=int, default=None,
              help="Drill this draft revision of PLAN (as saved in the editor) instead of its deployed version; "
                   "it is checked as a deploy would check it and stays undeployed.")
@json_option
@pass_ctx
@domain_errors
def start(ctx: Context, plan, actor, data, scale, participants, sim_start, scheduled, title, draft, as_json):
    """Start a drill of PLAN (or of one of its drafts); prints its id and its case number."""
    items = [_load_json(item, "--inject") for item in scheduled]
    with transaction(ctx.session_factory()) as session:
        started = lifecycle.start_drill(session, plan, _load_json(data, "--data"), _participants(participants),
                                        actor, utcnow(), scale=scale, sim_start=_datetime(sim_start, "--sim-start"),
                                        title=title, scheduled=items, draft=draft)
        number = lifecycle.drill_cases(session, started.id)[0].number
        drill_id = started.id
    of_draft = f" (draft revision {draft}, not deployed)" if draft is not None else ""
    _emit(as_json, {"id": drill_id, "case": number, "draft": draft}, f"drill {drill_id} started: {number}{of_draft}")


@drill.command("list")
@click.option("--plan", default=None)
@json_option
@pass_ctx
@domain_errors
def list_(ctx: Context, plan, as_json):
    """Drills, newest first."""
    with transaction(ctx.session_factory(), readonly=True) as session:
        rows = [{"id": d.id, "plan": d.plan_key, "title": d.title, "status": d.status.value, "scale": d.scale,
                 "started_at": d.started_at.isoformat()} for d in live.list_drills(session, plan)]
    _emit(as_json, rows, "\n".join(f"{r['id']:>4}  {r['plan']}  {r['status']}  {r['title']}" for r in rows)
          or "no drills")


@drill.command("status")
@click.argument("drill_id", type=int)
@json_option
@pass_ctx
@domain_errors
def status(ctx: Context, drill_id, as_json):
    """The drill's clock, cases and open tasks."""
    _show(ctx, drill_id, as_json)


@drill.command("step")
@click.argument("drill_id", type=int)
@click.option("--as", "actor", required=True)
@click.option("--to", "to", default=None, help="Move the simulated clock to this ISO 8601 time.")
@click.option("--by", "by", default=None, help="Move it by this ISO 8601 duration (e.g. PT4H).")
@json_option
@pass_ctx
@domain_errors
def step(ctx: Context, drill_id, actor, to, by, as_json):
    """Move the simulated clock forward (default: to the next deadline or inject); what falls due fires."""
    if to and by:
        raise PlanFlowError("give --to or --by, not both")
    with transaction(ctx.session_factory()) as session:
        lifecycle.step_drill(session, drill_id, actor, utcnow(), to=_datetime(to, "--to"),
                             by=clock.duration(by) if by else None)
    _show(ctx, drill_id, as_json)


@drill.command("inject")
@click.argument("drill_id", type=int)
@click.option("--as", "actor", required=True)
@click.option("--data", default="{}", help="Data merged into the case (or the message's data).")
@click.option("--message", default=None, help="Deliver this message to the drill's case instead.")
@click.option("--at", "at", default=None, help="Simulated time (ISO) or duration after the start; default: now.")
@click.option("--title", default="")
@json_option
@pass_ctx
@domain_errors
def inject(ctx: Context, drill_id, actor, data, message, at, title, as_json):
    """Send an inject now, or schedule it at a simulated time."""
    now = utcnow()
    with transaction(ctx.session_factory()) as session:
        current = lifecycle.open_drill(session, drill_id, actor)
        item = injects.send(session, current, {"at": at, "title": title, "message": message,
                                               "data": _load_json(data, "--data")}, actor, now)
        result = {"id": item.id, "status": item.status, "sim_at": item.sim_at.isoformat(), "error": item.error}
    _emit(as_json, result, f"inject {result['id']} {result['status']} (simulated {result['sim_at']})"
          + (f": {result['error']}" if result["error"] else ""))


def _clock_command(name: str, use_case, help_text: str):
    @drill.command(name, help=help_text)
    @click.argument("drill_id", type=int)
    @click.option("--as", "actor", required=True)
    @json_option
    @pass_ctx
    @domain_errors
    def command(ctx: Context, drill_id, actor, as_json):
        with transaction(ctx.session_factory()) as session:
            use_case(session, drill_id, actor, utcnow())
        _show(ctx, drill_id, as_json)
    return command


_clock_command("pause", lifecycle.pause_drill, "Stop the simulated clock.")
_clock_command("resume", lifecycle.resume_drill, "Start the simulated clock again.")
_clock_command("end", lifecycle.end_drill, "End the drill: its cases stop and the report is kept.")


@drill.command("observe")
@click.argument("drill_id", type=int)
@click.argument("text")
@click.option("--as", "actor", required=True)
@pass_ctx
@domain_errors
def observe(ctx: Context, drill_id, text, actor):
    """Record an evaluator's observation."""
    with transaction(ctx.session_factory()) as session:
        lifecycle.observe(session, drill_id, text, actor, utcnow())
    click.echo("observation recorded")


@drill.command("report")
@click.argument("drill_id", type=int)
@click.option("--csv", "as_csv", is_flag=True, help="The steps and improvement plan as CSV.")
@json_option
@pass_ctx
@domain_errors
def report_(ctx: Context, drill_id, as_csv, as_json):
    """The after-action report (演练总结评估)."""
    with transaction(ctx.session_factory(), readonly=True) as session:
        found = report.current_report(session, lifecycle.get_drill(session, drill_id))
    if as_csv:
        click.echo(report.report_csv(found).lstrip("\ufeff"), nl=False)
        return
    figures = found["figures"]
    text = (f"drill {drill_id} ({found['drill']['plan']}): {figures['steps']} steps, {figures['met']} met, "
            f"{figures['missed']} missed, {figures['escalated']} escalated, {figures['open']} open; "
            f"{figures['injects']} inject(s), {figures['observations']} observation(s)")
    click.echo(json.dumps(found, ensure_ascii=False, indent=2) if as_json else text)


@drill.command("action")
@click.argument("drill_id", type=int)
@click.argument("text")
@click.option("--owner", required=True)
@click.option("--due", required=True, help="YYYY-MM-DD")
@click.option("--draft", "draft_id", type=int, default=None, help="A plan draft carrying the fix.")
@click.option("--as", "actor", required=True)
@pass_ctx
@domain_errors
def action(ctx: Context, drill_id, text, owner, due, draft_id, actor):
    """Add an improvement action to the drill's plan; it waits in the owner's inbox until done."""
    try:
        due_on = date.fromisoformat(due)
    except ValueError:
        raise PlanFlowError(f"--due '{due}' is not a date (YYYY-MM-DD)") from None
    with transaction(ctx.session_factory()) as session:
        item = actions.add_action(session, drill_id, text, owner, due_on, actor, utcnow(), draft_id)
        click.echo(f"improvement action {item.id} for {owner}, due {due_on.isoformat()}")


@drill.command("interval")
@click.argument("plan")
@click.argument("months", type=int)
@click.option("--as", "actor", required=True)
@pass_ctx
@domain_errors
def interval(ctx: Context, plan, months, actor):
    """Drill PLAN every MONTHS months (0: no schedule); the plans list shows it when overdue."""
    with transaction(ctx.session_factory()) as session:
        lifecycle.set_interval(session, plan, months or None, actor, utcnow())
    click.echo(f"{plan}: drilled every {months} months" if months else f"{plan}: no drill schedule")

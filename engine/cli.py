"""The `planflow` command: set up, deploy plans, work cases and run the timer worker."""
from __future__ import annotations

if __name__ == "__main__":
    # `python -m engine.cli`: run the module proper. Run as __main__, this file would be a second copy
    # of engine.cli, and the command modules imported at its end (which import engine.cli) a cycle.
    import sys

    from engine.cli import main as _main
    sys.exit(_main())

import getpass
import json
import logging
import sys
import time
import traceback
from datetime import date
from functools import wraps
from pathlib import Path

import click
from sqlalchemy import inspect, select
from sqlalchemy.exc import DBAPIError

from engine.calendar import store as calendar_store
from engine.calendar.clock import utcnow
from engine.calendar.loading import load_calendar_file as calendar_load_use_case
from engine.calendar.local_time import due_time
from engine.cases import messages, timers
from engine.cases import use_cases as cases
from engine.cases.doctor import examine as examine_cases
from engine.config import Settings
from engine.db import make_engine, make_session_factory, transaction
from engine.errors import CaseEngineError, DeployRejected, FormInvalid, PlanFlowError
from engine.migrations import schema
from engine.models import User
from engine.ops import logs
from engine.people import logins, tokens, users
from engine.people.roles import ROLES
from engine.plans import versions as plans
from engine.records import attachments, audit, file_store, retention
from engine.records.audit import keys as audit_keys
from engine.views import inbox


class Context:
    def __init__(self):
        self.settings = Settings.from_env()
        self._factory = None

    def session_factory(self):
        if self._factory is None:
            engine = make_engine(self.settings.database_url)
            if not inspect(engine).has_table("cases"):
                raise PlanFlowError("the database is not initialised: run `planflow init` first")
            at, needed = schema.current(engine), schema.head()
            if at != needed:   # rather than failing later on a column the database does not have yet
                raise PlanFlowError(f"the database schema is at {at or 'a release before migrations'}, this PlanFlow "
                                    f"needs {needed}: run `planflow db upgrade` first")
            self._factory = make_session_factory(engine)
        return self._factory

    def upgrade_schema(self) -> schema.UpgradeResult:
        """Run the migrations the database lacks (adopting one made before migrations) and say what happened."""
        engine = make_engine(self.settings.database_url)
        try:
            result = schema.upgrade(engine)
        finally:
            engine.dispose()
        if result.audit_events_upgraded is not None:
            click.echo(f"audit trail upgraded: {result.audit_events_upgraded} event(s) verified, "
                       "re-chained per case and signed")
        if result.pre_alembic:
            click.echo(f"database from a release before migrations: brought to {schema.BASELINE} and stamped")
        if result.before != result.after and not (result.pre_alembic and result.after == schema.BASELINE):
            start = schema.BASELINE if result.pre_alembic else result.before or "empty"
            click.echo(f"schema upgraded: {start} -> {result.after}")
        return result


def _task_dict(task) -> dict:
    return {"id": task.id, "case": task.case.number, "element_id": task.element_id, "name": task.name,
            "role": task.role, "form_key": task.form_key, "status": task.status.value, "assignee": task.assignee,
            "created_at": task.created_at.isoformat(), "due_at": task.due_at.isoformat() if task.due_at else None,
            "due_provisional": task.due_provisional, "escalated_from": task.escalated_from}


def _warn_provisional(tasks: list[dict]) -> None:
    for task in tasks:
        if task["due_provisional"]:
            click.echo(f"warning: the due time of task {task['id']} ({task['name']}) is provisional: it reaches "
                       "into a year without calendar data (see `planflow calendar show`)", err=True)


def _emit(as_json: bool, payload, text: str) -> None:
    click.echo(json.dumps(payload, ensure_ascii=False, indent=2) if as_json else text)


def _load_json(text: str, what: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlanFlowError(f"{what} is not valid JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(value, dict):
        raise PlanFlowError(f"{what} must be a JSON object")
    return value


def _fail(message: str, code: int) -> None:
    """One line on stderr and exit `code`; with --debug, the traceback of the error being handled first."""
    if click.get_current_context().find_root().params.get("debug"):
        traceback.print_exc()
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def domain_errors(command):
    """Print a domain error as one line on stderr and exit non-zero."""
    @wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except DeployRejected as exc:
            _fail(str(exc), 3)
        except FormInvalid as exc:
            _fail(str(exc), 4)
        except PlanFlowError as exc:
            _fail(str(exc), 2)
    return wrapper


EXIT_DATABASE = 5


def _database_message(exc: DBAPIError) -> str:
    first = str(exc.orig or exc).strip().splitlines()
    return f"the database is unreachable or refused the request: {first[0] if first else exc.__class__.__name__}"


def _expected_failure(exc: Exception) -> tuple[str, int] | None:
    """The one-line message and exit code for a failure a user can cause and fix, or None."""
    if isinstance(exc, DBAPIError):
        return _database_message(exc), EXIT_DATABASE
    if isinstance(exc, UnicodeDecodeError):
        return f"a file is not UTF-8 text ({exc.reason} at byte {exc.start})", 2
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror or exc}{where}", 2
    if isinstance(exc, ValueError):
        return str(exc) or exc.__class__.__name__, 2
    return None


class PlanFlowGroup(click.Group):
    """Every expected failure is one line on stderr and a non-zero exit; `--debug` shows the traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except Exception as exc:  # noqa: BLE001 — the last word on any failure: one line, not a traceback
            message, code = _expected_failure(exc) or (f"unexpected {exc.__class__.__name__}: {exc} (run with "
                                                       "--debug for the traceback)", 1)
            _fail(" ".join(message.split()), code)


pass_ctx = click.make_pass_decorator(Context, ensure=True)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")


@click.group(cls=PlanFlowGroup)
@click.option("--debug", is_flag=True, help="Show the full traceback of a failure.")
def main(debug):
    """PlanFlow: complaint emergency plans run as BPMN processes."""


@main.command()
@pass_ctx
@domain_errors
def init(ctx: Context):
    """Create the database or bring it up to date (what `planflow db upgrade` does; safe to run again)."""
    ctx.upgrade_schema()
    click.echo(f"database ready: {ctx.settings.database_url.split('@')[-1]}")


@main.group("db")
def db_group():
    """The database schema: migrations."""


@db_group.command("upgrade")
@pass_ctx
@domain_errors
def db_upgrade(ctx: Context):
    """Run the migrations the database lacks; a database made before migrations is adopted first."""
    result = ctx.upgrade_schema()
    click.echo(f"database at {result.after}: {ctx.settings.database_url.split('@')[-1]}")


@db_group.command("current")
@pass_ctx
@domain_errors
def db_current(ctx: Context):
    """The revision the database is at, and whether it is the newest (exit 1 when not)."""
    engine = make_engine(ctx.settings.database_url)
    try:
        revision = schema.current(engine)
    finally:
        engine.dispose()
    head = schema.head()
    if revision is None:
        click.echo("none (not migrated: run `planflow db upgrade`)")
        sys.exit(1)
    if revision != head:
        click.echo(f"{revision} (behind {head}: run `planflow db upgrade`)")
        sys.exit(1)
    click.echo(f"{revision} (up to date)")


@db_group.command("history")
def db_history():
    """Every migration, oldest first."""
    for revision, after, doc in schema.history():
        click.echo(f"{revision}  (after {after or 'nothing'})  {doc}")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--as", "actor", default="cli", show_default=True, help="Who deploys (recorded in the audit trail).")
@click.option("--replace", is_flag=True, help="Replace a current version that was deployed in the browser.")
@click.option("--new-only", is_flag=True,
              help="Deploy only plans not deployed yet; keep every deployed plan as it is (set-up).")
@json_option
@pass_ctx
@domain_errors
def deploy(ctx: Context, paths, actor, replace, new_only, as_json):
    """Validate and deploy BPMN, DMN and .form files (folders are searched)."""
    bundle = plans.Bundle.from_paths(list(paths))
    with transaction(ctx.session_factory()) as session:
        results = plans.deploy(session, bundle, actor, utcnow(), replace=replace, new_only=new_only)
    lines = [f"{r.plan_key}: version {r.version} "
             + ("kept (already deployed)" if r.kept else "deployed" if r.created else "unchanged") for r in results]
    for warning in (w for r in results for w in r.warnings):
        click.echo(f"warning: {warning}", err=True)
    _emit(as_json, [r.as_dict() for r in results], "\n".join(lines))


@main.group()
def user():
    """Manage users."""


@user.command("add")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True, help="A role key; repeat for several.")
@click.option("--password", help="Prompted for when omitted.")
@click.option("--name", "display_name", default="", help="Display name.")
@pass_ctx
@domain_errors
def user_add(ctx: Context, username, roles, password, display_name):
    """Create a user with one or more roles."""
    if password is None:
        password = getpass.getpass(f"password for {username}: ")
    if not password:
        raise PlanFlowError("a password is required")
    with transaction(ctx.session_factory()) as session:
        users.add_user(session, username, list(roles), password, display_name)
    click.echo(f"user {username} added with role(s) {', '.join(roles)}")


@user.command("password")
@click.argument("username")
@click.option("--password", help="Prompted for when omitted.")
@pass_ctx
@domain_errors
def user_password(ctx: Context, username, password):
    """Set a new password; the user's open sessions end."""
    if password is None:
        password = getpass.getpass(f"new password for {username}: ")
    with transaction(ctx.session_factory()) as session:
        users.set_password(session, username, password)
    click.echo(f"password of {username} changed; their sessions have ended")


@user.command("remove-role")
@click.argument("username")
@click.argument("role")
@pass_ctx
@domain_errors
def user_remove_role(ctx: Context, username, role):
    """Take a role away from a user; the user's open sessions end."""
    with transaction(ctx.session_factory()) as session:
        users.remove_role(session, username, role)
    click.echo(f"{username} no longer holds role {role}; their sessions have ended")


@user.command("unlock")
@click.argument("username")
@pass_ctx
@domain_errors
def user_unlock(ctx: Context, username):
    """Lift the lock set after too many wrong passwords."""
    with transaction(ctx.session_factory()) as session:
        logins.unlock(session, username)
    click.echo(f"{username} unlocked")


@main.command()
@click.argument("plan")
@click.option("--data", default="{}", help="Start-form data as a JSON object.")
@click.option("--as", "actor", required=True, help="The user registering the case.")
@json_option
@pass_ctx
@domain_errors
def start(ctx: Context, plan, data, actor, as_json):
    """Start a case of PLAN; prints the case number."""
    with transaction(ctx.session_factory()) as session:
        case = cases.start_case(session, plan, _load_json(data, "--data"), actor, utcnow(),
                                ctx.settings.case_number_prefix)
        number, incident = case.number, case.incident
    _emit(as_json, {"number": number, "incident": incident}, number)
    if incident:
        click.echo(f"warning: {number} is registered but its plan stopped at once: {incident} "
                   "(see `planflow incidents`)", err=True)


@main.command("tasks")
@click.option("--as", "actor", required=True)
@click.option("--list", "which", type=click.Choice(["all", "mine", "queue", "done"]), default="all",
              show_default=True)
@json_option
@pass_ctx
@domain_errors
def list_tasks(ctx: Context, actor, which, as_json):
    """Tasks a user may claim and those they hold, soonest due first."""
    with transaction(ctx.session_factory(), readonly=True) as session:
        user, now = users.get_user(session, actor), utcnow()
        found = (inbox.claimable_and_mine(session, user, now) if which == "all"
                 else inbox.task_list(session, user, which, now).tasks)
        rows = [_task_dict(t) for t in found]
    text = "\n".join(f"{r['id']:>6}  {r['case']}  {r['name']} [{r['role']}]  due {due_time(r['due_at']) or '-'}"
                     f"{' (provisional)' if r['due_provisional'] else ''}"
                     f"{'  claimed by ' + r['assignee'] if r['assignee'] else ''}" for r in rows) or "no tasks"
    _emit(as_json, rows, text)


@main.command()
@click.argument("task_id", type=int)
@click.option("--as", "actor", required=True)
@json_option
@pass_ctx
@domain_errors
def claim(ctx: Context, task_id, actor, as_json):
    """Claim a task."""
    with transaction(ctx.session_factory()) as session:
        row = _task_dict(cases.claim_task(session, task_id, actor, utcnow()))
    _emit(as_json, row, f"task {task_id} claimed by {actor}")


@main.command()
@click.argument("task_id", type=int)
@click.option("--as", "actor", required=True)
@json_option
@pass_ctx
@domain_errors
def release(ctx: Context, task_id, actor, as_json):
    """Give a claimed task back to its queue."""
    with transaction(ctx.session_factory()) as session:
        row = _task_dict(cases.release_task(session, task_id, actor, utcnow()))
    _emit(as_json, row, f"task {task_id} released")


@main.command()
@click.argument("task_id", type=int)
@click.option("--data", default="{}", help="Form data as a JSON object.")
@click.option("--as", "actor", required=True)
@json_option
@pass_ctx
@domain_errors
def complete(ctx: Context, task_id, data, actor, as_json):
    """Complete a task with its form data."""
    done = cases.submit_task(ctx.session_factory(), task_id, actor, _load_json(data, "--data"), utcnow())
    payload = {"task": _task_dict(done.task), "next_tasks": [_task_dict(t) for t in done.next_tasks],
               "case_completed": done.case_completed}
    _warn_provisional(payload["next_tasks"])
    nexts = "; ".join(f"{t['name']} → {t['role']}" + (f" (due {due_time(t['due_at'])}"
                                                       + (", provisional)" if t["due_provisional"] else ")")
                                                       if t["due_at"] else "")
                      for t in payload["next_tasks"])
    text = f"task {task_id} completed" + (f"; next: {nexts}" if nexts else "") + \
        ("; case completed" if done.case_completed else "")
    _emit(as_json, payload, text)


@main.command()
@click.argument("case_number")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--note", default=None, help="What the files are; kept with them.")
@click.option("--as", "actor", required=True, help="A user working the case.")
@json_option
@pass_ctx
@domain_errors
def attach(ctx: Context, case_number, files, note, actor, as_json):
    """Attach FILES to a case outside any task (a scanned letter, a recording); prints each one's SHA-256."""
    limits = attachments.Limits.from_env()
    contents = []
    for path in files:
        with path.open("rb") as source:  # never more than the limit plus one byte: enough to refuse it
            contents.append((path.name, source.read(limits.max_bytes + 1)))
    with transaction(ctx.session_factory()) as session:
        added = attachments.attach_to_case(session, file_store.storage_from_env(), case_number, actor, contents, note,
                                           utcnow(), limits)
        rows = [{"id": r.id, "name": r.name, "type": r.content_type, "size": r.size, "sha256": r.sha256}
                for r in added]
    _emit(as_json, rows, "\n".join(f"{r['sha256']}  {r['name']} ({r['type']}, {r['size']} bytes)" for r in rows))


@main.command()
@click.option("--once", is_flag=True, help="Sweep once and exit.")
@click.option("--interval", type=float, default=None, help="Seconds between sweeps (PLANFLOW_WORKER_INTERVAL).")
@pass_ctx
@domain_errors
def worker(ctx: Context, once, interval):
    """Fire due timers (escalations) until interrupted; a database outage is waited out."""
    interval = interval or ctx.settings.worker_interval
    report, warn = print, lambda line: click.echo(line, err=True)
    if logs.log_format() == "json":
        logs.configure("json")
        report, warn = logging.getLogger("planflow.worker").info, logging.getLogger("planflow.worker").warning
    if once:
        timers.run_worker(ctx.session_factory(), interval, once=True, echo=report)
        return
    supervise(lambda: timers.run_worker(ctx.session_factory(), interval, once=True, echo=report), interval,
              echo=warn)


OUTAGE_LOG_EVERY = 60.0


def supervise(sweep_until_idle, interval: float, echo, clock=time.monotonic, sleep=time.sleep,
              stop=lambda: False) -> None:
    """Sweep every `interval` seconds; while the database is unreachable, say so once a minute and retry."""
    last_logged, down = None, False
    while not stop():
        try:
            sweep_until_idle()
        except DBAPIError as exc:
            now = clock()
            if last_logged is None or now - last_logged >= OUTAGE_LOG_EVERY:
                echo(f"error: {_database_message(exc)}; retrying every {interval:g} s")
                last_logged = now
            down = True
        else:
            if down:
                echo("database reachable again")
                down, last_logged = False, None
        sleep(interval)


@main.group("audit")
def audit_group():
    """Inspect the audit trail."""


@audit_group.command("verify")
@click.argument("case_number", required=False)
@click.option("--checkpoints", type=click.Path(file_okay=False, path_type=Path),
              help="Folder of checkpoints.jsonl (default: PLANFLOW_AUDIT_DIR, else instance/audit).")
@json_option
@pass_ctx
@domain_errors
def audit_verify(ctx: Context, case_number, checkpoints, as_json):
    """Recompute the hash chains, signatures and checkpoints; name the first event that disagrees."""
    with transaction(ctx.session_factory(), readonly=True) as session:
        case_id = cases.get_case(session, case_number).id if case_number else None
        report = audit.verify_chain(session, case_id, checkpoints_dir=checkpoints)
    _emit(as_json, report.__dict__, str(report))
    if not report.ok:
        sys.exit(1)


@audit_group.command("anchor")
@json_option
@pass_ctx
@domain_errors
def audit_anchor(ctx: Context, as_json):
    """Write a signed checkpoint of the chain heads that moved (run it from cron, or let the worker do it)."""
    checkpoint = audit.anchor(ctx.session_factory(), utcnow())
    if checkpoint is None:
        _emit(as_json, None, "nothing new to anchor")
        return
    _emit(as_json, checkpoint, f"checkpoint written: {checkpoint['event_count']} event(s), global head "
                               f"{checkpoint['global'][1][:16]}…, {len(checkpoint['cases'])} case chain(s) moved")


@audit_group.command("rotate-key")
@pass_ctx
@domain_errors
def audit_rotate_key(ctx: Context):
    """Sign with a new key from now on; the old public key is kept for verification."""
    try:
        old, new = audit_keys.rotate()
    except ValueError as exc:
        raise PlanFlowError(str(exc)) from exc
    click.echo(f"signing key {old} retired (its public key is kept); now signing with {new}")


@main.group("retention")
def retention_group():
    """Closed cases due for deletion (PLANFLOW_RETENTION_DAYS after completion)."""


@retention_group.command("list")
@click.option("--days", type=click.IntRange(min=1), help="Override PLANFLOW_RETENTION_DAYS.")
@json_option
@pass_ctx
@domain_errors
def retention_list(ctx: Context, days, as_json):
    """List the closed cases kept longer than the retention period, oldest first."""
    days = days or retention.retention_days()
    with transaction(ctx.session_factory(), readonly=True) as session:
        due = retention.due_for_deletion(session, utcnow(), days)
    rows = [{"case": d.number, "plan": d.plan, "completed_at": d.completed_at.isoformat(),
             "due_since": d.due_since.isoformat()} for d in due]
    _emit(as_json, rows, "\n".join(f"{r['case']}  {r['plan']}  completed {r['completed_at']}, due since "
                                   f"{r['due_since']}" for r in rows)
          or f"no closed case is older than {days} day(s)")


@retention_group.command("purge")
@click.option("--as", "actor", required=True, help="Who deletes them (recorded in the audit trail).")
@click.option("--days", type=click.IntRange(min=1), help="Override PLANFLOW_RETENTION_DAYS.")
@json_option
@pass_ctx
@domain_errors
def retention_purge(ctx: Context, actor, days, as_json):
    """Delete the listed cases with their tasks and audit events; a signed purge event keeps their chain heads."""
    days = days or retention.retention_days()
    with transaction(ctx.session_factory()) as session:
        users.get_user(session, actor)
        done = retention.purge(session, utcnow(), days, actor)
    lines = [f"deleted {number}" for number in done.deleted]
    lines += [f"kept {number}: {why}" for number, why in done.refused]
    if done.files:
        lines.append(f"{len(done.files)} attachment file(s) are no longer referenced by the deleted cases "
                     "(files are never deleted by PlanFlow)")
    _emit(as_json, {"deleted": done.deleted, "refused": done.refused, "files": done.files},
          "\n".join(lines) or f"no closed case is older than {days} day(s)")
    if done.refused:
        sys.exit(1)


@main.command()
@json_option
@pass_ctx
@domain_errors
def incidents(ctx: Context, as_json):
    """Cases the engine could not advance (a failing expression, timer or decision), with the reason."""
    with transaction(ctx.session_factory(), readonly=True) as session:
        rows = [{"case": c.number, "plan": c.plan_version.plan_key, "version": c.plan_version.version,
                 "incident": c.incident} for c in cases.incidents(session)]
    _emit(as_json, rows, "\n".join(f"{r['case']}  {r['plan']} v{r['version']}: {r['incident']}" for r in rows)
          or "no incidents")


@main.command()
@click.argument("case_number")
@click.option("--as", "actor", required=True, help="Who retries it (recorded in the audit trail).")
@json_option
@pass_ctx
@domain_errors
def retry(ctx: Context, case_number, actor, as_json):
    """Run a case with an incident again from where it stopped, once its cause is fixed."""
    try:
        with transaction(ctx.session_factory()) as session:
            users.get_user(session, actor)
            outcome = cases.retry_case(session, case_number, actor, utcnow())
            payload = {"case": case_number, "next_tasks": [_task_dict(t) for t in outcome.new_tasks],
                       "case_completed": outcome.completed}
    except CaseEngineError as exc:
        with transaction(ctx.session_factory()) as session:
            cases.record_incident(session, cases.get_case(session, case_number).id, str(exc), actor, utcnow())
        raise
    _emit(as_json, payload, f"{case_number} runs again" + ("; case completed" if outcome.completed else ""))


@main.command()
@click.option("--all", "include_completed", is_flag=True, help="Check completed cases too.")
@json_option
@pass_ctx
@domain_errors
def doctor(ctx: Context, include_completed, as_json):
    """List cases that are neither completed, visibly waiting (task, timer, message) nor an incident."""
    with transaction(ctx.session_factory(), readonly=True) as session:
        findings = examine_cases(session, include_completed)
    rows = [{"case": f.case_number, "problems": f.problems} for f in findings]
    _emit(as_json, rows, "\n".join(f"{r['case']}: {'; '.join(r['problems'])}" for r in rows)
          or "every case is completed, waiting on a task, timer or message, or an incident")
    if rows:
        sys.exit(1)


@main.command()
@click.argument("name")
@click.option("--case", "case_number", default=None, help="The case the message is for.")
@click.option("--correlation", default=None, help='Correlation as a JSON object, e.g. {"case": "TS-2026-000001"}.')
@click.option("--data", default="{}", help="The message data as a JSON object.")
@click.option("--as", "actor", required=True, help="Who sends it (recorded in the audit trail).")
@json_option
@pass_ctx
@domain_errors
def message(ctx: Context, name, case_number, correlation, data, actor, as_json):
    """Deliver message NAME to the case waiting for it (a written reply, a regulator's notice, a callback)."""
    correlation = _load_json(correlation, "--correlation") if correlation else {}
    if case_number:
        correlation = {**correlation, "case": case_number}
    delivery = messages.submit_message(ctx.session_factory(), name, correlation, _load_json(data, "--data"),
                                       actor, utcnow())
    with transaction(ctx.session_factory(), readonly=True) as session:
        payload = {"case": delivery.case_number, "element_id": delivery.element_id,
                   "next_tasks": [_task_dict(cases.get_task(session, t.id)) for t in delivery.next_tasks],
                   "case_completed": delivery.case_completed}
    nexts = "; ".join(f"{t['name']} → {t['role']}" for t in payload["next_tasks"])
    _emit(as_json, payload, f"{name} delivered to {delivery.case_number} ({delivery.element_id})"
          + (f"; next: {nexts}" if nexts else "") + ("; case completed" if delivery.case_completed else ""))


@main.group("calendar")
def calendar_group():
    """The working calendar: holidays and make-up working days."""


@calendar_group.command("load")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--as", "actor", default="cli", show_default=True)
@json_option
@pass_ctx
@domain_errors
def calendar_load(ctx: Context, path, actor, as_json):
    """Load an overrides file (YAML); provisional deadlines it settles are recomputed."""
    with transaction(ctx.session_factory()) as session:
        result = calendar_load_use_case(session, path, actor, utcnow())
    moves = [{"case": c, "element_id": e, "old_due_at": o.isoformat(), "new_due_at": n.isoformat()}
             for c, e, o, n in result.moved]
    lines = [f"loaded {result.days} day(s)" + (f"; complete year(s): {', '.join(map(str, result.complete_years))}"
                                                if result.complete_years else "")]
    lines += [f"  {m['case']} {m['element_id']}: due {due_time(m['old_due_at'])} → {due_time(m['new_due_at'])}"
              for m in moves]
    lines.append(f"{len(moves)} provisional deadline(s) recomputed")
    _emit(as_json, {"days": result.days, "complete_years": result.complete_years, "moved": moves},
          "\n".join(lines))


@calendar_group.command("show")
@click.argument("year", type=int)
@json_option
@pass_ctx
@domain_errors
def calendar_show(ctx: Context, year, as_json):
    """Holidays and make-up working days of YEAR, with where each comes from."""
    with transaction(ctx.session_factory(), readonly=True) as session:
        summary = calendar_store.current(session, ctx.settings).year_summary(year)
    rows = [{"date": d.day.isoformat(), "kind": d.kind.value, "name": d.name, "source": d.source.value}
            for d in summary.days]
    head = f"{year}: " + ("official data available" if summary.has_data else
                          "NO official data — deadlines reaching into this year count the statutory holidays "
                          "listed below, do not know its make-up working days (调休) and stay provisional "
                          "until it is loaded")
    weekdays = "一二三四五六日"
    text = "\n".join([head] + [f"  {r['date']} 周{weekdays[date.fromisoformat(r['date']).weekday()]}  "
                               f"{'休' if r['kind'] == 'holiday' else '班'}  {r['name']}  ({r['source']})"
                               for r in rows])
    _emit(as_json, {"year": year, "has_data": summary.has_data, "days": rows}, text)


@main.command()
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--all-versions", is_flag=True, help="Also every earlier version, under FOLDER/versions/PLAN/vN/.")
@pass_ctx
@domain_errors
def export(ctx: Context, folder, all_versions):
    """Write the deployed plans back to files (processes/, forms/), e.g. to keep them in git."""
    with transaction(ctx.session_factory(), readonly=True) as session:
        written = plans.export(session, folder, all_versions)
    click.echo(f"{len(written)} file(s) written under {folder}")


@main.group()
def token():
    """API tokens for the JSON API."""


@token.command("create")
@click.argument("username")
@pass_ctx
@domain_errors
def token_create(ctx: Context, username):
    """Create an API token for USER and print it (it is shown only this once)."""
    with transaction(ctx.session_factory()) as session:
        secret = tokens.create_token(session, username, utcnow())
    click.echo(secret)


@main.command("demo-users")
@click.option("--password", default="demo", show_default=True)
@pass_ctx
@domain_errors
def demo_users(ctx: Context, password):
    """Create one demo user per role (<role>1, e.g. intake1), skipping those that exist."""
    created = []
    with transaction(ctx.session_factory()) as session:
        for role in ROLES:
            username = f"{role}1"
            if session.execute(select(User).where(User.username == username)).scalar_one_or_none() is None:
                users.add_user(session, username, [role], password, f"{ROLES[role].name_zh} {username}")
                created.append(username)
    click.echo(f"demo users created: {', '.join(created)}" if created else "demo users already exist")


from engine.notifications.cli import notifications as _notifications  # noqa: E402 — it uses the helpers above

main.add_command(_notifications)

from engine.drills.commands import drill as _drill  # noqa: E402 — it uses the helpers above

main.add_command(_drill)

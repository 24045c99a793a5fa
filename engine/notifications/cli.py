"""`planflow notifications`: what is waiting or undeliverable, retry, send now, webhooks, warning rules."""
from __future__ import annotations

import click

from engine.calendar.clock import utcnow
from engine.calendar.local_time import local_time
from engine.cli import _emit, domain_errors, json_option, pass_ctx
from engine.db import transaction
from engine.notifications import in_app, near_deadlines, sender, webhooks
from engine.notifications import worker as notify_worker
from engine.notifications.channels import STYLES
from engine.notifications.templates import EVENTS


@click.group("notifications")
def notifications():
    """Mail and webhook notifications: list, retry, send, webhooks, near-deadline rule."""


def _row(n) -> dict:
    return {"id": n.id, "event": n.event, "channel": n.channel, "recipient": n.recipient, "address": n.address,
            "case": n.payload.get("case"), "status": n.status.value, "attempts": n.attempts,
            "next_attempt_at": n.next_attempt_at.isoformat(), "last_error": n.last_error,
            "created_at": n.created_at.isoformat()}


@notifications.command("list")
@click.option("--undeliverable", "which", flag_value="undeliverable", help="Only those that could not be delivered.")
@click.option("--pending", "which", flag_value="pending", help="Only those waiting to go out.")
@json_option
@pass_ctx
@domain_errors
def list_notifications(ctx, which, as_json):
    """Mail and webhook notifications that are undeliverable or still pending (both by default)."""
    with transaction(ctx.session_factory(), readonly=True) as session:
        rows = []
        if which in (None, "undeliverable"):
            rows += [_row(n) for n in in_app.undeliverable(session)]
        if which in (None, "pending"):
            rows += [_row(n) for n in in_app.pending(session)]
    lines = [f"{r['id']}  {r['status']:<13} {r['channel']:<7} {r['recipient']:<20} {r['event']:<15} {r['case'] or ''}"
             + (f"  next {local_time(r['next_attempt_at'])}" if r["status"] == "pending" else "")
             + (f"  ({r['attempts']} attempt(s): {r['last_error']})" if r["last_error"] else "") for r in rows]
    _emit(as_json, rows, "\n".join(lines) or "nothing undeliverable or pending")


@notifications.command("retry")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "every", is_flag=True, help="Every undeliverable notification.")
@json_option
@pass_ctx
@domain_errors
def retry(ctx, ids, every, as_json):
    """Queue undeliverable notifications again (after fixing an address or a webhook), due now."""
    if not ids and not every:
        raise click.UsageError("name the notification ids to retry, or give --all")
    with transaction(ctx.session_factory()) as session:
        count = sender.retry_undeliverable(session, utcnow(), list(ids) or None)
    _emit(as_json, {"queued": count}, f"{count} notification(s) queued again; the worker sends them")


@notifications.command("send")
@json_option
@pass_ctx
@domain_errors
def send(ctx, as_json):
    """Run one notification pass now: near-deadline warnings, then pending mail and webhooks."""
    result = notify_worker.run_once(ctx.session_factory(), echo=lambda line: None)
    payload = {"sent": result.sent, "retrying": result.retrying, "undeliverable": result.undeliverable,
               "errors": result.errors} if result else {"error": "the pass failed; see the log"}
    _emit(as_json, payload, f"sent {payload.get('sent', 0)}, retrying {payload.get('retrying', 0)}, "
                            f"undeliverable {payload.get('undeliverable', 0)}"
          + "".join(f"\n  {e}" for e in payload.get("errors", [])))


@notifications.command("warn-at")
@click.argument("plan")
@click.argument("rule", required=False)
@click.option("--default", "use_default", is_flag=True, help="Go back to PLANFLOW_NOTIFY_WARN for this plan.")
@pass_ctx
@domain_errors
def warn_at(ctx, plan, rule, use_default):
    """Set PLAN's near-deadline rule: '80%' of the time given, or '60m' / '2h' before the deadline."""
    if not rule and not use_default:
        with transaction(ctx.session_factory(), readonly=True) as session:
            click.echo(f"{plan}: {near_deadlines.rule_for(session, plan)}")
        return
    with transaction(ctx.session_factory()) as session:
        near_deadlines.set_plan_rule(session, plan, None if use_default else rule)
    click.echo(f"{plan}: near-deadline warning at {rule or 'the global rule'} for tasks that become ready from now on")


@notifications.group("webhook")
def webhook():
    """Outgoing webhooks (group robots, hotline systems)."""


@webhook.command("add")
@click.argument("name")
@click.argument("url")
@click.option("--style", type=click.Choice(STYLES), default="planflow", show_default=True,
              help="The body's shape: PlanFlow's JSON, or a WeCom / DingTalk / Feishu group robot's text message.")
@click.option("--secret", help="The signing secret (DingTalk/Feishu: the robot's 'sign' secret); generated if left out.")
@click.option("--event", "events", multiple=True, type=click.Choice(EVENTS), help="Only these events; repeat. Default: all.")
@click.option("--lang", "locale", type=click.Choice(["zh_CN", "en"]), default="zh_CN", show_default=True)
@click.option("--as", "actor", default="cli", show_default=True)
@pass_ctx
@domain_errors
def webhook_add(ctx, name, url, style, secret, events, locale, actor):
    """Register a webhook; prints the signing secret once."""
    with transaction(ctx.session_factory()) as session:
        hook = webhooks.add_webhook(session, name, url, actor, utcnow(), style=style, secret=secret,
                                    events=list(events), locale=locale)
        shown = hook.secret
    click.echo(f"webhook {name} added; signing secret (X-PlanFlow-Signature): {shown}")


@webhook.command("list")
@json_option
@pass_ctx
@domain_errors
def webhook_list(ctx, as_json):
    """The registered webhooks (secrets not shown)."""
    with transaction(ctx.session_factory(), readonly=True) as session:
        rows = [{"name": h.name, "url": h.url, "style": h.style, "events": h.events, "locale": h.locale,
                 "active": h.active} for h in webhooks.list_webhooks(session)]
    _emit(as_json, rows, "\n".join(f"{r['name']}  {r['style']:<8} {r['locale']:<5} {r['url']}  "
                                   f"{', '.join(r['events']) or 'all events'}" for r in rows) or "no webhooks")


@webhook.command("remove")
@click.argument("name")
@pass_ctx
@domain_errors
def webhook_remove(ctx, name):
    """Remove a webhook; what is still pending for it is skipped."""
    with transaction(ctx.session_factory()) as session:
        webhooks.remove_webhook(session, name)
    click.echo(f"webhook {name} removed")

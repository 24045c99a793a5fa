"""Typed tables: users and roles, plan versions, cases, tasks, timers, audit events."""
from __future__ import annotations

import enum
from datetime import date, datetime, timezone

from sqlalchemy import JSON, Boolean, Date, Enum, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.cases.state_codec import CompressedState
from engine.db import Base, UTCDateTime


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


NO_DEADLINE = datetime(9999, 12, 31, tzinfo=timezone.utc)


class CaseStatus(str, enum.Enum):
    RUNNING = "running"
    COMPLETED = "completed"


class TaskStatus(str, enum.Enum):
    OPEN = "open"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


# The inbox's partial indexes, written out: the inbox's queries repeat these conditions with the status as a
# literal, which both databases need to see that a query keeps within a partial index.
OPEN_QUEUE_SQL = f"status = '{TaskStatus.OPEN.value}' AND assignee IS NULL AND escalated_from IS NULL"
ESCALATED_QUEUE_SQL = f"status = '{TaskStatus.OPEN.value}' AND assignee IS NULL AND escalated_from IS NOT NULL"


class TimerStatus(str, enum.Enum):
    WAITING = "waiting"
    FIRED = "fired"
    CANCELLED = "cancelled"


# Written out, not a bound parameter: only a literal lets either database match the partial index on it.
TIMER_WAITING_SQL = f"status = '{TimerStatus.WAITING.value}'"


class SubscriptionStatus(str, enum.Enum):
    WAITING = "waiting"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str] = mapped_column(String(10), default="zh_CN")
    # Bumped by logout, a password change or a role removal: every session signed with an older value ends.
    session_version: Mapped[int] = mapped_column(Integer, default=0)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)  # consecutive wrong passwords
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    roles: Mapped[list["UserRole"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def role_keys(self) -> set[str]:
        return {r.role for r in self.roles}

    def has_role(self, role: str) -> bool:
        return role in self.role_keys


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(40), primary_key=True)
    user: Mapped[User] = relationship(back_populates="roles")


class LoginFailure(Base):
    """A wrong password (or unknown user name), kept for a while to throttle guessing per account and address."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_username", "username", "failed_at"),
                      Index("ix_login_failures_address", "address", "failed_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80))
    address: Mapped[str] = mapped_column(String(64))
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PlanVersion(Base):
    """One deployed version of a plan: its BPMN with the forms and decisions it uses."""

    __tablename__ = "plan_versions"
    __table_args__ = (UniqueConstraint("plan_key", "version"), Index("ix_plan_versions_hash", "plan_key", "content_hash"))

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_key: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200), default="")
    content_hash: Mapped[str] = mapped_column(String(64))
    # The content is deferred: running cases use the parsed, cached copy (plans.spec_cache).
    bpmn_xml: Mapped[str] = mapped_column(Text, deferred=True)
    # {"forms": {key: schema}, "decisions": {file name: dmn xml}, "start_form_key": key | None}
    assets: Mapped[dict] = mapped_column(JSON, deferred=True)
    deployed_by: Mapped[str] = mapped_column(String(80))
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # A draft stored only so a drill can run it (plans.versions.store_drill_only): never the plan's current
    # version, never listed, never a migration target; numbered -1, -2, … so it can never outrank a deploy.
    drill_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))

    @property
    def forms(self) -> dict[str, dict]:
        return self.assets.get("forms", {})

    @property
    def start_form_key(self) -> str | None:
        return self.assets.get("start_form_key")


class CaseNumberCounter(Base):
    """Last case number handed out per prefix and year (numbers restart each year)."""

    __tablename__ = "case_number_counters"

    prefix: Mapped[str] = mapped_column(String(10), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Case(Base):
    __tablename__ = "cases"
    # /metrics counts cases by plan version and status, and the incidents, from these indexes alone.
    __table_args__ = (Index("ix_cases_plan_status", "plan_version_id", "status"),
                      Index("ix_cases_incidents", "status", postgresql_where=text("incident IS NOT NULL"),
                            sqlite_where=text("incident IS NOT NULL")))

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    plan_version_id: Mapped[int] = mapped_column(ForeignKey("plan_versions.id"), index=True)
    status: Mapped[CaseStatus] = mapped_column(_enum(CaseStatus), default=CaseStatus.RUNNING, index=True)
    started_by: Mapped[str] = mapped_column(String(80))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The serialized SpiffWorkflow state without its spec (the spec lives on the plan version), stored
    # compressed (engine/cases/state_codec.py); a dict in Python. Deferred: lists and inboxes never need it.
    workflow_state: Mapped[dict] = mapped_column(CompressedState, deferred=True)
    serializer_version: Mapped[str] = mapped_column(String(20))
    library_version: Mapped[str] = mapped_column(String(20))
    # The last engine failure (e.g. a timer whose escalation could not run), for a process owner.
    incident: Mapped[str | None] = mapped_column(Text)
    # Copied from the case data at every step, so lists and filters never read the workflow.
    grade: Mapped[str | None] = mapped_column(String(40), index=True)
    category: Mapped[str | None] = mapped_column(String(40))
    complainant: Mapped[str | None] = mapped_column(String(200))
    contact: Mapped[str | None] = mapped_column(String(200))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    # Set on a drill's case (numbered DR-…): it runs on the drill's simulated clock and stays out of real figures.
    drill_id: Mapped[int | None] = mapped_column(ForeignKey("drills.id"), index=True)

    plan_version: Mapped[PlanVersion] = relationship(lazy="joined", innerjoin=True)

    __mapper_args__ = {"version_id_col": revision}


class Task(Base):
    """A user task that became ready: the inbox reads these rows, never the workflow blob."""

    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("case_id", "spiff_task_id"),
        # The inbox walks these in (due_sort, id) order a page at a time (engine/views/inbox.py). Partial, so a
        # role's queue is read from its own rows however many tasks the table holds; the escalated tasks are
        # few and listed first; a role's have an index of their own rather than a search through its queue.
        Index("ix_tasks_queue_due", "role", "due_sort", "id", postgresql_where=text(OPEN_QUEUE_SQL),
              sqlite_where=text(OPEN_QUEUE_SQL)),
        Index("ix_tasks_queue_escalated", "role", "due_sort", "id", postgresql_where=text(ESCALATED_QUEUE_SQL),
              sqlite_where=text(ESCALATED_QUEUE_SQL)),
        # Claimed tasks only: a queue's "assignee IS NULL" must not find this index, whose rows it would then sort.
        Index("ix_tasks_claimed", "assignee", "status", "due_sort", "id", postgresql_where=text("assignee IS NOT NULL"),
              sqlite_where=text("assignee IS NOT NULL")),
        # Done, latest first: with id, so PostgreSQL too reads a page of ties on the completion time in order.
        Index("ix_tasks_done", "completed_by", "status", "completed_at", "id"),
        Index("ix_tasks_escalated", "status", "escalated_from"),
        # /metrics counts open tasks (and the overdue ones) by role from this index alone (engine/ops/counts.py).
        # By due_at, not due_sort: in due_sort order it would serve a queue page as well as the queue's own
        # index, and SQLite, rating it higher, would then skip through the role's claimed and escalated rows.
        Index("ix_tasks_status_role", "status", "role", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    spiff_task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str | None] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(40))
    form_key: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[TaskStatus] = mapped_column(_enum(TaskStatus), default=TaskStatus.OPEN)
    assignee: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # due_at, or far in the future when there is none: lets one index serve "soonest due first".
    due_sort: Mapped[datetime] = mapped_column(UTCDateTime, default=lambda: NO_DEADLINE)
    escalated_from: Mapped[str | None] = mapped_column(String(200))
    # The due time reaches into a year without calendar data: computed on the weekday rule.
    due_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    completed_by: Mapped[str | None] = mapped_column(String(80))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    case: Mapped[Case] = relationship(lazy="joined", innerjoin=True)


class Timer(Base):
    """A waiting timer event and its due time, as SpiffWorkflow computed it."""

    __tablename__ = "timers"
    __table_args__ = (
        UniqueConstraint("case_id", "spiff_task_id"),
        # The sweep's index: waiting rows only, in firing order, so finding what is due costs the
        # same with 100 or 100,000 timers waiting, whatever the planner's statistics say.
        Index("ix_timers_waiting", "fire_at", sqlite_where=text(TIMER_WAITING_SQL),
              postgresql_where=text(TIMER_WAITING_SQL)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    spiff_task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(200))
    attached_to: Mapped[str | None] = mapped_column(String(200))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When the timer started waiting: the moment a calendar deadline is counted from.
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Years the due time had to guess on the weekday rule (empty when not provisional).
    provisional_years: Mapped[list] = mapped_column(JSON, default=list)
    # When the worker should next try: the due time, pushed back after a failed attempt, or to
    # the end of a worker's lease while it holds the timer (engine/cases/timers.py).
    fire_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[TimerStatus] = mapped_column(_enum(TimerStatus), default=TimerStatus.WAITING)
    # When a worker really fired it (due_at is when it should have): the difference is its lateness.
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The worker that last claimed it, and until when the claim holds; a killed worker's claim lapses.
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class MessageSubscription(Base):
    """A case waiting for a message (a receive task, a message catch or a message start of an event subprocess)."""

    __tablename__ = "message_subscriptions"
    __table_args__ = (
        UniqueConstraint("case_id", "spiff_task_id", "message_name"),
        Index("ix_message_subscriptions_name", "message_name", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    # The waiting task, or for an event subprocess the root task of the scope that listens.
    spiff_task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(200))
    message_name: Mapped[str] = mapped_column(String(200))
    # What a sender may correlate on: {"case": number, <property>: value from the case data}.
    correlation: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[SubscriptionStatus] = mapped_column(_enum(SubscriptionStatus), default=SubscriptionStatus.WAITING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_by: Mapped[str | None] = mapped_column(String(80))


class AuditChainHead(Base):
    """The head of one audit chain (id 0: events without a case; else the case id), locked by appends."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))
    # The chain position last written into a checkpoint (engine.records.audit.checkpoints.anchor).
    anchored_seq: Mapped[int] = mapped_column(Integer, default=0)
    # Names this database's trail in its checkpoints (global chain row only).
    trail: Mapped[str | None] = mapped_column(String(32))


class AuditEvent(Base):
    """An append-only, hash-chained record of one state change."""

    __tablename__ = "audit_events"
    # AUTOINCREMENT on SQLite too: an id once given is never reused, even after its row is deleted.
    __table_args__ = (Index("ix_audit_events_chain", "case_id", "chain_seq", unique=True),
                      {"sqlite_autoincrement": True})

    # Display order across chains; taken without a lock, so it may have gaps.
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # Position in its chain: the case's own chain, or the global chain for events without a case.
    chain_seq: Mapped[int] = mapped_column(Integer)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(40), index=True)
    case_id: Mapped[int | None] = mapped_column(Integer, index=True)
    case_number: Mapped[str | None] = mapped_column(String(40))
    element_id: Mapped[str | None] = mapped_column(String(200))
    payload: Mapped[dict] = mapped_column(JSON)
    # Random per event; the hash covers the payload as sha256([salt, payload]) so a pack can mask it.
    salt: Mapped[str | None] = mapped_column(String(32))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # Ed25519 signature of `hash` by the key `key_id` (engine.records.audit.keys), hex.
    key_id: Mapped[str | None] = mapped_column(String(16))
    signature: Mapped[str | None] = mapped_column(String(128))



class Attachment(Base):
    """A file attached to a case (in a task's form, at registration, or on its own); the bytes live in storage by SHA-256.

    Rows are never updated or deleted by the application: the same file attached twice is two
    rows pointing at one stored copy.
    """

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(255))  # display only, never a path
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    task_id: Mapped[int | None] = mapped_column(Integer)
    field_key: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    added_by: Mapped[str] = mapped_column(String(80))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CalendarOverrideDay(Base):
    """An organisation's calendar override, loaded with `planflow calendar load`."""

    __tablename__ = "calendar_override_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(200))
    loaded_by: Mapped[str] = mapped_column(String(80))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CalendarCompleteYear(Base):
    """A year whose full official data was loaded as overrides (the package lacks it)."""

    __tablename__ = "calendar_complete_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApiToken(Base):
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("users.username", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PlanDraft(Base):
    """A saved, not deployed, edit of a plan's diagram; each save is a new revision (never overwritten)."""

    __tablename__ = "plan_drafts"
    __table_args__ = (UniqueConstraint("plan_key", "revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_key: Mapped[str] = mapped_column(String(100), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    bpmn_xml: Mapped[str] = mapped_column(Text)
    # The deployed version the edit started from; drafts of older versions are superseded by a deploy.
    base_version: Mapped[int] = mapped_column(Integer)
    saved_by: Mapped[str] = mapped_column(String(80))
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime)


class NotificationStatus(str, enum.Enum):
    PENDING = "pending"              # waiting for the sender (or for quiet hours / the digest to end)
    SENT = "sent"                    # handed over (in the app: shown in the bell)
    UNDELIVERABLE = "undeliverable"  # refused for good or out of attempts; listed for a process owner
    SKIPPED = "skipped"              # nothing to send it with any more (address removed, webhook deleted)


class Notification(Base):
    """One message to one recipient over one channel, written in the transaction of the change that caused it.

    The outbox: the sender takes pending rows in `next_attempt_at` order and marks each
    after the channel accepted it, so a crash between the two sends that row once more.
    """

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_due", "status", "next_attempt_at"),
                      Index("ix_notifications_inbox", "recipient", "channel", "read_at", "id"),
                      Index("ix_notifications_event_key", "event_key"))

    id: Mapped[int] = mapped_column(primary_key=True)
    event: Mapped[str] = mapped_column(String(30))
    # Names the happening (e.g. "near:<task id>") so the same one is never announced twice.
    event_key: Mapped[str] = mapped_column(String(80))
    channel: Mapped[str] = mapped_column(String(10))       # app, email, webhook
    recipient: Mapped[str] = mapped_column(String(120))    # a user name, or the webhook's name
    address: Mapped[str | None] = mapped_column(String(500))  # e-mail address or webhook URL at the time of writing
    locale: Mapped[str] = mapped_column(String(10), default="zh_CN")
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    digest: Mapped[bool] = mapped_column(Boolean, default=False)
    case_id: Mapped[int | None] = mapped_column(Integer, index=True)
    task_id: Mapped[int | None] = mapped_column(Integer)
    # The facts the message is rendered from (case number, task names, deadline, link path).
    payload: Mapped[dict] = mapped_column(JSON)
    status: Mapped[NotificationStatus] = mapped_column(_enum(NotificationStatus), default=NotificationStatus.PENDING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class NotificationPreference(Base):
    """What one user wants to hear about and how; users without a row get the defaults."""

    __tablename__ = "notification_preferences"

    username: Mapped[str] = mapped_column(ForeignKey("users.username", ondelete="CASCADE"), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254))
    muted_events: Mapped[list] = mapped_column(JSON, default=list)
    channels: Mapped[list] = mapped_column(JSON, default=list)     # of "app", "email"
    quiet_from: Mapped[str | None] = mapped_column(String(5))      # "22:00", local time
    quiet_until: Mapped[str | None] = mapped_column(String(5))     # "07:30"
    daily_digest: Mapped[bool] = mapped_column(Boolean, default=False)


class Webhook(Base):
    """An outgoing webhook: a group robot (WeCom, DingTalk, Feishu) or a hotline system's endpoint."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    url: Mapped[str] = mapped_column(String(500))
    # Signs every body (HMAC-SHA256); kept in clear because the signature needs it.
    secret: Mapped[str] = mapped_column(String(200))
    style: Mapped[str] = mapped_column(String(20), default="planflow")  # planflow, wecom, dingtalk, feishu
    events: Mapped[list] = mapped_column(JSON, default=list)  # empty: every event
    locale: Mapped[str] = mapped_column(String(10), default="zh_CN")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DeadlineWarningStatus(str, enum.Enum):
    WAITING = "waiting"
    SENT = "sent"
    CANCELLED = "cancelled"


class DeadlineWarning(Base):
    """When to warn that an open task's deadline is near; written with the task, swept by the worker by `warn_at`."""

    __tablename__ = "deadline_warnings"
    __table_args__ = (Index("ix_deadline_warnings_due", "status", "warn_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    # The deadline the warning time was derived from; a moved deadline moves the warning.
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    warn_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[DeadlineWarningStatus] = mapped_column(_enum(DeadlineWarningStatus),
                                                          default=DeadlineWarningStatus.WAITING)


class NotificationPlanSetting(Base):
    """A plan's own near-deadline rule (else PLANFLOW_NOTIFY_WARN): "80%" of the time, or "60m" before."""

    __tablename__ = "notification_plan_settings"

    plan_key: Mapped[str] = mapped_column(String(100), primary_key=True)
    warn: Mapped[str] = mapped_column(String(20))


class WorkerHeartbeat(Base):
    """A timer worker's last sign of life and its running figures, written after every sweep.

    `/readyz` reads `last_seen`; `/metrics` reads the figures, so the worker needs no HTTP
    port of its own. `stats` holds the worker's cumulative histograms (timer lateness,
    sweep duration) since it started, as bucket counts.
    """

    __tablename__ = "worker_heartbeats"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    last_sweep_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    sweeps: Mapped[int] = mapped_column(Integer, default=0)
    timers_fired: Mapped[int] = mapped_column(Integer, default=0)
    stats: Mapped[dict] = mapped_column(JSON, default=dict)


class DrillStatus(str, enum.Enum):
    RUNNING = "running"
    PAUSED = "paused"
    ENDED = "ended"


class Drill(Base):
    """A rehearsal (应急演练) of a plan by real people on a simulated clock (engine/drills/clock.py).

    The clock is piecewise linear: simulated time `sim_anchor` at real time `real_anchor`, moving
    `rate` simulated seconds per real second while running (0: it moves only when stepped).
    """

    __tablename__ = "drills"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_version_id: Mapped[int] = mapped_column(ForeignKey("plan_versions.id"), index=True)
    plan_key: Mapped[str] = mapped_column(String(100), index=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[DrillStatus] = mapped_column(_enum(DrillStatus), default=DrillStatus.RUNNING)
    scale: Mapped[str | None] = mapped_column(String(60))   # e.g. "P1D=PT2M"; None: stepped by the controller
    rate: Mapped[float] = mapped_column(Float, default=0.0)
    sim_anchor: Mapped[datetime] = mapped_column(UTCDateTime)
    real_anchor: Mapped[datetime] = mapped_column(UTCDateTime)
    scenario: Mapped[dict] = mapped_column(JSON, default=dict)       # the start-form data of the drill case
    participants: Mapped[dict] = mapped_column(JSON, default=dict)   # role -> username
    started_by: Mapped[str] = mapped_column(String(80))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sim_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sim_ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The plan draft revision drilled, when the drill runs a draft rather than the deployed version.
    draft_revision: Mapped[int | None] = mapped_column(Integer)
    # The after-action report as computed when the drill ended (engine/drills/report.py).
    report: Mapped[dict | None] = mapped_column(JSON)

    plan_version: Mapped[PlanVersion] = relationship(lazy="joined", innerjoin=True)


class DrillInject(Base):
    """A scenario event delivered to the drill's cases at a simulated time: data merged in, or a message."""

    __tablename__ = "drill_injects"
    __table_args__ = (Index("ix_drill_injects_due", "status", "fire_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    drill_id: Mapped[int] = mapped_column(ForeignKey("drills.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    sim_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The real time the worker should deliver it, mapped from sim_at by the drill's clock.
    fire_at: Mapped[datetime] = mapped_column(UTCDateTime)
    message: Mapped[str | None] = mapped_column(String(200))   # None: a data inject
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="waiting")   # waiting, sent, failed
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)


class DrillObservation(Base):
    """What an evaluator noticed during a drill, with the real and simulated time."""

    __tablename__ = "drill_observations"

    id: Mapped[int] = mapped_column(primary_key=True)
    drill_id: Mapped[int] = mapped_column(ForeignKey("drills.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(Text)
    real_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sim_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DrillAction(Base):
    """An improvement-plan item of a drill: a corrective action an owner must carry out by a date."""

    __tablename__ = "drill_actions"
    __table_args__ = (Index("ix_drill_actions_owner", "owner", "done_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    drill_id: Mapped[int] = mapped_column(ForeignKey("drills.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(80))
    due_on: Mapped[date] = mapped_column(Date)
    draft_id: Mapped[int | None] = mapped_column(Integer)   # a plan draft carrying the fix, if any
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_note: Mapped[str | None] = mapped_column(Text)


class PlanDrillSchedule(Base):
    """How often a plan must be drilled (e.g. every 6 months)."""

    __tablename__ = "plan_drill_schedules"

    plan_key: Mapped[str] = mapped_column(String(100), primary_key=True)
    interval_months: Mapped[int] = mapped_column(Integer)
    set_by: Mapped[str] = mapped_column(String(80))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RegistrationKey(Base):
    """A client's key for one registration (the API's Idempotency-Key, the form's one-time key) and the case it made.

    Written in the registration's own transaction, so a key names a case exactly when the case
    exists; the primary key lets one of two racing requests with the same key commit. The row
    goes with its case (retention deletes cases).
    """

    __tablename__ = "registration_keys"

    username: Mapped[str] = mapped_column(String(80), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    # SHA-256 of the request (plan, data and any files' hashes): the same key with another request is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

"""Notification settings from the environment: the mail server, links, the near-deadline rule."""
from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from engine.errors import PlanFlowError

log = logging.getLogger(__name__)
TLS_MODES = ("none", "starttls", "ssl")
DEFAULT_WARN = "80%"


@dataclass(frozen=True)
class MailSettings:
    host: str | None
    port: int
    tls: str
    username: str | None
    password: str | None
    sender: str
    timeout: float

    @property
    def configured(self) -> bool:
        return bool(self.host)


@dataclass(frozen=True)
class NotifySettings:
    mail: MailSettings
    base_url: str           # links in mails and webhooks: e.g. https://planflow.example.cn
    warn: str               # the near-deadline rule for plans without their own
    digest_at: str          # local time the daily digest goes out, "08:30"
    webhook_timeout: float
    max_attempts: int

    @classmethod
    def from_env(cls, environ: dict | None = None) -> NotifySettings:
        """Read PLANFLOW_SMTP_*, PLANFLOW_MAIL_FROM, PLANFLOW_BASE_URL and PLANFLOW_NOTIFY_* (see README)."""
        env = os.environ if environ is None else environ
        tls = env.get("PLANFLOW_SMTP_TLS", "starttls").lower()
        if tls not in TLS_MODES:
            raise PlanFlowError(f"PLANFLOW_SMTP_TLS={tls!r} must be one of {', '.join(TLS_MODES)}")
        mail = MailSettings(host=env.get("PLANFLOW_SMTP_HOST") or None,
                            port=_integer(env, "PLANFLOW_SMTP_PORT", 465 if tls == "ssl" else 587),
                            tls=tls, username=env.get("PLANFLOW_SMTP_USER") or None,
                            password=env.get("PLANFLOW_SMTP_PASSWORD") or None,
                            sender=env.get("PLANFLOW_MAIL_FROM", "planflow@localhost"),
                            timeout=float(env.get("PLANFLOW_SMTP_TIMEOUT", "20")))
        warn = env.get("PLANFLOW_NOTIFY_WARN", DEFAULT_WARN)
        parse_warn(warn)
        digest_at = env.get("PLANFLOW_NOTIFY_DIGEST_AT", "08:30")
        parse_clock(digest_at, "PLANFLOW_NOTIFY_DIGEST_AT")
        return cls(mail=mail, base_url=env.get("PLANFLOW_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
                   warn=warn, digest_at=digest_at,
                   webhook_timeout=float(env.get("PLANFLOW_WEBHOOK_TIMEOUT", "10")),
                   max_attempts=_integer(env, "PLANFLOW_NOTIFY_MAX_ATTEMPTS", 20))


def step_settings() -> NotifySettings:
    """The settings for writing notifications during a case's step.

    A mistyped variable must not stop cases from moving: it is logged, and the step writes
    with mail off and the default near-deadline rule. The worker's sender reads the settings
    strictly and reports the mistake on every pass.
    """
    try:
        return NotifySettings.from_env()
    except PlanFlowError as exc:
        log.error("notification settings: %s; mail rows are not written until it is fixed", exc)
        return NotifySettings.from_env({"PLANFLOW_BASE_URL": os.environ.get("PLANFLOW_BASE_URL", "")})


def _integer(env, name: str, default: int) -> int:
    text = env.get(name)
    if text in (None, ""):
        return default
    try:
        return int(text)
    except ValueError:
        raise PlanFlowError(f"{name}={text!r} must be a whole number") from None


_WARN = re.compile(r"^\s*(?:(\d{1,2})\s*%|(\d{1,5})\s*m(?:in)?|(\d{1,3})\s*h)\s*$", re.IGNORECASE)


def parse_warn(text: str) -> tuple[float | None, timedelta | None]:
    """'80%' → (0.8, None): warn when 80 % of the time has gone; '60m' or '1h' → (None, 1 hour): warn that long before."""
    match = _WARN.match(text or "")
    if not match:
        raise PlanFlowError(f"near-deadline rule {text!r}: write a share of the time like '80%' "
                            "or a time before the deadline like '60m' or '2h'")
    share, minutes, hours = match.groups()
    if share is not None:
        if not 1 <= int(share) <= 99:
            raise PlanFlowError(f"near-deadline rule {text!r}: the share must be from 1% to 99%")
        return int(share) / 100, None
    return None, timedelta(minutes=int(minutes)) if minutes is not None else timedelta(hours=int(hours))


def warn_time(rule: str, given_at: datetime, due_at: datetime) -> datetime:
    """When to warn about a deadline given at `given_at` and due at `due_at` (never before it was given)."""
    share, before = parse_warn(rule)
    if share is not None:
        return given_at + (due_at - given_at) * share
    return max(given_at, due_at - before)


def parse_clock(text: str, what: str) -> tuple[int, int]:
    match = re.match(r"^([01]?\d|2[0-3]):([0-5]\d)$", (text or "").strip())
    if not match:
        raise PlanFlowError(f"{what}: {text!r} is not a time of day like 22:00")
    return int(match.group(1)), int(match.group(2))

"""Hand one message to a channel: mail over SMTP, or a JSON webhook signed with HMAC-SHA256.

Each raises Undeliverable when the other side refused for good (a rejected address, a
4xx answer) and any other exception when it may work later (server down, timeout).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import time
import urllib.error
import urllib.parse
import urllib.request
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from engine.notifications.settings import MailSettings
from engine.notifications.templates import Message

SIGNATURE_HEADER = "X-PlanFlow-Signature"
TIMESTAMP_HEADER = "X-PlanFlow-Timestamp"
STYLES = ("planflow", "wecom", "dingtalk", "feishu")


class Undeliverable(Exception):
    """The other side refused this message for good: retrying would not help."""


class Mailer:
    """One SMTP connection for a batch of mails, opened on the first mail and reopened after a drop."""

    def __init__(self, settings: MailSettings):
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if not s.configured:
            raise ConnectionError("no mail server configured (PLANFLOW_SMTP_HOST)")
        if s.tls == "ssl":
            smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout)
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            if s.tls == "starttls":
                smtp.starttls()
        if s.username:
            smtp.login(s.username, s.password or "")
        return smtp

    def send(self, to: str, message: Message, reference: str) -> None:
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = self.settings.sender, to, message.subject
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = make_msgid(idstring=reference)
        mail["X-PlanFlow-Notification"] = reference
        mail.set_content(message.body)
        try:
            if self._smtp is None:
                self._smtp = self._connect()
            self._smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            raise Undeliverable(f"the mail server refused {to}: {_smtp_reason(exc.recipients.get(to))}") from exc
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            self.close()
            if 500 <= exc.smtp_code < 600:
                raise Undeliverable(f"the mail server refused the mail: {exc.smtp_code} {_text(exc.smtp_error)}") from exc
            raise
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except Exception:  # noqa: BLE001 — the connection is being dropped anyway
                pass
            self._smtp = None


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _smtp_reason(pair) -> str:
    return f"{pair[0]} {_text(pair[1])}" if pair else "refused"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The X-PlanFlow-Signature value: sha256=hex(HMAC-SHA256(secret, timestamp + "." + body))."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def webhook_body(style: str, secret: str, message: Message, document: dict, timestamp: int) -> dict:
    """The JSON a webhook of `style` expects: PlanFlow's own document, or a group robot's text message."""
    text = f"{message.subject}\n{message.body}"
    if style == "wecom":
        return {"msgtype": "text", "text": {"content": text}}
    if style == "dingtalk":
        return {"msgtype": "text", "text": {"content": text}}
    if style == "feishu":
        body = {"msg_type": "text", "content": {"text": text}}
        if secret:  # Feishu's signature check: base64(HMAC-SHA256(key=timestamp + "\n" + secret, empty message))
            key = f"{timestamp}\n{secret}".encode()
            body.update(timestamp=str(timestamp), sign=base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest())
                        .decode("ascii"))
        return body
    return {**document, "title": message.subject, "text": message.body}


def webhook_url(style: str, url: str, secret: str, timestamp_ms: int) -> str:
    """DingTalk's signed robots take the signature in the query string."""
    if style != "dingtalk" or not secret:
        return url
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    query = urllib.parse.urlencode({"timestamp": timestamp_ms, "sign": base64.b64encode(digest).decode("ascii")})
    return f"{url}{'&' if '?' in url else '?'}{query}"


def post_webhook(url: str, style: str, secret: str, message: Message, document: dict, reference: str,
                 timeout: float) -> None:
    """POST one notification; a 2xx answer (and for robots errcode 0) is delivered."""
    now = time.time()
    timestamp = int(now)
    body = json.dumps(webhook_body(style, secret, message, document, timestamp), ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(webhook_url(style, url, secret, int(now * 1000)), data=body, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8", "User-Agent": "PlanFlow-Webhook",
        "X-PlanFlow-Event": document.get("event", ""), "X-PlanFlow-Delivery": reference,
        TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, str(timestamp), body)})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 — URLs are set by an admin
            answer = response.read(65536)
    except urllib.error.HTTPError as exc:
        if 400 <= exc.code < 500 and exc.code not in (408, 425, 429):
            raise Undeliverable(f"the webhook answered {exc.code} {exc.reason}") from exc
        raise ConnectionError(f"the webhook answered {exc.code} {exc.reason}") from exc
    _check_robot_answer(answer)


def _check_robot_answer(answer: bytes) -> None:
    """WeCom, DingTalk and Feishu answer 200 with an error code in the body when they refuse."""
    try:
        data = json.loads(answer or b"{}")
    except ValueError:
        return
    if not isinstance(data, dict):
        return
    code = data.get("errcode", data.get("code", 0))
    if code not in (0, None, "0"):
        raise ConnectionError(f"the robot refused the message: {code} {data.get('errmsg') or data.get('msg') or ''}".strip())

"""What a notification says, in Chinese or English, rendered from the facts stored with it.

The same text serves mail (subject + body), webhooks (title + text) and the bell in the
app, so everyone reads the same words. Times are the organisation's local time.
"""
from __future__ import annotations

from dataclasses import dataclass

from engine.calendar.local_time import due_time, local_time
from engine.people.roles import ROLES

ENGLISH = "en"


@dataclass(frozen=True)
class Message:
    subject: str
    body: str


def is_english(locale: str | None) -> bool:
    return (locale or "").lower().startswith("en")


def _task(payload: dict, en: bool, key: str = "task") -> str:
    if en:
        return payload.get(f"{key}_en") or payload.get(key) or ""
    return payload.get(key) or ""


def _role(key: str | None, en: bool) -> str:
    role = ROLES.get(key or "")
    if role is None:
        return key or ""
    return role.name_en if en else role.name_zh


_SUBJECTS = {
    "task_ready": ("新任务：{task}（{case}）", "New task: {task} ({case})"),
    "task_assigned": ("任务交给了您：{task}（{case}）", "Task assigned to you: {task} ({case})"),
    "deadline_near": ("即将到期：{task}（{case}），期限 {due}", "Deadline near: {task} ({case}), due {due}"),
    "deadline_passed": ("已超时：{task}（{case}），期限 {due}", "Deadline passed: {task} ({case}), was due {due}"),
    "escalated": ("已升级：{task}（{case}）", "Escalated: {task} ({case})"),
    "escalated_away": ("您的任务已超时升级：{missed}（{case}）", "Your task was escalated: {missed} ({case})"),
    "case_urgent": ("紧急投诉：{case}", "Urgent complaint: {case}"),
    "incident": ("案件无法继续：{case}", "Case stopped: {case}"),
    "drill_started": ("演练开始：{title}", "Drill started: {title}"),
}

_LINES = {
    "task_ready": ("{case} 的“{task}”已由 {role} 办理。", "“{task}” of {case} is ready for {role}."),
    "task_assigned": ("{actor} 把 {case} 的“{task}”交给了您。{reason}", "{actor} gave you “{task}” of {case}. {reason}"),
    "deadline_near": ("{case} 的“{task}”将于 {due} 到期，请及时办理。",
                      "“{task}” of {case} is due at {due}; please act on it in time."),
    "deadline_passed": ("{case} 的“{task}”已于 {due} 超时。", "“{task}” of {case} passed its deadline at {due}."),
    "escalated": ("{case} 的“{missed}”（{missed_role}）未在 {due} 前完成，已升级为“{task}”，由 {role} 办理。",
                  "“{missed}” ({missed_role}) of {case} was not done by {due}; it is escalated to “{task}” for {role}."),
    "escalated_away": ("{case} 的“{missed}”未在 {due} 前完成，已升级给 {role}。",
                       "“{missed}” of {case} was not done by {due}; it is escalated to {role}."),
    "case_urgent": ("{case} 登记为紧急投诉，请立即关注。", "{case} is registered as an urgent complaint; please attend to it now."),
    "incident": ("{case} 无法继续运行：{incident}", "{case} cannot go on: {incident}"),
    "drill_started": ("您以 {role} 身份参加演练“{title}”（{case}），演练任务将出现在您的待办中。",
                      "You take part as {role} in the drill “{title}” ({case}); its tasks come to your inbox."),
}

_FOOTER = ("案件：{case}\n打开：{link}", "Case: {case}\nOpen: {link}")


def render(event: str, payload: dict, locale: str, base_url: str) -> Message:
    """The subject and plain-text body of one notification in `locale`."""
    en = is_english(locale)
    facts = {
        "case": payload.get("case", ""),
        "task": _task(payload, en),
        "missed": _task(payload, en, "missed"),
        "role": _role(payload.get("role"), en),
        "missed_role": _role(payload.get("missed_role"), en),
        "due": due_time(payload.get("due_at")) if payload.get("due_at") else ("—" if not en else "-"),
        "actor": payload.get("actor", ""),
        "reason": ((f"理由：{payload['reason']}" if not en else f"Reason: {payload['reason']}")
                   if payload.get("reason") else ""),
        "incident": payload.get("incident", ""),
        "link": base_url + payload.get("link", "/"),
        "title": payload.get("title") or payload.get("plan") or "",
    }
    index = 1 if en else 0
    subject = _SUBJECTS[event][index].format(**facts)
    if payload.get("drill") and event != "drill_started":
        subject = ("[Drill] " if en else "【演练】") + subject
    lines = [_LINES[event][index].format(**facts).strip()]
    if payload.get("grade") == "urgent" and event != "case_urgent":
        lines.append("Urgent complaint." if en else "紧急投诉。")
    lines.append(_FOOTER[index].format(**facts))
    return Message(subject=subject, body="\n".join(lines))


def render_digest(items: list[tuple[str, dict]], locale: str, base_url: str, when) -> Message:
    """One mail listing several notifications (the daily digest)."""
    en = is_english(locale)
    subject = (f"PlanFlow daily digest: {len(items)} notification(s)" if en
               else f"PlanFlow 每日汇总：{len(items)} 条通知")
    parts = [f"{local_time(when)}"]
    for event, payload in items:
        message = render(event, payload, locale, base_url)
        parts.append(f"• {message.subject}\n  {message.body.splitlines()[0]}\n  {base_url + payload.get('link', '/')}")
    return Message(subject=subject, body="\n\n".join(parts))


EVENTS = tuple(_SUBJECTS)

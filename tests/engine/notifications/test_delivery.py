"""Mail over a real SMTP server and signed webhooks to a real HTTP receiver: ready task, near deadline, escalation."""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

from sqlalchemy import select

from engine.db import transaction
from engine.models import Notification, NotificationStatus
from engine.notifications import near_deadlines, sender
from tests.engine.notifications.conftest import add_hook, set_mail


def verify(secret: str, request: dict) -> bool:
    """What a receiver does: recompute HMAC-SHA256 over timestamp + '.' + body and compare."""
    headers = request["headers"]
    expected = "sha256=" + hmac.new(secret.encode(), headers["X-PlanFlow-Timestamp"].encode() + b"." + request["body"],
                                    hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["X-PlanFlow-Signature"])


def walk_to_escalation(mini):
    """Register a case, let 80 % of its 24 h pass (near deadline), then the whole 24 h (escalation)."""
    number = mini.start("mini", {}, "handler1")
    ready = sender.send_due(mini.session_factory, mini.now)
    mini.now += timedelta(hours=19, minutes=13)
    warned = near_deadlines.sweep(mini.session_factory, mini.now)
    near = sender.send_due(mini.session_factory, mini.now)
    mini.pass_time(timedelta(hours=4, minutes=47, seconds=1))
    escalated = sender.send_due(mini.session_factory, mini.now)
    return number, ready, warned, near, escalated


def test_ready_near_and_escalated_go_out_by_mail_in_each_users_language(mini, smtp_server):
    set_mail(mini, "handler1", "handler1@example.cn", "zh_CN")
    set_mail(mini, "office_director1", "director@example.cn", "en")
    number, ready, warned, near, escalated = walk_to_escalation(mini)
    assert (ready.sent, warned, near.sent, escalated.sent) == (1, 1, 1, 2)
    handler = [(m["Subject"], m.get_content()) for m in smtp_server.mailbox.to("handler1@example.cn")]
    director = [(m["Subject"], m.get_content()) for m in smtp_server.mailbox.to("director@example.cn")]
    assert [s for s, _ in handler] == [f"新任务：Verify（{number}）",
                                       f"即将到期：Verify（{number}），期限 2026-03-03 09:00",
                                       f"您的任务已超时升级：Verify（{number}）"]
    assert "将于 2026-03-03 09:00 到期" in handler[1][1]
    assert "已升级给 投诉处理办公室主任" in handler[2][1]
    [(subject, body)] = director
    assert subject == f"Escalated: Escalated ({number})"
    assert "“Verify” (Complaint handler) of " + number + " was not done by 2026-03-03 09:00" in body
    assert "Open: https://planflow.example.cn/tasks/" in body
    for message in smtp_server.mailbox.messages:
        assert message["From"] == "planflow@example.cn"
        assert message["X-PlanFlow-Notification"].startswith("planflow-")


def test_webhooks_get_signed_json_in_their_language(mini, receiver):
    zh_secret = add_hook(mini, "hotline", receiver.url + "/zh", locale="zh_CN")
    en_secret = add_hook(mini, "ops-en", receiver.url + "/en", locale="en", secret="a shared secret")
    number, ready, warned, near, escalated = walk_to_escalation(mini)
    assert (ready.sent, near.sent, escalated.sent) == (2, 2, 2)  # escalated_away goes to people only
    by_path = {"/zh": [], "/en": []}
    for request in receiver.requests:
        by_path[request["path"]].append(request)
        assert request["headers"]["Content-Type"].startswith("application/json")
    assert all(verify(zh_secret, r) for r in by_path["/zh"])
    assert all(verify("a shared secret", r) for r in by_path["/en"])
    assert en_secret == "a shared secret"
    assert not verify("another secret", by_path["/en"][0])
    zh = [json.loads(r["body"]) for r in by_path["/zh"]]
    en = [json.loads(r["body"]) for r in by_path["/en"]]
    assert [d["event"] for d in zh] == [d["event"] for d in en] == ["task_ready", "deadline_near", "escalated"]
    assert [r["headers"]["X-PlanFlow-Event"] for r in by_path["/en"]] == ["task_ready", "deadline_near", "escalated"]
    assert zh[0]["title"] == f"新任务：Verify（{number}）" and en[0]["title"] == f"New task: Verify ({number})"
    assert zh[1]["title"] == f"即将到期：Verify（{number}），期限 2026-03-03 09:00"
    assert en[2]["title"] == f"Escalated: Escalated ({number})" and en[2]["urgent"] is True
    assert en[2]["facts"]["missed"] == "Verify" and en[2]["facts"]["role"] == "office_director"
    assert all(d["case"] == number and d["link"].startswith("http") for d in zh + en)
    assert len({r["headers"]["X-PlanFlow-Delivery"] for r in receiver.requests}) == 6


def test_robot_styles_carry_the_text_where_each_robot_reads_it(mini, receiver):
    add_hook(mini, "wecom", receiver.url + "/wecom?key=abc", style="wecom")
    add_hook(mini, "dingtalk", receiver.url + "/dingtalk?access_token=abc", style="dingtalk", secret="SECdemo")
    add_hook(mini, "feishu", receiver.url + "/feishu", style="feishu", secret="fs-secret", events=["escalated"])
    number = mini.start("mini", {}, "handler1")
    mini.pass_time(timedelta(hours=24, seconds=1))
    sender.send_due(mini.session_factory, mini.now)
    bodies = {r["path"].split("?")[0]: [json.loads(x["body"]) for x in receiver.requests if x["path"] == r["path"]]
              for r in receiver.requests}
    assert bodies["/wecom"][0]["msgtype"] == "text" and number in bodies["/wecom"][0]["text"]["content"]
    dingtalk = [r for r in receiver.requests if r["path"].startswith("/dingtalk")]
    assert all("timestamp=" in r["path"] and "sign=" in r["path"] for r in dingtalk)
    [feishu] = bodies["/feishu"]  # only the event it listens for
    assert feishu["msg_type"] == "text" and "已升级" in feishu["content"]["text"] and feishu["sign"]


def test_a_webhook_that_refuses_for_good_is_marked_undeliverable_not_retried(mini, receiver):
    add_hook(mini, "gone", receiver.url + "/gone")
    receiver.answers = [404]
    mini.start("mini", {}, "handler1")
    result = sender.send_due(mini.session_factory, mini.now)
    assert (result.sent, result.undeliverable) == (0, 1)
    with transaction(mini.session_factory, readonly=True) as session:
        [row] = session.execute(select(Notification).where(Notification.channel == "webhook")).scalars()
    assert row.status == NotificationStatus.UNDELIVERABLE and "404" in row.last_error
    assert sender.send_due(mini.session_factory, mini.now + timedelta(days=1)).sent == 0
    assert len(receiver.requests) == 1

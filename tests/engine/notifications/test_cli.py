"""`planflow notifications` on a real SQLite file: webhooks, the warning rule, undeliverable rows and retry."""
from __future__ import annotations

import json

from click.testing import CliRunner

from engine.cli import main
from engine.db import create_schema, make_engine
from tests.support import PLAN_PATHS


def test_a_process_owner_connects_a_robot_sees_what_failed_and_retries_it(tmp_path, receiver):
    env = {"PLANFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}"}
    runner = CliRunner()

    def planflow(*args):
        result = runner.invoke(main, list(args), env=env, catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    create_schema(make_engine(env["PLANFLOW_DATABASE_URL"]))
    assert planflow("deploy", *map(str, PLAN_PATHS))[0] == 0
    assert planflow("user", "add", "wang", "--role", "intake", "--password", "pw")[0] == 0
    code, out, _ = planflow("notifications", "webhook", "add", "duty-room", receiver.url + "/robot", "--style", "wecom",
                            "--event", "task_ready")
    assert code == 0 and "signing secret" in out
    code, _, err = planflow("notifications", "webhook", "add", "bad", "ftp://example.cn/x")
    assert code == 2 and "not an http(s) URL" in err
    code, _, err = planflow("notifications", "warn-at", "general_complaint", "soon")
    assert code == 2 and "'80%'" in err
    assert planflow("notifications", "warn-at", "general_complaint", "2h")[0] == 0
    assert planflow("notifications", "warn-at", "general_complaint")[1].strip() == "general_complaint: 2h"
    receiver.answers = [403]
    registration = {"complainant": "王女士", "contact": "13800000000", "channel": "phone", "content": "投诉内容"}
    number = planflow("start", "general_complaint", "--data", json.dumps(registration), "--as", "wang")[1].strip()
    code, out, _ = planflow("notifications", "list", "--pending", "--json")
    [pending] = json.loads(out)
    assert (pending["recipient"], pending["event"], pending["case"]) == ("duty-room", "task_ready", number)
    code, out, _ = planflow("notifications", "send")
    assert code == 0 and "undeliverable 1" in out and "403" in out
    code, out, _ = planflow("notifications", "list", "--undeliverable")
    assert "undeliverable webhook duty-room" in " ".join(out.split()) and "403" in out
    assert planflow("notifications", "retry")[0] == 2
    code, out, _ = planflow("notifications", "retry", "--all")
    assert "1 notification(s) queued again" in out
    code, out, _ = planflow("notifications", "send", "--json")
    assert json.loads(out)["sent"] == 1
    assert planflow("notifications", "list")[1].strip() == "nothing undeliverable or pending"
    assert json.loads(receiver.delivered()[0]["body"])["msgtype"] == "text"
    assert planflow("notifications", "webhook", "remove", "duty-room")[0] == 0
    assert planflow("notifications", "webhook", "list")[1].strip() == "no webhooks"

"""A case's workflow state is stored compressed, read back exactly as written; bytes it cannot read become an incident."""
from __future__ import annotations

import json
import zlib

import pytest
from alembic import command
from sqlalchemy import inspect, text

from engine.cases import doctor, state_codec
from engine.cases import use_cases as cases
from engine.db import make_engine, transaction
from engine.errors import CaseEngineError
from engine.migrations import schema
from tests.engine.test_migrations import WHEN, differences, new_url  # noqa: F401 (fixture)
from tests.engine.test_migrations_old_release import SETUP_AND_START, extract, old_planflow, planflow, url  # noqa: F401 (fixture)

REGISTRATION = {"complainant": "王女士", "contact": "13800000000", "channel": "phone", "category": "service",
                "content": "快递延误且客服态度差", "claimed_amount": 500}
STEPS = [
    ("Task_FirstContact", {"contact_note": "已电话联系", "grade": "general"}),
    ("Task_VerifyNegotiate", {"findings": "属实", "resolution": "道歉并改进", "compensation_amount": 0}),
    ("Task_Feedback", {"feedback_note": "已告知处理结果", "feedback_channel": "phone"}),
    ("Task_ReturnVisit", {"satisfied": "yes", "visit_note": "满意"}),
    ("Task_Archive", {"archive_note": "归档", "outcome": "upheld", "prevention_analysis": "no"}),
]


def stored(session_factory, number: str) -> bytes:
    """The case's workflow_state column as the database holds it, read without the models."""
    with transaction(session_factory, readonly=True) as session:
        raw = session.execute(text("SELECT workflow_state FROM cases WHERE number = :n"), {"n": number}).scalar_one()
    return bytes(raw)


def state_of(session_factory, number: str) -> dict:
    with transaction(session_factory, readonly=True) as session:
        return cases.get_case(session, number).workflow_state


def test_a_state_reads_back_exactly_as_written():
    state = {"data": {"complainant": "王女士", "amount": 0.1, "big": 10 ** 20, "none": None, "flag": False,
                      "nested": [{"é": "\u2028"}, []]}, "serializer_version": "1.4", "tasks": {}}
    blob = state_codec.encode(state)
    assert blob[0] == state_codec.ZLIB_JSON
    assert state_codec.decode(blob) == state
    assert json.dumps(state_codec.decode(blob), sort_keys=True) == json.dumps(state, sort_keys=True)


@pytest.mark.parametrize("blob, problem", [
    (b"", "is empty"),
    (b'{"tasks": {}}', "format prefix 0x7b"),            # JSON as the column held it before compression
    (b"\x02" + b"x" * 40, "format prefix 0x02"),          # a codec this PlanFlow does not know yet
    (b"\x01not zlib at all", "is corrupt"),
    (state_codec.encode({"tasks": {}})[:-4], "is corrupt"),   # cut short
    (b"\x01" + zlib.compress(b"[1, 2]"), "JSON list, not an object"),
])
def test_bytes_that_are_not_a_state_are_refused_naming_the_problem(blob, problem):
    with pytest.raises(state_codec.StateUnreadable, match=problem):
        state_codec.decode(blob)


def test_a_general_complaint_is_stored_compressed_at_every_step_and_walks_to_the_end(desk):
    number = desk.start("general_complaint", REGISTRATION)
    sizes = []
    for element_id, data in STEPS:
        raw, state = stored(desk.session_factory, number), state_of(desk.session_factory, number)
        assert raw[0] == state_codec.ZLIB_JSON and state_codec.decode(raw) == state
        sizes.append((len(raw), len(json.dumps(state).encode())))
        desk.complete(number, element_id, data)
    assert desk.open_tasks(number) == []
    with transaction(desk.session_factory, readonly=True) as session:
        assert cases.get_case(session, number).status.value == "completed"
    raw, state = stored(desk.session_factory, number), state_of(desk.session_factory, number)
    assert state_codec.decode(raw) == state and state["data"]["complainant"] == "王女士"
    sizes.append((len(raw), len(json.dumps(state).encode())))
    # what the JSON column held, against what is stored now: at least four times smaller at every step
    assert all(packed * 4 < as_json for packed, as_json in sizes), sizes


@pytest.mark.parametrize("blob, problem", [
    (b"\x7f" + b"\x00" * 16, "format prefix 0x7f"),
    (b"\x01garbage, not zlib", "is corrupt"),
])
def test_a_state_that_cannot_be_read_becomes_an_incident_naming_the_problem_and_is_kept(desk, blob, problem):
    number = desk.start("general_complaint", REGISTRATION)
    task = desk.task(number, "Task_FirstContact")
    with transaction(desk.session_factory) as session:
        session.execute(text("UPDATE cases SET workflow_state = :b WHERE number = :n"), {"b": blob, "n": number})

    with pytest.raises(CaseEngineError, match=f"the stored state of case {number} cannot be read: "
                                              f"StateUnreadable: .*{problem}"):
        cases.submit_task(desk.session_factory, task.id, "intake1", STEPS[0][1], desk.now)
    with transaction(desk.session_factory, readonly=True) as session:
        case = cases.get_case(session, number)
        assert problem in case.incident
        assert [f.case_number for f in doctor.examine(session, include_completed=True)] == []   # an incident: listed
    assert stored(desk.session_factory, number) == blob   # recording the incident wrote the bytes back untouched
    assert desk.task(number, "Task_FirstContact").status.value == "open"


def test_the_doctor_names_a_case_whose_state_cannot_be_read_and_reads_the_others(desk):
    broken, sound = (desk.start("general_complaint", REGISTRATION) for _ in range(2))
    with transaction(desk.session_factory) as session:
        session.execute(text("UPDATE cases SET workflow_state = :b WHERE number = :n"),
                        {"b": b"\x09unknown", "n": broken})
    with transaction(desk.session_factory, readonly=True) as session:
        findings = doctor.examine(session)
    assert [f.case_number for f in findings] == [broken]
    assert "format prefix 0x09" in findings[0].problems[0]
    desk.complete(sound, *STEPS[0])


# The last commit whose PlanFlow stored the state as JSON (its newest migration: 0006_drill_drafts).
JSON_RELEASE = "04b9f9b"
JSON_REVISION = "0006_drill_drafts"
COPIES = 250   # more rows than the migration converts in one batch


def raw_states(engine) -> dict[str, object]:
    """Every case's workflow_state column as the driver gives it: bytes, JSON text (SQLite) or parsed JSON (PostgreSQL)."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT number, workflow_state FROM cases ORDER BY id")).all()
    return {number: bytes(raw) if isinstance(raw, (bytes, memoryview)) else raw for number, raw in rows}


def as_json(raw) -> dict:
    assert not isinstance(raw, bytes), "expected the JSON column of the earlier release"
    return json.loads(raw) if isinstance(raw, str) else raw


def test_cases_a_json_release_stored_are_compressed_by_the_upgrade_go_on_and_a_downgrade_gives_json_back(
        url, tmp_path, monkeypatch):
    old = tmp_path / JSON_RELEASE
    if not extract(JSON_RELEASE, old):
        pytest.skip(f"release {JSON_RELEASE} is not in this clone's history")
    key = tmp_path / "audit_key"
    printed = old_planflow(old, url, key, *SETUP_AND_START,
                           ["complete", "1", "--as", "intake1", "--data", json.dumps(STEPS[0][1])])
    number = next(line for line in printed if line.startswith("TS-"))
    engine = make_engine(url)
    assert schema.current(engine) == JSON_REVISION
    # copies of the case's row, finished, so that the upgrade converts them in several batches
    listed = ", ".join(c["name"] for c in inspect(engine).get_columns("cases") if c["name"] not in ("id", "number"))
    with engine.begin() as conn:
        for n in range(COPIES):
            conn.execute(text(f"INSERT INTO cases (number, {listed}) SELECT :copy, {listed} FROM cases "
                              "WHERE number = :n"), {"copy": f"COPY-{n:04d}", "n": number})
        conn.execute(text("UPDATE cases SET status = 'completed' WHERE number LIKE 'COPY-%'"))
    before = {number: as_json(raw) for number, raw in raw_states(engine).items()}
    assert len(before) == COPIES + 1

    monkeypatch.delenv("PLANFLOW_AUDIT_KEY", raising=False)
    monkeypatch.setenv("PLANFLOW_AUDIT_KEY_FILE", str(key))
    monkeypatch.setenv("PLANFLOW_AUDIT_DIR", str(tmp_path / "audit"))
    planflow(url, "db", "upgrade")
    assert schema.current(engine) == schema.head()
    assert differences(engine, server_defaults=True) == []
    upgraded = raw_states(engine)
    assert all(raw[0] == state_codec.ZLIB_JSON for raw in upgraded.values())
    assert {n: state_codec.decode(raw) for n, raw in upgraded.items()} == before
    assert len(upgraded[number]) * 4 < len(json.dumps(before[number]).encode())

    # the case goes on under today's PlanFlow
    [task] = json.loads(planflow(url, "tasks", "--as", "handler1", "--json"))
    assert (task["case"], task["element_id"]) == (number, STEPS[1][0])
    planflow(url, "claim", str(task["id"]), "--as", "handler1")
    planflow(url, "complete", str(task["id"]), "--as", "handler1", "--data", json.dumps(STEPS[1][1]))
    planflow(url, "doctor")
    worked = state_codec.decode(raw_states(engine)[number])
    assert worked != before[number]

    task_rows = "SELECT element_id, status FROM tasks ORDER BY id"
    with engine.connect() as conn:
        tasks_before = conn.execute(text(task_rows)).all()
    with schema.migrating(engine) as connection:
        command.downgrade(schema.alembic_config(connection), JSON_REVISION)
    assert schema.current(engine) == JSON_REVISION
    downgraded = raw_states(engine)
    assert {n: as_json(raw) for n, raw in downgraded.items()} == {**before, number: worked}
    with engine.connect() as conn:
        assert conn.execute(text(task_rows)).all() == tasks_before   # the table rebuild cascaded nothing
        [open_task] = conn.execute(text("SELECT id FROM tasks WHERE status = 'open'")).scalars().all()

    # and the JSON release works the case on from there
    old_planflow(old, url, key, ["claim", str(open_task), "--as", "handler1"],
                 ["complete", str(open_task), "--as", "handler1", "--data", json.dumps(STEPS[2][1])])
    with engine.connect() as conn:
        assert conn.execute(text("SELECT element_id FROM tasks WHERE status = 'open'")).scalars().all() == \
            [STEPS[3][0]]
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_downgrade_refuses_a_state_it_cannot_read_naming_the_case_and_changes_nothing(new_url, backend):
    engine = make_engine(new_url(backend))
    schema.upgrade(engine)
    rows = {"TS-1": state_codec.encode({"tasks": {}, "data": {"note": "读得出"}}), "TS-2": b"\x05unknown"}
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO plan_versions (plan_key, version, name, content_hash, bpmn_xml, assets, "
                          "deployed_by, deployed_at, drill_only) "
                          "VALUES ('p', 1, 'P', 'abc', '<x/>', '{}', 'setup', :at, FALSE)"), {"at": WHEN})
        for number, blob in rows.items():
            conn.execute(text("INSERT INTO cases (number, plan_version_id, status, started_by, started_at, "
                              "workflow_state, serializer_version, library_version, revision) "
                              "VALUES (:n, 1, 'running', 'wang', :at, :b, '1', '3.2', 1)"),
                         {"n": number, "at": WHEN, "b": blob})
    with pytest.raises(RuntimeError, match="case TS-2: its stored workflow state does not start with format byte"):
        with schema.migrating(engine) as connection:
            command.downgrade(schema.alembic_config(connection), JSON_REVISION)
    assert schema.current(engine) == schema.head()
    assert raw_states(engine) == rows
    engine.dispose()

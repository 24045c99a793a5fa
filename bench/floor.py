"""The floor under the step path: a case saved at every user action with nothing but SpiffWorkflow,
PlanFlow's state format and one bare DBAPI transaction per action.

No ORM, no audit chain, no timer or message rows, no notifications, no form validation, no
sandbox: registration, each claim and each completion is one transaction of a few plain
statements, and each step saves the workflow as PlanFlow stores it (specs left out,
compressed). It is the least that any design committing every action durably must do, so
its ratio to in-memory SpiffWorkflow is the ceiling for PlanFlow's own ratio on that database.
bench/throughput.py prints it beside PlanFlow's figure.
"""
from __future__ import annotations

import itertools
import json

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy.engine import Engine

from engine.cases import persistence, state_codec
from engine.plans.bpmn import ParsedPlan

TABLES = ("CREATE TABLE IF NOT EXISTS floor_cases (id INTEGER PRIMARY KEY, state {blob} NOT NULL)",
          "CREATE TABLE IF NOT EXISTS floor_tasks (id {serial} PRIMARY KEY, case_id INTEGER NOT NULL, spiff_task_id VARCHAR(36), "
          "element_id VARCHAR(200), assignee VARCHAR(80), done BOOLEAN NOT NULL)",
          "CREATE TABLE IF NOT EXISTS floor_journal (id {serial} PRIMARY KEY, case_id INTEGER NOT NULL, spiff_task_id VARCHAR(36), "
          "data TEXT NOT NULL)")

_case_ids = itertools.count(1)   # shared by the paths walking one database


class FloorPath:
    """A general_complaint case walked as `bench/throughput.py` walks it, on one raw DBAPI connection.

    With `journal`, a completion does not save the workflow: it appends the task's form data to a
    journal (the state is saved at registration only). That is the floor of a design that rebuilds
    a case by replaying its journal — not PlanFlow's, shown for planning what such a design would buy.
    """

    def __init__(self, engine: Engine, plan: ParsedPlan, script_engine, registration: dict, steps: list,
                 journal: bool = False):
        self.journal = journal
        self.plan, self.script_engine = plan, script_engine
        self.registration, self.steps = registration, steps
        self.sqlite = engine.dialect.name == "sqlite"
        self.mark = "?" if self.sqlite else "%s"
        self.connection = engine.raw_connection()
        kinds = {"blob": "BLOB", "serial": "INTEGER"} if self.sqlite else {"blob": "BYTEA", "serial": "SERIAL"}
        self._transaction(lambda cursor: [cursor.execute(table.format(**kinds)) for table in TABLES])

    def _transaction(self, work):
        cursor = self.connection.cursor()
        if self.sqlite:
            cursor.execute("BEGIN IMMEDIATE")   # as PlanFlow's writing transactions on SQLite
        try:
            result = work(cursor)
            self.connection.commit() if not self.sqlite else cursor.execute("COMMIT")
            return result
        except BaseException:
            self.connection.rollback() if not self.sqlite else cursor.execute("ROLLBACK")
            raise
        finally:
            cursor.close()

    def _sql(self, statement: str) -> str:
        return statement.replace("?", self.mark)

    def _save(self, cursor, case_id: int, workflow: BpmnWorkflow, insert: bool) -> None:
        state = state_codec.encode(persistence.dump(workflow, self.plan))
        if insert:
            cursor.execute(self._sql("INSERT INTO floor_cases (id, state) VALUES (?, ?)"), (case_id, state))
        else:
            cursor.execute(self._sql("UPDATE floor_cases SET state = ? WHERE id = ?"), (state, case_id))
        self._new_tasks(cursor, case_id, workflow)

    def _new_tasks(self, cursor, case_id: int, workflow: BpmnWorkflow) -> None:
        known = {row[0] for row in cursor.execute(
            self._sql("SELECT spiff_task_id FROM floor_tasks WHERE case_id = ? AND NOT done"), (case_id,)).fetchall()}
        for task in workflow.get_tasks(state=TaskState.READY, manual=True):
            if str(task.id) not in known:
                cursor.execute(self._sql("INSERT INTO floor_tasks (case_id, spiff_task_id, element_id, done) "
                                         "VALUES (?, ?, ?, FALSE)"), (case_id, str(task.id), task.task_spec.bpmn_id))

    def case(self) -> None:
        case_id = next(_case_ids)
        workflow = persistence.new_workflow(self.plan, self.script_engine)

        def register(cursor):
            for task in workflow.get_tasks(state=TaskState.READY):
                task.data.update(self.registration)
            workflow.do_engine_steps()
            self._save(cursor, case_id, workflow, insert=True)
        self._transaction(register)
        for element_id, data in self.steps:
            task_id, spiff_id = self._transaction(lambda cursor: cursor.execute(self._sql(
                "SELECT id, spiff_task_id FROM floor_tasks WHERE case_id = ? AND element_id = ? AND NOT done"),
                (case_id, element_id)).fetchone())
            self._transaction(lambda cursor: cursor.execute(
                self._sql("UPDATE floor_tasks SET assignee = ? WHERE id = ?"), ("floor", task_id)))
            self._transaction(lambda cursor: self._complete(cursor, case_id, workflow, task_id, spiff_id, data))
        assert workflow.is_completed()

    def _complete(self, cursor, case_id: int, workflow: BpmnWorkflow, task_id: int, spiff_id: str, data: dict):
        # The case row is locked and read as PlanFlow's step does; the workflow is the one kept in memory.
        lock = "SELECT length(state) FROM floor_cases WHERE id = ?" + ("" if self.sqlite else " FOR UPDATE")
        cursor.execute(self._sql(lock), (case_id,)).fetchone()
        [task] = [t for t in workflow.get_tasks(state=TaskState.READY, manual=True) if str(t.id) == spiff_id]
        task.data.update(data)
        task.run()
        workflow.do_engine_steps()
        cursor.execute(self._sql("UPDATE floor_tasks SET done = TRUE WHERE id = ?"), (task_id,))
        if not self.journal:
            self._save(cursor, case_id, workflow, insert=False)
            return
        cursor.execute(self._sql("INSERT INTO floor_journal (case_id, spiff_task_id, data) VALUES (?, ?, ?)"),
                       (case_id, spiff_id, json.dumps(data, ensure_ascii=False)))
        self._new_tasks(cursor, case_id, workflow)

    def close(self) -> None:
        self.connection.close()

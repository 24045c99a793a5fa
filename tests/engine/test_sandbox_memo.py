"""The sandbox memo: an expression asked again with the same request is answered without a trip.

Real sandbox processes throughout; a trip is counted by the pool (`requests`). What the
key holds is stated by the tests: the expression, the fields it names (not the others),
dict order, `extra`, the names of the engine functions. Answers that called an engine
function, errors and mutable values are never kept.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone

import pytest

from engine import sandbox
from engine.calendar.clock import engine_time
from engine.calendar.deadlines import EXPRESSION_FUNCTIONS, using_calendar
from engine.calendar.working_days import WorkingCalendar
from engine.sandbox import SandboxEnvironment, SandboxRefused, SandboxRuntimeError, SandboxTimeout, evaluate, memo, pool
from tests.support import ROOT

SHANGHAI = timezone(timedelta(hours=8))


@pytest.fixture(autouse=True)
def fresh_memo():
    """Each test starts with an empty memo of the default size, and leaves it so."""
    size = memo.shared.size
    memo.shared.resize(4096)
    memo.shared.clear()
    evaluate("1", {})   # a warm pool, so that trips are all that is counted
    yield memo.shared
    memo.shared.clear()
    memo.shared.resize(size)


class Trips:
    """Requests sent to sandbox processes since it was made."""

    def __init__(self):
        self.start = pool.shared().requests

    def __int__(self):
        return pool.shared().requests - self.start

    def __eq__(self, other):
        return int(self) == other

    def __repr__(self):
        return f"{int(self)} trips"


def test_the_same_condition_with_the_same_inputs_crosses_the_boundary_once():
    trips, data = Trips(), {"grade": "major", "approved": "no"}
    assert evaluate('grade == "major"', data) is True
    assert evaluate('grade == "major"', data) is True
    assert evaluate('grade == "major"', dict(data)) is True
    assert trips == 1


def test_a_changed_named_field_is_evaluated_again():
    trips = Trips()
    assert evaluate('approved == "no"', {"approved": "no"}) is True
    assert evaluate('approved == "no"', {"approved": "yes"}) is False
    assert trips == 2


def test_a_field_the_expression_does_not_name_is_not_part_of_the_key():
    """Only the fields an expression names are sent after its first run, so only they are keyed."""
    trips = Trips()
    assert evaluate("amount > 100", {"amount": 500, "content": "first"}) is True
    assert evaluate("amount > 100", {"amount": 500, "content": "changed", "new_field": 1}) is True
    assert trips == 1


def test_the_order_of_a_dict_is_part_of_the_key():
    trips = Trips()
    assert evaluate("list(scores)[0]", {"scores": {"a": 1, "b": 2}}) == "a"
    assert evaluate("list(scores)[0]", {"scores": {"b": 2, "a": 1}}) == "b"
    assert trips == 2


def test_a_changed_set_of_engine_functions_is_evaluated_again():
    """An engine function shadows a field of the same name, so the set of names changes the answer."""
    trips, data = Trips(), {"label": "text"}
    assert evaluate("isinstance(label, str)", data) is True
    assert evaluate("isinstance(label, str)", data, {"label": lambda: "called"}) is False
    assert evaluate("isinstance(label, str)", data, {"other": lambda: "called"}) is True
    assert trips == 3


def test_changed_extra_values_are_evaluated_again():
    """`extra` carries a decision table's inputs; they are keyed like the case data."""
    environment, trips = SandboxEnvironment(), Trips()
    assert environment.evaluate("amount <= 1000", {}, {"amount": 500}) is True
    assert environment.evaluate("amount <= 1000", {}, {"amount": 500}) is True
    assert environment.evaluate("amount <= 1000", {}, {"amount": 5000}) is False
    assert trips == 2


def test_an_expression_that_calls_working_days_is_evaluated_every_time_and_follows_the_clock():
    trips, answers = Trips(), []
    with using_calendar(WorkingCalendar()):
        for now in [datetime(2026, 3, 2, 9, tzinfo=SHANGHAI), datetime(2026, 3, 2, 9, tzinfo=SHANGHAI),
                    datetime(2026, 3, 9, 9, tzinfo=SHANGHAI)]:
            with engine_time(now):
                answers.append(evaluate("working_days(3)", {"grade": "major"}, EXPRESSION_FUNCTIONS))
    assert answers[0] == answers[1] != answers[2]
    assert trips == 3


def test_an_answer_that_called_no_engine_function_is_kept_even_where_one_is_available():
    trips, data = Trips(), {"approved": "yes"}
    with using_calendar(WorkingCalendar()), engine_time(datetime(2026, 3, 2, 9, tzinfo=SHANGHAI)):
        for _ in range(3):   # `or` stops before the call
            assert evaluate('approved == "yes" or working_days(1) > ""', data, EXPRESSION_FUNCTIONS) is True
    assert trips == 1


@pytest.mark.parametrize("source, data, expected", [
    ("missing_name + 1", {"n": 1}, SandboxRuntimeError),
    ("n.__class__", {"n": 1}, SandboxRefused),
    ("1 / n", {"n": 0}, SandboxRuntimeError),
    ("len([i for i in range(10**5) for j in range(10**5)])", {}, SandboxTimeout),
], ids=["name-error", "refused", "zero-division-after-a-kept-value", "timeout"])
def test_errors_are_not_kept(source, data, expected):
    if source == "1 / n":
        assert evaluate(source, {"n": 1}) == 1   # the expression's names are known, so its request is keyed
    trips = Trips()
    for _ in range(2):
        with pytest.raises(expected):
            evaluate(source, data, time_limit=0.3)
    assert trips == 2


def test_a_list_result_is_evaluated_each_time_and_never_shared():
    trips, data = Trips(), {"grade": "major"}
    first, second = evaluate("[grade]", data), evaluate("[grade]", data)
    first.append("changed by a caller")
    assert second == ["major"] and evaluate("[grade]", data) == ["major"]
    assert evaluate("([grade], 1)", data) == evaluate("([grade], 1)", data)
    assert trips == 5


def test_immutable_results_are_kept():
    trips, data = Trips(), {"when": datetime(2026, 3, 2, 9, tzinfo=SHANGHAI), "amount": 12}
    source = "(amount, when + timedelta_days, frozenset([amount]), None)"
    data["timedelta_days"] = timedelta(days=1)
    first, second = evaluate(source, data), evaluate(source, data)
    assert first == second == (12, datetime(2026, 3, 3, 9, tzinfo=SHANGHAI), frozenset([12]), None)
    assert trips == 1


def test_a_request_carrying_a_stand_in_for_an_engine_object_is_not_kept():
    trips = Trips()
    for marker in (object(), object()):
        assert evaluate("thing is not None and n == 1", {"thing": marker, "n": 1}) is True
    assert trips == 2


def test_scripts_and_checks_are_not_kept():
    trips, data = Trips(), {"n": 1}
    sandbox.execute("n = n + 1", data)
    sandbox.execute("n = n + 1", data)
    sandbox.check("n + 1", "eval")
    sandbox.check("n + 1", "eval")
    assert data == {"n": 3} and trips == 4


def test_size_zero_turns_the_memo_off(fresh_memo):
    fresh_memo.resize(0)
    trips = Trips()
    for _ in range(3):
        assert evaluate("n + 1", {"n": 1}) == 2
    assert trips == 3 and len(fresh_memo) == 0


@pytest.mark.parametrize("setting, trips", [("0", 2), ("16", 1)])
def test_the_size_is_a_setting(setting, trips):
    code = ("from engine.sandbox import evaluate, memo, pool\n"
            "evaluate('n + 1', {'n': 1}); evaluate('n + 1', {'n': 1})\n"
            "print(memo.shared.size, pool.shared().requests)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PLANFLOW_SANDBOX_MEMO_SIZE": setting})
    assert result.stdout.split() == [setting, str(trips)], result.stdout + result.stderr


def test_the_memo_keeps_at_most_its_size_least_recently_used_first(fresh_memo):
    fresh_memo.resize(2)
    evaluate("n + 1", {"n": 1})   # the first run learns the names; from the second on the request is keyed
    fresh_memo.clear()
    trips = Trips()
    evaluate("n + 1", {"n": 1})
    evaluate("n + 1", {"n": 2})
    evaluate("n + 1", {"n": 1})   # kept; now the most recently used
    evaluate("n + 1", {"n": 3})   # drops n=2
    assert trips == 3 and len(fresh_memo) == 2
    assert evaluate("n + 1", {"n": 1}) == 2 and trips == 3
    assert evaluate("n + 1", {"n": 2}) == 3 and trips == 4


def test_threads_sharing_a_small_memo_each_get_their_own_answers(fresh_memo):
    fresh_memo.resize(8)
    failures = []

    def ask(offset):
        try:
            for i in range(60):
                n = offset + i % 12
                if evaluate("n * 2", {"n": n}) != n * 2:
                    failures.append(n)
        except Exception as error:   # noqa: BLE001 - any failure fails the test
            failures.append(error)

    threads = [threading.Thread(target=ask, args=(k * 100,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures and len(fresh_memo) <= 8

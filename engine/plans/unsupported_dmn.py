"""What a DMN document asks for that PlanFlow cannot run, found before parsing, each with a hint.

SpiffWorkflow reads one decision per file (the first) and evaluates its table alone, so a
second decision, or a decision requiring another, would be silently ignored.
"""
from __future__ import annotations

from engine.errors import Problem
from engine.plans.unsupported import local

# Hit policies SpiffWorkflow evaluates as their names say: UNIQUE, FIRST and ANY give the first matching
# rule, COLLECT every one; the ordering and aggregating policies would silently give something else.
_HIT_POLICIES = {"UNIQUE", "FIRST", "ANY", "COLLECT"}
DMN_ONE_DECISION_HINT = ("PlanFlow runs one decision per .dmn file: put each decision in a file of its own "
                         "(decision requirements diagrams are not run)")


def find_unsupported_dmn(root, filename: str) -> list[Problem]:
    """What a DMN document asks for that cannot run: several decisions, requirements, other hit policies."""
    problems = []
    decisions = [node for node in root if local(node) == "decision"]
    if len(decisions) > 1:
        ids = ", ".join(d.get("id") for d in decisions)
        problems.append(Problem(f"holds {len(decisions)} decisions ({ids}); {DMN_ONE_DECISION_HINT}", None, filename))
    for decision in decisions:
        decision_id = decision.get("id")
        for required in decision.iter():
            if local(required) == "requiredDecision":
                problems.append(Problem(f"decision '{decision_id}' requires decision "
                                        f"'{required.get('href', '').lstrip('#')}'; {DMN_ONE_DECISION_HINT}",
                                        decision_id, filename))
        tables = [node for node in decision if local(node) == "decisionTable"]
        if not tables:
            problems.append(Problem(f"decision '{decision_id}' has no decision table (literal expressions are not "
                                    "run); write it as a table", decision_id, filename))
        for table in tables:
            policy = (table.get("hitPolicy") or "UNIQUE").upper()
            if policy not in _HIT_POLICIES:
                problems.append(Problem(f"hit policy {policy} of decision '{decision_id}' is not supported; use "
                                        "UNIQUE, FIRST or COLLECT", decision_id, filename))
            elif table.get("aggregation"):
                problems.append(Problem(f"COLLECT {table.get('aggregation')} of decision '{decision_id}' is not "
                                        "supported; use COLLECT without aggregation and add up in a script task",
                                        decision_id, filename))
    return problems

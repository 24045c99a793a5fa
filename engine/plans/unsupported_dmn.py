"""What a DMN document asks for that PlanFlow cannot run, found before parsing, each with a hint.

SpiffWorkflow reads one decision per file (the first) and evaluates its table alone, so a
second decision, or a decision requiring another, would be silently ignored.
"""
from __future__ import annotations

from engine.errors import N_, Problem
from engine.plans.unsupported import local

# Hit policies SpiffWorkflow evaluates as their names say: UNIQUE, FIRST and ANY give the first matching
# rule, COLLECT every one; the ordering and aggregating policies would silently give something else.
_HIT_POLICIES = {"UNIQUE", "FIRST", "ANY", "COLLECT"}


def find_unsupported_dmn(root, filename: str) -> list[Problem]:
    """What a DMN document asks for that cannot run: several decisions, requirements, other hit policies."""
    problems = []
    decisions = [node for node in root if local(node) == "decision"]
    if len(decisions) > 1:
        ids = ", ".join(d.get("id") for d in decisions)
        problems.append(Problem.of("dmn.several_decisions",
                                   N_("holds %(count)s decisions (%(ids)s); PlanFlow runs one decision per .dmn file: "
                                      "put each decision in a file of its own (decision requirements diagrams are "
                                      "not run)"), None, filename, count=len(decisions), ids=ids))
    for decision in decisions:
        decision_id = decision.get("id")
        for required in decision.iter():
            if local(required) == "requiredDecision":
                problems.append(Problem.of("dmn.required_decision",
                                           N_("decision '%(decision)s' requires decision '%(required)s'; PlanFlow "
                                              "runs one decision per .dmn file: put each decision in a file of its "
                                              "own (decision requirements diagrams are not run)"),
                                           decision_id, filename, decision=decision_id,
                                           required=required.get("href", "").lstrip("#")))
        tables = [node for node in decision if local(node) == "decisionTable"]
        if not tables:
            problems.append(Problem.of("dmn.no_table", N_("decision '%(decision)s' has no decision table (literal "
                                                          "expressions are not run); write it as a table"),
                                       decision_id, filename, decision=decision_id))
        for table in tables:
            policy = (table.get("hitPolicy") or "UNIQUE").upper()
            if policy not in _HIT_POLICIES:
                problems.append(Problem.of("dmn.hit_policy", N_("hit policy %(policy)s of decision '%(decision)s' is "
                                                                "not supported; use UNIQUE, FIRST or COLLECT"),
                                           decision_id, filename, policy=policy, decision=decision_id))
            elif table.get("aggregation"):
                problems.append(Problem.of("dmn.aggregation", N_("COLLECT %(aggregation)s of decision '%(decision)s' "
                                                                 "is not supported; use COLLECT without aggregation "
                                                                 "and add up in a script task"),
                                           decision_id, filename, aggregation=table.get("aggregation"),
                                           decision=decision_id))
    return problems

"""The roles a lane can name and a user can hold (PLANS.md, "Roles")."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Role:
    key: str
    name_zh: str
    name_en: str
    works_cases: bool = True


ROLES: dict[str, Role] = {
    role.key: role
    for role in (
        Role("intake", "投诉受理员", "Intake clerk"),
        Role("handler", "投诉处理专员", "Complaint handler"),
        Role("dept_head", "部门负责人", "Department head"),
        Role("legal", "法务", "Legal counsel"),
        Role("office_director", "投诉处理办公室主任", "Complaint office director"),
        Role("general_manager", "总经理", "General manager"),
        Role("leadership", "应急领导小组", "Emergency leadership group"),
        Role("pr", "宣传公关", "Public relations"),
        Role("security", "保卫", "Security"),
        Role("duty_officer", "值班员", "Duty officer"),
        Role("process_owner", "流程管理员", "Process owner", works_cases=False),
        Role("compliance", "合规审计", "Compliance auditor", works_cases=False),
    )
}

# Roles that may appear as a lane: the ones that work cases.
LANE_ROLES = frozenset(key for key, role in ROLES.items() if role.works_cases)

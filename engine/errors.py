"""Domain errors: each names what went wrong in the words of a PlanFlow user.

The web layer and the CLI turn these into status codes and one-line messages;
anything raised inside a use case rolls its transaction back.
"""
from __future__ import annotations


class PlanFlowError(Exception):
    """Base of every error a user can be shown."""

    code = "error"


class Refused(PlanFlowError):
    """A request refused with an English template and its parameters (the web layer may translate it)."""

    def __init__(self, template: str, **params):
        self.template, self.params = template, params
        super().__init__(template % params if params else template)


class NotFound(PlanFlowError):
    code = "not_found"


class UnknownUser(NotFound):
    code = "unknown_user"


class PermissionDenied(PlanFlowError):
    code = "forbidden"


class Conflict(PlanFlowError):
    """The thing changed underneath the caller; reloading shows the new state."""

    code = "conflict"


class TaskAlreadyCompleted(Conflict):
    code = "task_already_completed"


class TaskClaimedByOther(Conflict):
    code = "task_claimed"


class CaseChanged(Conflict):
    code = "case_changed"


class FormInvalid(PlanFlowError):
    """Submitted data does not satisfy the task's form; `errors` maps field key to message."""

    code = "form_invalid"

    def __init__(self, errors: dict[str, str], details: dict[str, dict] | None = None):
        self.errors = dict(errors)
        # Per field: {"label", "template", "params"}, for interfaces that show messages in another language.
        self.details = details or {}
        detail = "; ".join(f"{key}: {message}" for key, message in self.errors.items())
        super().__init__(f"the form has errors: {detail}")


class DeployRejected(PlanFlowError):
    """A plan failed validation; `problems` lists every finding, each naming its element."""

    code = "deploy_rejected"

    def __init__(self, problems: list["Problem"]):
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"deploy refused, {len(self.problems)} problem(s):\n{lines}")


def N_(template: str) -> str:
    """Marks an English message template for the web layer's catalogue (the engine itself speaks English)."""
    return template


class Problem:
    """One validation finding: which file and element, and what is wrong.

    A finding made with `Problem.of` also carries a stable `code`, its English `template` and the
    `params` filled into it, so an interface can say it in the user's language; `message` is the
    English text (the CLI's).
    """

    def __init__(self, message: str, element_id: str | None = None, file: str | None = None, *,
                 code: str | None = None, template: str | None = None, params: dict | None = None):
        self.message = message
        self.element_id = element_id
        self.file = file
        self.code = code
        self.template = template
        self.params = dict(params or {})

    @classmethod
    def of(cls, code: str, template: str, element_id: str | None = None, file: str | None = None,
           **params) -> Problem:
        """The finding `code`, worded by `template` (marked with N_) with `params` filled in."""
        return cls(template % params if params else template, element_id, file, code=code, template=template,
                   params=params)

    def as_dict(self) -> dict:
        found = {"file": self.file, "element_id": self.element_id, "message": self.message}
        if self.code:
            found.update(code=self.code, params=self.params)
        return found

    def __str__(self) -> str:
        where = ":".join(part for part in (self.file, self.element_id) if part)
        return f"{where}: {self.message}" if where else self.message

    def __repr__(self) -> str:
        return f"Problem({str(self)!r})"


class CaseEngineError(PlanFlowError):
    """SpiffWorkflow could not advance the case (an expression failed, a decision had no rule…)."""

    code = "engine_error"

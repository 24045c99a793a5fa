"""The SpiffWorkflow script environment whose every expression and script runs in a sandbox process."""
from __future__ import annotations

from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from engine.sandbox import boundary
from engine.sandbox.errors import SandboxRefused


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """SpiffWorkflow script environment that runs everything through the sandbox.

    `functions` are the engine's trusted functions: sandboxed code calls them by name and
    they run in this process. `external_context` (data objects, DMN input values) is visible
    as variables and never written back, as in SpiffWorkflow's own TaskDataEnvironment.
    """

    def __init__(self, functions: dict | None = None, *, time_limit: float | None = None):
        super().__init__(dict(functions or {}))
        self.time_limit = time_limit

    def evaluate(self, expression, context, external_context=None):
        return boundary.evaluate(expression, context, self.globals, external_context, self.time_limit)

    def execute(self, script, context, external_context=None):
        boundary.execute(script, context, self.globals, external_context, self.time_limit)
        return True

    def call_service(self, context, **kwargs):
        raise SandboxRefused("service tasks are not supported: plans cannot call external services")

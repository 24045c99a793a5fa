"""A case's workflow in and out of the database, with the engine's own state intact.

The stored state is SpiffWorkflow's whole serialization: task tree, data, and the specs
the case runs on. SpiffWorkflow rewires specs while a case runs (an event subprocess
is connected when its event arrives; a multi-instance child is hooked to its parent
when an instance is created), so a case re-attached to freshly parsed specs behaves
differently from one that never left memory. Keeping the specs with the case makes
every reload behave exactly as one process would.

For the same reason no two workflows ever share spec objects: a new case gets its own
copy of its plan version's specs, restored from their serialized form (parsing is
cached per plan version and must never be changed by a running case).

Most cases never rewire anything, and the specs are four fifths of a stored state: a case
whose specs are still exactly its plan version's is stored without them and restored onto
a private copy of the version's specs — which is, by that equality, the same thing.
Serializing the specs only to find them unchanged is most of a save's cost, so a workflow
remembers the shape of its specs as they were pristine (every task spec's connections and
event subscribers: what rewiring changes); while the shape is the same the specs are not
serialized at all. With PLANFLOW_VERIFY_STATE set (as in the test suite) the full comparison
runs as well and a difference the shape missed is an error.

Each saved state carries a fresh random token; the workflow object saved as that state is
kept in memory (engine/cases/workflow_cache.py) so the next step need not restore it.
"""
from __future__ import annotations

import json
import operator
import threading
import uuid
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import VERSION as SERIALIZER_VERSION
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.version import __version__ as LIBRARY_VERSION
from sqlalchemy.orm import object_session

from engine.cases import workflow_cache
from engine.errors import CaseEngineError
from engine.models import Case
from engine.plans.bpmn import ParsedPlan, make_decisions_strict
from engine.plans.dialect import SERIALIZER_CONFIG

# Set on a workflow object: the shape of its specs while they were its plan version's, and (during
# one dump) that the specs are to be left out.
_PRISTINE_SHAPE = "_planflow_pristine_spec_shape"
_OMIT_SPECS = "_planflow_omit_specs"


class _WorkflowConverter(BpmnWorkflowConverter):
    """SpiffWorkflow's converter; states saved before specs were kept (no "spec") restore onto the plan's specs."""

    def to_dict(self, workflow):
        if not getattr(workflow, _OMIT_SPECS, False):
            return super().to_dict(workflow)
        dct = super(BpmnWorkflowConverter, self).to_dict(workflow)   # the task tree and data, not the specs
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, plan: ParsedPlan | None = None):
        if "spec" in dct or plan is None:
            return super().from_dict(dct)
        spec, subprocess_specs = private_specs(plan)
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


_registry = BpmnWorkflowSerializer.configure({**SERIALIZER_CONFIG, BpmnWorkflow: _WorkflowConverter})
_serializer = BpmnWorkflowSerializer(_registry)
registry = _registry  # for SpiffWorkflow's diff and migration helpers

_spec_texts: dict[int, tuple[object, str, dict]] = {}
_spec_texts_lock = threading.Lock()


def _serialized_specs(plan: ParsedPlan) -> tuple[str, dict]:
    """The plan's specs as JSON text and as a dict, computed once per parsed spec object."""
    key = id(plan.spec)
    with _spec_texts_lock:
        cached = _spec_texts.get(key)
    if cached is not None and cached[0] is plan.spec:
        return cached[1], cached[2]
    pristine = {"spec": _registry.convert(plan.spec),
                "subprocess_specs": {name: _registry.convert(spec) for name, spec in plan.subprocess_specs.items()}}
    text = json.dumps(pristine)
    pristine = json.loads(text)   # exactly what a stored state holds
    with _spec_texts_lock:
        if len(_spec_texts) > 256:
            _spec_texts.clear()
        _spec_texts[key] = (plan.spec, text, pristine)
    return text, pristine


def private_specs(plan: ParsedPlan) -> tuple[object, dict]:
    """A copy of the plan's process spec and subprocess specs that only one workflow will use."""
    dct = json.loads(_serialized_specs(plan)[0])
    spec = _registry.restore(dct["spec"])
    subprocess_specs = {name: _registry.restore(value) for name, value in dct["subprocess_specs"].items()}
    _adjust(spec, subprocess_specs)
    return spec, subprocess_specs


def _adjust(spec, subprocess_specs: dict) -> None:
    """Re-apply what parsing adds beyond SpiffWorkflow's serialization (strict decision tables)."""
    make_decisions_strict([spec, *subprocess_specs.values()])
    for process in [spec, *subprocess_specs.values()]:
        for task_spec in process.task_specs.values():
            if isinstance(task_spec, LoopTask):   # an instance created before a reload must still merge
                child = process.task_specs.get(task_spec.task_spec)
                if child is not None and not child.completed_event.is_connected(task_spec.merge_child):
                    child.completed_event.connect(task_spec.merge_child)


_SPEC_EVENTS = ("entered_event", "reached_event", "ready_event", "completed_event", "cancelled_event",
                "finished_event")


def _spec_shape(workflow: BpmnWorkflow) -> list:
    """What SpiffWorkflow's rewiring changes in a workflow's specs: every task spec's attributes, connections
    and subscribers, as a flat list of the objects themselves.

    Shapes are compared by identity (`_same_shape`), so a spec or connection replaced by an
    equal-looking one still counts as a change (and the specs are then compared in full).
    Holding the objects, not their ids, means no id can be reused by a new object meanwhile.
    """
    shape = [*workflow.subprocess_specs]
    for process in (workflow.spec, *workflow.subprocess_specs.values()):
        shape.append(process)
        for task_spec in process.task_specs.values():
            attributes = vars(task_spec)   # an attribute set at run time (Camunda multi-instance does) shows
            shape += (task_spec, len(attributes), *attributes, *attributes.values(), len(task_spec.outputs),
                      *task_spec.outputs, *task_spec.inputs)
            for name in _SPEC_EVENTS:
                event = attributes.get(name)
                if event is not None:
                    shape += (len(event.weak_subscribers or ()), len(event.hard_subscribers or ()))
    return shape


def _same_shape(shape: list, other: list) -> bool:
    """Whether two shapes hold the very same objects; a false "changed" only costs a full comparison."""
    return len(shape) == len(other) and all(map(operator.is_, shape, other))


def _remember_pristine(workflow: BpmnWorkflow) -> BpmnWorkflow:
    setattr(workflow, _PRISTINE_SHAPE, _spec_shape(workflow))
    return workflow


def new_workflow(plan: ParsedPlan, script_engine) -> BpmnWorkflow:
    spec, subprocess_specs = private_specs(plan)
    return _remember_pristine(BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine))


def _specs_equal_plan(state: dict, plan: ParsedPlan) -> bool:
    pristine = _serialized_specs(plan)[1]
    return json.loads(json.dumps(state["spec"])) == pristine["spec"] and \
        json.loads(json.dumps(state["subprocess_specs"])) == pristine["subprocess_specs"]


def dump(workflow: BpmnWorkflow, plan: ParsedPlan | None = None) -> dict:
    """The workflow's state; without its specs when they are still exactly `plan`'s."""
    pristine_shape = getattr(workflow, _PRISTINE_SHAPE, None)
    if plan is not None and pristine_shape is not None and _same_shape(_spec_shape(workflow), pristine_shape):
        setattr(workflow, _OMIT_SPECS, True)
        try:
            state = _serializer.to_dict(workflow)
        finally:
            setattr(workflow, _OMIT_SPECS, False)
        if workflow_cache.verifying() and not _specs_equal_plan(_serializer.to_dict(workflow), plan):
            raise CaseEngineError("the workflow's specs changed in a way their shape did not show; "
                                  "they would have been stored as the plan's (a PlanFlow defect)")
        return state
    state = _serializer.to_dict(workflow)
    if plan is not None and pristine_shape is not None and _specs_equal_plan(state, plan):
        del state["spec"], state["subprocess_specs"]
        return state
    setattr(workflow, _PRISTINE_SHAPE, None)   # rewired for good: its specs are stored from now on
    return state


def restore(state: dict, plan: ParsedPlan, script_engine) -> BpmnWorkflow:
    pristine = "spec" not in state
    workflow = _serializer.from_dict(state, plan=plan)
    _adjust(workflow.spec, workflow.subprocess_specs)
    workflow.script_engine = script_engine
    return _remember_pristine(workflow) if pristine else workflow


def load(case: Case, plan: ParsedPlan, script_engine, reuse: bool = False) -> BpmnWorkflow:
    """The case's workflow, refusing state written by a newer serializer (reading it would lose data).

    With `reuse`, the workflow object saved as exactly the stored state is taken from the
    in-memory cache when this process has it; the caller then owns it (it is not shared).
    """
    if _version_key(case.serializer_version) > _version_key(SERIALIZER_VERSION):
        raise CaseEngineError(f"case {case.number} was saved by serializer {case.serializer_version} "
                              f"(SpiffWorkflow {case.library_version}); this installation has "
                              f"{SERIALIZER_VERSION} and must not read it — upgrade PlanFlow")
    state = case.workflow_state or {}
    if reuse:
        cached = workflow_cache.cache.take(state.get(workflow_cache.TOKEN_KEY))
        if cached is not None:
            cached.script_engine = script_engine
            if workflow_cache.verifying():
                _check_same(cached, case, plan, script_engine)
            return cached
    try:
        return restore(json.loads(json.dumps(state)), plan, script_engine)
    except CaseEngineError:
        raise
    except Exception as exc:  # noqa: BLE001 — a state that cannot be read is an incident, not a traceback
        raise CaseEngineError(f"the stored state of case {case.number} cannot be read: "
                              f"{type(exc).__name__}: {exc}") from exc


def _check_same(cached: BpmnWorkflow, case: Case, plan: ParsedPlan, script_engine) -> None:
    restored = restore(json.loads(json.dumps(case.workflow_state)), plan, script_engine)
    if json.dumps(_serializer.to_dict(cached), sort_keys=True, default=str) != \
            json.dumps(_serializer.to_dict(restored), sort_keys=True, default=str):
        raise CaseEngineError(f"case {case.number}: the cached workflow differs from its stored state "
                              "(a PlanFlow defect)")


def save(case: Case, workflow: BpmnWorkflow, plan: ParsedPlan) -> None:
    state = dump(workflow, plan)
    token = uuid.uuid4().hex
    state[workflow_cache.TOKEN_KEY] = token
    case.workflow_state = state
    case.serializer_version = SERIALIZER_VERSION
    case.library_version = LIBRARY_VERSION
    workflow_cache.cache.keep_after_commit(object_session(case), token, workflow)


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())

"""Keep a long-running case's state flat: finished history above the live part of its task tree is dropped.

SpiffWorkflow never forgets a task: every round of a loop (a compensation rejected and
proposed again, a complainant who keeps replying) hangs another chain of finished tasks
under the last one, so the stored state and every step's cost grow with the case's age.
Nothing the engine still does looks above the deepest task that every unfinished task,
every branch still waiting at a join, and the parents of both descend from (joins,
boundary events and gateways look at their own round, below it), so once enough
finished tasks lie above that point they are dropped and the point is hung directly
under the root. The audit trail keeps the history; the elements the
dropped tasks completed are remembered in the workflow's own data, so the case's path
on the diagram still shows them.

Pruning runs after the step's rows are synced (they may still name this step's tasks)
and only when at least PLANFLOW_PRUNE_AFTER finished tasks (default 32) can go, so a
case without loops is never touched.
"""
from __future__ import annotations

import os

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.specs.Join import Join
from SpiffWorkflow.util.task import TaskState

PRUNED_DONE_KEY = "planflow_pruned_done"   # workflow-level data, not case data


def threshold() -> int:
    return int(os.environ.get("PLANFLOW_PRUNE_AFTER", "32"))


def prune(workflow: BpmnWorkflow, at_least: int | None = None) -> int:
    """Drop the finished tasks above the live part of the tree; return how many went (0 if none may)."""
    at_least = threshold() if at_least is None else at_least
    if at_least <= 0:
        return 0
    root = workflow.task_tree
    unfinished = [task for task in workflow.tasks.values() if not task.has_state(TaskState.FINISHED_MASK)]
    if not unfinished:
        return 0   # a completed case keeps what it has
    # A join counts the branches that reached it by its cancelled instances (only the latest arrival
    # waits) and merges their parents' data when it fires: those arrivals stay, and with every task
    # that stays, its parent (joins and gateways read it).
    arrivals = [task for task in workflow.tasks.values()
                if task.state == TaskState.CANCELLED and isinstance(task.task_spec, Join)]
    anchors = unfinished + arrivals
    anchors += [task.parent for task in anchors if task.parent is not None]
    cut = _deepest_common_ancestor(anchors)
    if cut is None or cut is root or cut.parent is root or cut.state != TaskState.COMPLETED:
        return 0
    kept = {task.id for task in _subtree(cut)} | {root.id}
    dropped = [task for task in workflow.tasks.values() if task.id not in kept]
    if len(dropped) < at_least or any(t.state not in (TaskState.COMPLETED, TaskState.CANCELLED) for t in dropped):
        return 0
    done = set(workflow.data.get(PRUNED_DONE_KEY, []))
    done |= {task.task_spec.bpmn_id for task in dropped
             if task.state == TaskState.COMPLETED and getattr(task.task_spec, "bpmn_id", None)}
    workflow.data[PRUNED_DONE_KEY] = sorted(done)
    dropped_ids = {task.id for task in dropped}
    for task_id in dropped_ids:
        del workflow.tasks[task_id]
    _drop_subprocesses(workflow, dropped_ids)
    root._children = [cut.id]
    cut._parent = root.id
    if workflow.last_task is not None and workflow.last_task.id in dropped_ids:
        workflow.last_task = cut
    return len(dropped)


def pruned_done(workflow: BpmnWorkflow) -> set[str]:
    """Elements completed by tasks that pruning dropped."""
    return set(workflow.data.get(PRUNED_DONE_KEY, []))


def _ancestry(task) -> list:
    path = []
    while task is not None:
        path.append(task)
        task = task.parent
    return path[::-1]


def _deepest_common_ancestor(tasks):
    common = None
    for task in tasks:
        path = _ancestry(task)
        if common is None:
            common = path
            continue
        length = 0
        for mine, theirs in zip(common, path):
            if mine is not theirs:
                break
            length += 1
        common = common[:length]
    # the common path may end at an unfinished task itself; the cut is its deepest finished member
    while common and not common[-1].has_state(TaskState.FINISHED_MASK):
        common.pop()
    return common[-1] if common else None


def _subtree(task):
    stack = [task]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(current.children)


def _drop_subprocesses(workflow: BpmnWorkflow, dropped_ids: set) -> None:
    """Subprocess and call-activity runs started by dropped tasks (and the runs nested in them) go too."""
    gone = {key for key in workflow.subprocesses if key in dropped_ids}
    changed = True
    while changed:
        changed = False
        for key, subprocess in workflow.subprocesses.items():
            if key not in gone and any(subprocess.parent_workflow is workflow.subprocesses[g] for g in gone):
                gone.add(key)
                changed = True
    for key in gone:
        del workflow.subprocesses[key]

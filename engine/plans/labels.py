"""Words for a plan version's codes: element names, form field labels and option labels, in either language.

Records shown to people (compliance timeline, heatmap, monthly report, CSV label columns)
use these instead of element ids and form keys. A version never changes, so its labels
are built once per process.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

from engine.cases.rows import english_name
from engine.models import PlanVersion
from engine.plans.bpmn import BPMN_NS
from engine.views.workspace import field_label, form_fields, option_label


@dataclass
class PlanLabels:
    """The labels of one plan version."""

    name: str
    name_en: str | None
    elements: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # id -> (name, English name)
    fields: dict[str, dict] = field(default_factory=dict)  # form field key -> its first form component

    def plan(self, english: bool) -> str:
        return (self.name_en or self.name) if english else self.name

    def element(self, element_id: str | None, english: bool) -> str:
        """The element's name (its id when it has none)."""
        if not element_id:
            return ""
        name, name_en = self.elements.get(element_id, (element_id, None))
        return (name_en or name) if english else name

    def field(self, key: str, english: bool) -> str:
        component = self.fields.get(key)
        return field_label(component, english) if component else key

    def value(self, key: str, value, english: bool):
        """An answer as people read it: an option by its label; other values as they are."""
        component = self.fields.get(key)
        if component and component.get("values") and isinstance(value, (str, int, float)) \
                and not isinstance(value, bool):
            return option_label(component, value, english)
        return value


def labels_for(version: PlanVersion) -> PlanLabels:
    """The labels of a version, built once per process."""
    # Keyed by content, not row id: ids repeat across databases (a test run, a restored backup).
    key = (version.plan_key, version.content_hash)
    with _lock:
        found = _cache.get(key)
    if found is None:
        found = _build(version)
        with _lock:
            _cache[key] = found
    return found


_cache: dict[tuple[str, str], PlanLabels] = {}
_lock = threading.Lock()


def _build(version: PlanVersion) -> PlanLabels:
    from engine.plans.versions import spec_cache

    plan = spec_cache.get(version)
    labels = PlanLabels(version.name or version.plan_key, _process_english_name(plan.root, version.plan_key))
    for spec in _all_specs(plan):
        bpmn_id = getattr(spec, "bpmn_id", None)
        if bpmn_id and bpmn_id not in labels.elements:
            labels.elements[bpmn_id] = (getattr(spec, "bpmn_name", None) or bpmn_id, english_name(spec))
    for form in version.forms.values():
        for component in form_fields(form.get("components") or []):
            labels.fields.setdefault(component["key"], component)
    return labels


def _all_specs(plan):
    yield from plan.spec.task_specs.values()
    for sub in (plan.subprocess_specs or {}).values():
        yield from sub.task_specs.values()


def _process_english_name(root, plan_key: str) -> str | None:
    """The first sentence of the process's `en: …` documentation line, e.g. 'Complaint intake emergency response plan'."""
    for process in root.iter(f"{{{BPMN_NS}}}process"):
        if process.get("id") != plan_key:
            continue
        for doc in process.findall(f"{{{BPMN_NS}}}documentation"):
            for line in (doc.text or "").splitlines():
                if line.strip().lower().startswith("en:"):
                    text = line.strip()[3:].strip()
                    for stop in (" (", ". ", ": "):
                        text = text.split(stop)[0]
                    return text.rstrip(".") or None
    return None

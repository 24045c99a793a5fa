"""What changed between two BPMN documents, element by element (ids are the identity)."""
from __future__ import annotations

from lxml import etree

from engine.bpmn import BPMN_NS, read_xml

# Elements whose change matters to a case; diagram layout (BPMNDI) is not a change of the plan.
_IGNORED = {"definitions", "laneSet", "extensionElements", "documentation", "incoming", "outgoing",
            "flowNodeRef", "collaboration"}


def _elements(xml: str) -> dict[str, tuple[str, str, bytes]]:
    """The flow elements, lanes and processes by id; a process or lane compares by its own attributes."""
    root = read_xml(xml, "diff.bpmn")
    found = {}
    for process in root.findall(f"{{{BPMN_NS}}}process"):
        found[process.get("id")] = ("process", process.get("name") or "", _attributes(process))
        for lane in process.iter(f"{{{BPMN_NS}}}lane"):
            found[lane.get("id")] = ("lane", lane.get("name") or "", _attributes(lane))
        for node in process:
            kind = etree.QName(node).localname if isinstance(node.tag, str) else ""
            if node.get("id") and kind not in _IGNORED:
                found[node.get("id")] = (kind, node.get("name") or "", _content(node))
    return found


def _attributes(node) -> bytes:
    return repr(sorted(node.attrib.items())).encode("utf-8")


def _content(node) -> bytes:
    """The element's meaning: attributes and nested definitions, without layout and back-references."""
    copy = etree.fromstring(etree.tostring(node))
    for child in list(copy):
        if etree.QName(child).localname in ("incoming", "outgoing", "flowNodeRef"):
            copy.remove(child)
    return etree.tostring(copy, method="c14n")


def diff_bpmn(old_xml: str, new_xml: str) -> dict[str, list[dict]]:
    """Elements added, removed and changed from `old_xml` to `new_xml` ({id, name, type} each)."""
    old, new = _elements(old_xml), _elements(new_xml)

    def item(element_id, entry):
        kind, name, _ = entry
        return {"id": element_id, "name": name, "type": kind}
    return {
        "added": [item(i, new[i]) for i in new if i not in old],
        "removed": [item(i, old[i]) for i in old if i not in new],
        "changed": [item(i, new[i]) for i in new if i in old and old[i] != new[i]],
    }

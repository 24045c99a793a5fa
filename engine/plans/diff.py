"""What changed between two BPMN documents, element by element (ids are the identity)."""
from __future__ import annotations

from lxml import etree

from engine.plans.bpmn import BPMN_NS, read_xml

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
    return repr(sorted((k, v) for k, v in node.attrib.items()
                       if _DEFAULTS.get(etree.QName(k).localname) != v)).encode("utf-8")


# BPMN's default attribute values: a modeler may write them or leave them out, the meaning is the same.
_DEFAULTS = {"cancelActivity": "true", "isInterrupting": "true", "parallelMultiple": "false",
             "isForCompensation": "false", "startQuantity": "1", "completionQuantity": "1", "isImmediate": "false",
             "instantiate": "false", "gatewayDirection": "Unspecified", "eventGatewayType": "Exclusive",
             "isSequential": "false", "implementation": "##unspecified", "isExecutable": "true",
             "isClosed": "false", "processType": "None", "method": "##unspecified", "behavior": "All",
             "triggeredByEvent": "false", "isCollection": "false"}


def _content(node) -> bytes:
    """The element's meaning: attributes and nested definitions, without layout and back-references,
    default attribute values, whitespace between elements, or the order of attributes and children."""
    return _canonical(node).encode("utf-8")


def _canonical(node) -> str:
    if not isinstance(node.tag, str):  # comments and processing instructions carry no meaning
        return ""
    attributes = sorted((key, value) for key, value in node.attrib.items()
                        if _DEFAULTS.get(etree.QName(key).localname) != value)
    children = sorted(_canonical(child) for child in node
                      if isinstance(child.tag, str)
                      and etree.QName(child).localname not in ("incoming", "outgoing", "flowNodeRef"))
    text = (node.text or "").strip()
    return f"<{node.tag} {attributes!r} {text!r}>" + "".join(children) + "</>"


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

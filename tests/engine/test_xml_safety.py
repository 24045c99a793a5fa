"""Plan files never carry a DOCTYPE, wherever in the file it hides."""
from __future__ import annotations

import pytest

from engine.plans.bpmn import XmlRejected, read_xml

BODY = '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"/>'


@pytest.mark.parametrize("prolog", [
    "<!-- " + "x" * 5000 + " -->\n<!DOCTYPE definitions>",
    "<!-- " + "x" * 5000 + " -->\n<!doctype definitions>",
    "<?xml version='1.0'?>\n" + "\n" * 5000 + "<!DOCTYPE definitions SYSTEM 'http://evil.example/x.dtd'>",
])
def test_a_doctype_after_the_first_4_kb_is_refused(prolog):
    with pytest.raises(XmlRejected, match="DOCTYPE"):
        read_xml(prolog + "\n" + BODY, "late.bpmn")


def test_a_doctype_in_utf16_is_refused():
    with pytest.raises(XmlRejected, match="DOCTYPE"):
        read_xml(("<?xml version='1.0' encoding='UTF-16'?><!DOCTYPE definitions>" + BODY).encode("utf-16"), "w.bpmn")


def test_a_plain_plan_file_with_a_long_comment_is_read():
    assert read_xml("<!-- " + "x" * 5000 + " -->\n" + BODY, "ok.bpmn").tag.endswith("definitions")

"""The version page lists what changed as text beside the diagram, with a legend."""
from __future__ import annotations

from engine.plans import drafts
from engine.plans import versions as plans


def test_the_version_page_lists_the_renamed_task_only(login, web_desk):
    xml = web_desk.do(lambda s: plans.current_version(s, "general_complaint").bpmn_xml)
    # As bpmn-js writes it back: one task renamed, default attributes dropped everywhere.
    edited = xml.replace('name="首次联系与分级"', 'name="首次联系与分级（新）"', 1).replace(' cancelActivity="true"', "")
    web_desk.do(drafts.deploy_draft, "general_complaint", edited, 0, "process_owner1", web_desk.now)
    page = login("process_owner").get("/plans/general_complaint/versions/2?compare=1").get_data(as_text=True)
    listed = page[page.index('id="pf-diff-list"'):].split("</ul>", 1)[0]
    assert listed.count("<li") == 1 and 'data-element="Task_FirstContact"' in listed
    assert "首次联系与分级（新）" in listed and "<strong>修改</strong>" in listed
    assert 'id="pf-diff-legend"' in page


def test_a_refused_upload_lists_problems_by_element_on_a_page_to_upload_again(login, web_desk):
    from tests.samples import one_task_plan
    client = login("process_owner")
    response = client.post("/plans/upload", content_type="multipart/form-data", data={
        "note": "tighter deadline", "files": [(__import__("io").BytesIO(one_task_plan(timer="P3X").encode()),
                                                "mini.bpmn")]})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert '<tr data-element="Timer_Deadline">' in page and "<code>Timer_Deadline</code>" in page
    assert 'id="upload-again"' in page and 'value="tighter deadline"' in page

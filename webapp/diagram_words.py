"""bpmn-js's own words (palette, context pad, properties panel) in the page's language.

bpmn-js translates through a `translate` service: the modeler page hands it this dictionary
(English template → the user's language; empty on English pages). Words left out stay English.
"""
from __future__ import annotations

from flask_babel import gettext as _

from webapp.i18n import english

def diagram_words() -> dict[str, str]:
    """English template → the page's language, for bpmn-js's translate service."""
    if english():
        return {}
    words = {
        # Palette and context pad
        "Activate create/remove space tool": _("Create or remove space"),
        "Activate global connect tool": _("Connect elements"), "Activate hand tool": _("Move the canvas"),
        "Activate lasso tool": _("Select several elements"), "Add lane above": _("Add a lane above"),
        "Add lane below": _("Add a lane below"), "Add text annotation": _("Add a text annotation"),
        "Append end event": _("Append an end event"), "Append gateway": _("Append a gateway"),
        "Append intermediate/boundary event": _("Append an intermediate event"),
        "Append message intermediate catch event": _("Append a message catch event"),
        "Append receive task": _("Append a receive task"), "Append task": _("Append a task"),
        "Append timer intermediate catch event": _("Append a timer catch event"),
        "Change element": _("Change the element type"), "Connect to other element": _("Connect to another element"),
        "Connect using association": _("Connect with an association"),
        "Create data object reference": _("Create a data object"), "Create data store reference": _("Create a data store"),
        "Create end event": _("Create an end event"), "Create expanded sub-process": _("Create a subprocess"),
        "Create gateway": _("Create a gateway"), "Create group": _("Create a group"),
        "Create intermediate/boundary event": _("Create an intermediate or boundary event"),
        "Create pool/participant": _("Create a pool"), "Create start event": _("Create a start event"),
        "Create task": _("Create a task"), "Delete": _("Delete"), "Divide into three lanes": _("Divide into three lanes"),
        "Divide into two lanes": _("Divide into two lanes"),
        # Properties panel
        "General": _("General"), "Name": _("Name"), "ID": _("ID"), "Documentation": _("Documentation"),
        "Element documentation": _("Element documentation"), "Process documentation": _("Process documentation"),
        "Process name": _("Process name"), "Process ID": _("Process ID"), "Executable": _("Executable"),
        "Version tag": _("Version tag"), "Form": _("Form"), "Forms": _("Forms"), "Form key": _("Form key"),
        "Form reference": _("Form reference"), "Form fields": _("Form fields"), "Timer": _("Timer"), "Type": _("Type"),
        "Value": _("Value"), "Date": _("Date"), "Duration": _("Duration"), "Cycle": _("Cycle"),
        "Condition": _("Condition"), "Condition expression": _("Condition expression"),
        "Condition Expression": _("Condition expression"), "Expression": _("Expression"), "Script": _("Script"),
        "Inline script": _("Inline script"), "Format": _("Format"), "Resource": _("Resource"),
        "Result variable": _("Result variable"), "Implementation": _("Implementation"), "Inputs": _("Inputs"),
        "Outputs": _("Outputs"), "Extension properties": _("Extension properties"),
        "Execution listeners": _("Execution listeners"), "Task listeners": _("Task listeners"),
        "Asynchronous continuations": _("Asynchronous continuations"), "Asynchronous before": _("Asynchronous before"),
        "Asynchronous after": _("Asynchronous after"), "Job execution": _("Job execution"),
        "Multi-instance": _("Multi-instance"), "Loop cardinality": _("Loop cardinality"), "Collection": _("Collection"),
        "Element variable": _("Element variable"), "Completion condition": _("Completion condition"),
        "Assignment": _("Assignment"), "Assignee": _("Assignee"), "Candidate groups": _("Candidate groups"),
        "Candidate users": _("Candidate users"), "Due date": _("Due date"), "Follow up date": _("Follow-up date"),
        "Priority": _("Priority"), "Called element": _("Called element"), "Message": _("Message"), "Error": _("Error"),
        "Escalation": _("Escalation"), "Link": _("Link"), "Global message reference": _("Message reference"),
        "Global error reference": _("Error reference"), "Global escalation reference": _("Escalation reference"),
        "Create new ...": _("Create new…"), "<none>": _("<none>"), "Properties": _("Properties"), "Key": _("Key"),
        "Label": _("Label"), "Decision reference": _("Decision reference"), "Called decision": _("Called decision"),
        "Binding": _("Binding"), "Local": _("Local"), "List": _("List"), "Map": _("Map"), "Retries": _("Retries"),
        "Exclusive": _("Exclusive"), "User assignment": _("User assignment"),
        "Generated Task Forms": _("Generated task forms"),
        "Embedded or External Task Forms": _("Embedded or external task forms"), "Camunda Forms": _("Camunda forms"),
        "Issues for child elements": _("Issues in contained elements"),
        "Toggle linting overlays": _("Show or hide the check markers"),
    }
    return {english_text: text for english_text, text in words.items() if text != english_text}

"""The editors' own words (bpmn-js modeler, dmn-js table editor, form-js editor) in the page's language.

Each editor writes its interface in English. The page hands its script a dictionary from the
editor's English template (as the editor writes it, `{name}` placeholders included) to the user's
language; English pages get an empty one. bpmn-js (with its properties panel and bpmnlint) and
dmn-js look words up through their `translate` service; the form-js editor has no such service,
so the page's script puts the words in place as they appear. The translations live in the
catalogue (webapp/translations, msgctxt = the editor) so one file holds every word of the product.
"""
from __future__ import annotations

from flask_babel import get_locale, pgettext

from webapp.i18n import english


def diagram_words() -> dict[str, str]:
    """bpmn-js, diagram-js, the properties panel and bpmnlint's messages."""
    return _words("bpmn-js", BPMN_JS)


def decision_words() -> dict[str, str]:
    """dmn-js's decision-table editor (and the requirements diagram it may show)."""
    return _words("dmn-js", DMN_JS)


def viewer_words() -> dict[str, str]:
    """A read-only bpmn-js diagram's own words: only the bpmn.io logo's hover text."""
    return _words("bpmn-js", ("Powered by bpmn.io",))


def form_editor_words() -> dict[str, str]:
    """The form-js editor's palette, properties panel and canvas chrome."""
    return _words("form-js", FORM_JS)


def date_picker_words() -> dict:
    """flatpickr's calendar inside the form-js viewer (task and registration forms).

    form-js opens flatpickr with its English defaults and offers no locale option, so the page hands
    webapp/static/planflow-form.js the settings to give each calendar once it exists: a flatpickr
    `locale` (month and weekday names and the first day of the week from the language's CLDR data,
    the aria labels from the catalogue), the days' aria date format, and the letters of the date and
    time placeholders form-js writes ("yyyy/mm/dd" in the browser's order, "hh:mm"; "mm" is the month
    in one and the minutes in the other). English pages get {}.
    """
    if english():
        return {}
    locale = get_locale()
    months, days = locale.months["format"], locale.days["format"]
    sunday_first = [6, 0, 1, 2, 3, 4, 5]  # CLDR counts days from Monday, flatpickr from Sunday
    return {
        "locale": {
            "months": {"longhand": [months["wide"][m] for m in range(1, 13)],
                       "shorthand": [months["abbreviated"][m] for m in range(1, 13)]},
            "weekdays": {"longhand": [days["wide"][d] for d in sunday_first],
                         "shorthand": [days["abbreviated"][d] for d in sunday_first]},
            "firstDayOfWeek": (locale.first_week_day + 1) % 7,
            "monthAriaLabel": pgettext("flatpickr", "Month"), "yearAriaLabel": pgettext("flatpickr", "Year"),
            "hourAriaLabel": pgettext("flatpickr", "Hour"), "minuteAriaLabel": pgettext("flatpickr", "Minute"),
            "rangeSeparator": pgettext("flatpickr", " to "), "weekAbbreviation": pgettext("flatpickr", "Wk"),
            "scrollTitle": pgettext("flatpickr", "Scroll to increment"),
            "toggleTitle": pgettext("flatpickr", "Click to toggle"),
        },
        "ariaDateFormat": pgettext("flatpickr", "F j, Y"),
        "datePlaceholder": {letters: pgettext("date placeholder", letters) for letters in ("yyyy", "mm", "dd")},
        "timePlaceholder": {letters: pgettext("time placeholder", letters) for letters in ("hh", "mm")},
    }


def _words(context: str, templates: tuple[str, ...]) -> dict[str, str]:
    if english():
        return {}
    words = {template: pgettext(context, template) for template in templates}
    return {template: text for template, text in words.items() if text != template}


# --- templates (English, as the widgets write them) ---
BPMN_JS = (
    "Align elements", "Delete", "Add lane above", "Divide into two lanes", "Divide into three lanes",
    "Add lane below", "Append receive task", "Append message intermediate catch event",
    "Append timer intermediate catch event", "Append conditional intermediate catch event",
    "Append signal intermediate catch event", "Append compensation activity", "Append end event", "Append gateway",
    "Append task", "Append intermediate/boundary event", "Change element", "Add text annotation",
    "Connect to other element", "Connect using association", "Connect using data input association",
    "Distribute elements horizontally", "Distribute elements vertically", "Open {element}", "Activate hand tool",
    "Activate lasso tool", "Activate create/remove space tool", "Activate global connect tool", "Create start event",
    "Create intermediate/boundary event", "Create end event", "Create gateway", "Create task",
    "Create data object reference", "Create data store reference", "Create expanded sub-process",
    "Create pool/participant", "Create group", "Parallel multi-instance", "Sequential multi-instance", "Loop",
    "Collection", "Participant multiplicity", "Toggle non-interrupting", "Search in diagram", "Align elements left",
    "Align elements center", "Align elements right", "Align elements top", "Align elements middle",
    "Align elements bottom", "Sub-process", "Transaction", "Event sub-process", "Ad-hoc sub-process (collapsed)",
    "Message boundary event", "Timer boundary event", "Escalation boundary event", "Conditional boundary event",
    "Error boundary event", "Cancel boundary event", "Signal boundary event", "Compensation boundary event",
    "Message boundary event (non-interrupting)", "Timer boundary event (non-interrupting)",
    "Escalation boundary event (non-interrupting)", "Conditional boundary event (non-interrupting)",
    "Signal boundary event (non-interrupting)", "Data store reference", "Data object reference", "Start event",
    "Intermediate throw event", "End event", "Message end event", "Escalation end event", "Error end event",
    "Cancel end event", "Compensation end event", "Signal end event", "Terminate end event", "Ad-hoc sub-process",
    "Message start event", "Timer start event", "Conditional start event", "Signal start event", "Error start event",
    "Escalation start event", "Compensation start event", "Message start event (non-interrupting)",
    "Timer start event (non-interrupting)", "Conditional start event (non-interrupting)",
    "Signal start event (non-interrupting)", "Escalation start event (non-interrupting)", "Exclusive gateway",
    "Parallel gateway", "Inclusive gateway", "Complex gateway", "Event-based gateway",
    "Message intermediate catch event", "Message intermediate throw event", "Timer intermediate catch event",
    "Escalation intermediate throw event", "Conditional intermediate catch event", "Link intermediate catch event",
    "Link intermediate throw event", "Compensation intermediate throw event", "Signal intermediate catch event",
    "Signal intermediate throw event", "Expanded pool/participant", "Empty pool/participant", "Sequence flow",
    "Default flow", "Conditional flow", "Sub-process (collapsed)", "Sub-process (expanded)",
    "Ad-hoc sub-process (expanded)", "Event based instantiating Gateway",
    "Parallel Event based instantiating Gateway", "Task", "User task", "Service task", "Send task", "Receive task",
    "Manual task", "Business rule task", "Script task", "Call activity", "Process", "Collaboration", "Participant",
    "Lane", "User Task", "Service Task", "Script Task", "Business Rule Task", "Send Task", "Receive Task",
    "Manual Task", "Call Activity", "Collapsed Sub Process", "Expanded Sub Process", "Collapsed Ad Hoc Sub Process",
    "Expanded Ad Hoc Sub Process", "Event Sub Process", "Start Event", "Message Start Event", "Timer Start Event",
    "Conditional Start Event", "Signal Start Event", "Error Start Event", "Escalation Start Event",
    "Compensate Start Event", "Message Start Event (Non Interrupting)", "Timer Start Event (Non Interrupting)",
    "Conditional Start Event (Non Interrupting)", "Signal Start Event (Non Interrupting)",
    "Escalation Start Event (Non Interrupting)", "End Event", "Message End Event", "Error End Event",
    "Escalation End Event", "Signal End Event", "Terminate End Event", "Compensate End Event", "Cancel End Event",
    "Intermediate Throw Event", "Intermediate Catch Event", "Message Intermediate Catch Event",
    "Message Intermediate Throw Event", "Timer Intermediate Catch Event", "Signal Intermediate Catch Event",
    "Signal Intermediate Throw Event", "Conditional Intermediate Catch Event", "Link Intermediate Catch Event",
    "Link Intermediate Throw Event", "Escalation Intermediate Throw Event", "Compensate Intermediate Throw Event",
    "Boundary Event", "Timer Boundary Event", "Message Boundary Event", "Error Boundary Event",
    "Escalation Boundary Event", "Signal Boundary Event", "Conditional Boundary Event", "Compensate Boundary Event",
    "Cancel Boundary Event", "Timer Boundary Event (Non Interrupting)", "Message Boundary Event (Non Interrupting)",
    "Escalation Boundary Event (Non Interrupting)", "Signal Boundary Event (Non Interrupting)",
    "Conditional Boundary Event (Non Interrupting)", "Exclusive Gateway", "Parallel Gateway", "Inclusive Gateway",
    "Complex Gateway", "Event Based Gateway", "Sequence Flow", "Default Flow", "Conditional Flow", "Message Flow",
    "Association", "Data Object Reference", "Data Store Reference", "Data Input Association",
    "Data Output Association", "Text Annotation", "Group", "Issues for child elements", "Toggle linting overlays",
    "{errors} Errors, {warnings} Warnings", "No Issues", "A <Start Event> is not allowed in <Ad Hoc Sub Process>",
    "An <End Event> is not allowed in <Ad Hoc Sub Process>", "Conditional event is missing a condition",
    "Sequence flow is missing condition", "Process is missing end event", "Sub process is missing end event",
    "Process is missing start event", "Sub process is missing start event",
    "Process has multiple blank start events", "Sub process has multiple blank start events",
    "An <Event-based Gateway> must have at least 2 outgoing <Sequence Flows>",
    "A <Sequence Flow> outgoing from an <Event-based Gateway> must not be conditional",
    "Start event is missing event definition", "Incoming flows do not join", "Element is missing name",
    "Element is unused", "Element name is not unique", "Element type <bpmn:ComplexGateway> is discouraged",
    "Element type <bpmn:InclusiveGateway> is discouraged", "Element is missing label/name",
    "Link event is missing link name", "Link catch event with link name <{name}> missing in scope",
    "Link throw event with link name <{name}> missing in scope",
    "Duplicate link catch event with link name <{name}> in scope", "Element is missing bpmndi",
    "Element is not connected", "SequenceFlow is a duplicate", "Duplicate outgoing sequence flows",
    "Duplicate incoming sequence flows", "Gateway forks and joins", "Element is an implicit end",
    "Flow splits implicitly", "Element is an implicit start", "Element overlaps with other element",
    "Element is outside of parent boundary", "Event has multiple event definitions", "Start event must be blank",
    "Gateway is superfluous. It only has one source and target.", "Sequence flow has superfluous label",
    "Termination is superfluous.", "Select an element to edit its properties.",
    "Multiple elements are selected. Select a single element to edit its properties.", "Completion condition",
    "Cancel remaining instances", "Wait for completion", "<none>", "Activity reference", "Element documentation",
    "Process documentation", "Create new ...", "Global error reference", "Name", "Code",
    "Global escalation reference", "Executable", "ID must not be empty.", "ID must be unique.",
    "ID must not contain spaces.", "ID must not contain prefix.", "ID must be a valid QName.",
    "Global message reference", "Loop cardinality", "Participant Name", "Process name", "Process ID",
    "Global signal reference", "Date", "Duration", "Cycle", "Type", "Value",
    "A specific point in time defined as ISO 8601 combined date and time representation.", "UTC time",
    "UTC plus 2 hours zone offset", "Documentation: Timer events",
    "A cycle defined as ISO 8601 repeating intervals format.", "every 10 seconds, up to 5 times",
    "every day, infinitely", "A time duration defined as ISO 8601 durations format.", "15 seconds",
    "1 hour and 30 minutes", "14 days", "General", "Compensation", "Documentation", "Error", "Message", "Signal",
    "Link", "Escalation", "Timer", "Multi-instance", "Completion", "Implementation type", "Assignee",
    "Candidate groups", "Candidate users", "Implementation", "latest", "deployment", "version tag", "version",
    "Binding", "Version tag", "Result variable", "Condition expression", "Variable names", "Create", "Update",
    "Variable events", "Listener type", "Retries", "Event type", "{eventType}: {type}", "Key", "Priority",
    "Due date", "Follow up date", "Called decision", "Script", "Condition", "Form", "Called element", "Assignment",
    "Execution listeners", "Task listeners", "Extension properties", "Before", "After", "Exclusive", "Version",
    "Tenant ID", "Case ref", "Class", "Delegate expression", "Delegate Variable Mapping", "Delegate Expression",
    "Delegate Class", "Business key", "Business key expression", "Candidate starter groups",
    "Specify more than one group as a comma separated list.", "Candidate starter users",
    "Specify more than one user as a comma separated list.", "Expression", "Condition Expression", "Format",
    "External resource", "Inline script", "Script type", "Resource", "Variable name",
    "Specify more than one variable change event as a comma separated list. Variable change events are:",
    "Documentation: Variable events", "List values", "Map", "List", "<empty>", "Map entries", "String or expression",
    "Assignment type", "Start typing \"${}\" to create an expression.", "Code variable",
    "Define the name of the variable that will contain the error code.", "Message variable",
    "Define the name of the variable that will contain the error message.", "Throw expression",
    "Define the name of the variable that will contain the escalation code.", "String", "Config", "ID",
    "Refers to the process variable name", "Label", "boolean", "date", "enum", "long", "string", "<custom type>",
    "Custom type", "Default value", "Values", "Constraints", "Properties", "Camunda Forms",
    "Embedded or External Task Forms", "Generated Task Forms", "Form key", "Form reference", "Time to live",
    "Decision reference", "Map decision result", "Java class", "Topic", "Connector ID", "Initiator",
    "Propagate all variables", "Local", "Source", "Source expression", "Target", "Retry time cycle",
    "Element variable", "Asynchronous before", "Asynchronous after", "create", "assignment", "complete", "delete",
    "update", "timeout", "take", "start", "end", "Listener ID", "Field injection", "Scope", "Created in",
    "Startable", "The due date as an EL expression (e.g. ${someDate}) or an ISO date (e.g. 2015-06-26T09:54:00).",
    "The follow up date as an EL expression (e.g. ${someDate}) or an ISO date (e.g. 2015-06-26T09:54:00).",
    "This maps to the process definition key.", "Errors", "User assignment", "Start initiator", "External task",
    "Asynchronous continuations", "Job execution", "Candidate starter", "Field injections", "History cleanup",
    "Tasklist", "In mappings", "In mapping propagation", "Out mappings", "Out mapping propagation",
    "Process variables", "Form fields", "Forms", "Inputs", "Outputs", "Connector inputs", "Connector outputs",
    "Latest binding", "Uses the most recent deployed resource.", "Deployment binding",
    "Uses the resource found in the same deployment.", "Version tag binding",
    "Uses the most recent deployed resource with the given version tag.",
    "Version tag by which this process can be referenced.",
    "Version tag by which the called process will be referenced.",
    "Version tag by which the called decision will be referenced.",
    "Number of days before this resource is being cleaned up. If specified, takes precedence over the engine configuration.",
    "Open documentation", "Toggle section", "Section contains an error", "Section contains edits",
    "Toggle list item", "Delete item", "Create new list item", "List contains {numOfItems} item",
    "List contains {numOfItems} items", "JSON contains errors", "Open pop-up editor", "Opened in editor",
    "FEEL expression is mandatory", "Click to remove dynamic value with FEEL expression",
    "Click to set a dynamic value with FEEL expression", "Unparsable FEEL expression.", "Connector", "External",
    "DMN", "Activity", "Event", "Gateway", "Multiple", "Interrupting", "Camunda Form (linked)",
    "Camunda Form (embedded)", "Custom form key", "Form ID", "Camunda Form", "External form reference",
    "Decision ID", "Field type", "Field name", "Powered by bpmn.io", "Participant ID", "Local variable name",
    "Process variable name", "Start", "End", "Take", "Complete", "Timeout", "Creating", "Assigning", "Updating",
    "Completing", "Canceling", "versionTag",
)

DMN_JS = (
    "Add input", "Add output", "Add rule", "Predefined values", "No values", "Clear predefined values",
    "Add predefined values", "\"value\", \"value\", ...", "Strings must be in double quotes", "Annotations",
    "Annotation", "Resize", "Copy rule", "Cut rule", "Paste rule above", "Paste rule below", "Add rule above",
    "Add rule below", "Remove rule", "Copy input column", "Cut input column", "Paste input column left",
    "Paste input column right", "Add input column left", "Add input column right", "Remove input column",
    "Copy output column", "Cut output column", "Paste output column left", "Paste output column right",
    "Add output column left", "Add output column right", "Remove output column", "Input", "Output",
    "Expression language: {expressionLanguageLabel}", "When", "And", "Input label: ", "Input expression: ",
    "Input values", "Input type", "Then", "Output label", "Output name", "Output values", "Output type",
    "Edit input", "Input label", "Expression", "Input expression", "Enter expression", "Output label: ",
    "Output name: ", "Edit output", "Decision name: ", "Decision name", "Remove cell description",
    "Add cell description", "Move rule", "Move Input", "Move Output", "Change cell expression language",
    "Expression language", "Hit policy:", "Hit policy", "Yes", "No", "Edit boolean", "Set value", "Boolean value",
    "Exactly", "Before", "After", "Between", "Edit date", "Test type", "Edit start date", "Set date", "Start date",
    "Date", "Use today", "Edit end date", "End date", "Date value", "Edit date and time", "Edit start date and time",
    "Set date and time", "Start date and time", "Date and time", "Edit end date and time", "End date and time",
    "Date and time value", "Equals", "Less", "Less or equals", "Greater", "Greater or equals", "Comparison operator",
    "Duration value", "Include", "Exclude", "Start value", "Range start operator", "Range start value", "End value",
    "Range end operator", "Range end value", "Comparison", "Range", "Edit duration", "Set duration",
    "Editing not supported for set expression language", "Edit", "Value", "Edit number", "Custom values",
    "Match one", "Match none", "Edit string", "String value", "Add values", "Values", "\"value\"", "Edit time",
    "Time", "Edit start time", "Set time", "Start time", "Use now", "Edit end time", "End time", "Time value",
    "Type", "View DRD", "Append decision", "Append knowledge source", "Append business knowledge model",
    "Append input data", "Add text annotation", "Connect to other element", "Change type", "Delete",
    "Definition name", "Definition ID", "Activate hand tool", "Activate lasso tool", "Create decision",
    "Create input data", "Create knowledge source", "Create knowledge model", "Variable name:", "Variable type:",
    "Expression language:", "Variable name", "name", "Variable type", "Literal expression editor", "Element name",
    "Edit formal parameters", "Add parameter", "Remove parameter", "Function kind: {kind}", "Edit function kind",
    "Kind", "Literal expression", "Unique", "First", "Priority", "Any", "Collect", "Collect (Sum)", "Collect (Min)",
    "Collect (Max)", "Collect (Count)", "Rule order", "Output order",
    "No overlap is possible and all rules are disjoint. Only a single rule can be matched", "string", "number",
    "boolean", "date", "time", "dateTime", "dayTimeDuration", "yearMonthDuration",
    "Rules may overlap. The first matching rule will be chosen",
    "Rules may overlap. The one with the highest priority will be chosen",
    "Rules may overlap. Their output have to match", "Collects the values of all matching rules",
    "Collects the values of all matching rules and sums up to a single value",
    "Collects the values of all matching rules and uses the lowest value",
    "Collects the values of all matching rules and uses the highest value",
    "Collects the values of all matching rules and counts the number of them",
    "Collects the values of all matching rules in rule order",
    "Collects the values of all matching rules in decreasing output priority order", "Powered by bpmn.io",
)

FORM_JS = (
    "Components", "Search components", "Input", "Selection", "Presentation", "Containers", "Action", "Text field",
    "Text area", "Number", "Date time", "Checkbox", "Checkbox group", "Radio group", "Select", "Tag list",
    "Text view", "HTML view", "Image view", "Table", "Expression", "File picker", "Document preview", "Spacer",
    "Separator", "Group", "Dynamic list", "iFrame", "Button", "Create a {type} element", "Create an {type} element",
    "Remove {type}", "General", "Condition", "Validation", "Appearance", "Layout", "Serialization", "Constraints",
    "Custom properties", "Options source", "Static options", "Dynamic options", "Options expression",
    "Input values key", "Field label", "Field description", "Key", "ID", "Form", "Version tag", "Default value",
    "Required", "Read only", "Disabled", "Hide if", "Condition under which the field is hidden",
    "Binds to a form variable", "Columns", "Auto", "Prefix", "Suffix", "Minimum", "Maximum", "Minimum length",
    "Maximum length", "Validation pattern", "Custom regular expression", "Custom error message",
    "The error message to display when the input does not match the regular expression.", "Email", "Phone", "Custom",
    "Decimal digits", "Increment", "Output as string", "Allows arbitrary precision values", "Supported file formats",
    "A comma-separated list of", "file type specifiers", "Upload multiple files", "No files selected", "Browse",
    "Value", "Label", "Text", "Content", "Alternative text", "Image source", "Height", "Subtype", "Date", "Time",
    "Date label", "Time label", "Time format", "Time interval", "Use 24h", "Disallow past dates", "Searchable",
    "Checked", "Not checked", "Submit", "Reset", "Path", "Data source", "Headers source", "Header items",
    "Pagination", "Number of rows per page", "Vertical alignment", "Top", "Center", "Bottom", "Show outline",
    "Allow add/delete items", "Default number of items", "Disable collapse", "Number of non-collapsing items",
    "Security attributes", "URL", "Compute on", "Value changes", "Form submission", "Target value",
    "Document reference", "Max height of preview container", "Name", "Type", "Create new list item", "Delete item",
    "Toggle list item", "Toggle section", "Section contains an error", "Section contains edits",
    "List contains {numOfItems} item", "List contains {numOfItems} items", "Open pop-up editor", "Opened in editor",
    "FEEL expression is mandatory", "Click to set a dynamic value with FEEL expression",
    "Click to remove dynamic value with FEEL expression", "Unparsable FEEL expression.", "Open documentation",
    "Create", "<empty>", "<none>", "Decrement", "Search", "No results",
    "Drag and drop components here to start designing.", "Use the preview window to test your form.",
    "Build your form", "Drag and drop components here", "Select a form field to edit its properties.",
    "Make this field read-only when it cannot be edited by the end-user, but its content is important for them to see. Its data will still be submitted.",
    "Disable this field when it should not be interactive for end-users. Its data will not be submitted. This setting takes precedence over read-only.",
    "Add properties directly to the form schema, useful to configure functionality in custom-built task applications and form renderers.",
    "Define an expression to calculate the value of this field", "Descriptive text for screen reader accessibility.",
    "Powered by bpmn.io", "Column", "Column 1", "Column 2", "Column 3", "January", "February", "March", "April",
    "May", "June", "July", "August", "September", "October", "November", "December", "Sun", "Mon", "Tue", "Wed",
    "Thu", "Fri", "Sat",
)
# --- end of templates ---

"""Deploy plans as versions, and load the specs of a version (cached per process).

A deploy stores a BPMN file together with the forms and decision tables it uses,
as a new version of its process id only when that content changed. A case pins
the version it started on, forms included, so later edits never break it.
"""
from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.calendar.local_time import local_time
from engine.cases.engine_errors import without_addresses
from engine.errors import N_, DeployRejected, NotFound, Problem
from engine.forms.validation import schema_findings
from engine.models import PlanVersion
from engine.plans.bpmn import (
    BPMN_NS,
    CAMUNDA_NS,
    ParsedPlan,
    XmlRejected,
    decision_ids,
    main_process_id,
    parse_plan,
    read_xml,
)
from engine.plans.dialect import form_reference
from engine.plans.lint import lint_document, lint_plan
from engine.plans.unsupported_dmn import find_unsupported_dmn
from engine.records import audit


@dataclass
class Bundle:
    """Files handed to one deploy: BPMN and DMN documents by file name, forms by key."""

    bpmn: dict[str, str]
    dmn: dict[str, str]
    forms: dict[str, dict]
    problems: list[Problem]

    @classmethod
    def from_paths(cls, paths: list[Path | str]) -> "Bundle":
        """Collect .bpmn, .dmn and .form files; folders are searched (not recursively)."""
        bundle = cls({}, {}, {}, [])
        files: list[Path] = []
        for path in map(Path, paths):
            if path.is_dir():
                files.extend(sorted(p for p in path.iterdir() if p.suffix in (".bpmn", ".dmn", ".form")))
            elif path.exists():
                files.append(path)
            else:
                bundle.problems.append(Problem.of("file.missing", N_("no such file or folder"), file=str(path)))
        for file in files:
            bundle.add(file.name, file.read_text(encoding="utf-8"))
        return bundle

    def add(self, filename: str, text: str) -> None:
        suffix = Path(filename).suffix
        if suffix == ".bpmn":
            self.bpmn[filename] = text
        elif suffix == ".dmn":
            self.dmn[filename] = text
        elif suffix == ".form":
            try:
                schema = json.loads(text)
            except json.JSONDecodeError as exc:
                self.problems.append(Problem.of("form.not_json", N_("not valid JSON (%(error)s, line %(line)s)"),
                                                file=filename, error=exc.msg, line=exc.lineno))
                return
            for code, template, params in schema_findings(schema):
                self.problems.append(Problem.of(code, template, file=filename, **params))
            self.forms[Path(filename).stem] = schema
        else:
            self.problems.append(Problem.of("file.kind", N_("not a .bpmn, .dmn or .form file"), file=filename))


MAX_NOTE_CHARS = 500


@dataclass(frozen=True)
class DeployResult:
    plan_key: str
    version: int
    created: bool
    # What deployed but will not behave as in Camunda (a plain task passed through, a listener ignored).
    warnings: tuple[Problem, ...] = ()
    # A set-up deploy (`new_only`) left the plan's current version as it was.
    kept: bool = False

    def as_dict(self) -> dict:
        """The result as JSON-ready data; `warnings` only when there are some."""
        data = {"plan_key": self.plan_key, "version": self.version, "created": self.created}
        if self.warnings:
            data["warnings"] = [w.as_dict() for w in self.warnings]
        return data


@dataclass
class _Candidate:
    filename: str
    xml: str
    plan: ParsedPlan
    forms: dict[str, dict]
    decisions: dict[str, str]
    called: dict[str, str]
    warnings: list[Problem]


def deploy(session: Session, bundle: Bundle, actor: str, now: datetime, *, in_browser: bool = False,
           replace: bool = False, new_only: bool = False, note: str = "") -> list[DeployResult]:
    """Validate every plan in the bundle; store changed ones as new versions, or store nothing.

    A deploy from files (`in_browser` false) never silently supersedes a version made in
    the browser: it is refused naming both versions unless `replace` is given. `new_only`
    (set-up) deploys only plans that have no version yet and keeps the others as they are.
    `note` says why (shown in the version list, audited).
    """
    candidates, problems = _validate(session, bundle)
    if problems:
        raise DeployRejected(problems)
    kept = [_kept(session, c) for c in candidates] if new_only else [None] * len(candidates)
    if not in_browser and not replace:
        superseded = [_superseding_browser_version(session, c, actor) for c, k in zip(candidates, kept) if k is None]
        if any(superseded):
            raise DeployRejected([p for p in superseded if p])
    note = (note or "").strip()[:MAX_NOTE_CHARS]
    return [k or _store(session, c, actor, now, in_browser, note) for c, k in zip(candidates, kept)]


def _kept(session: Session, candidate: _Candidate) -> DeployResult | None:
    """The plan's current version, kept as it is, when it has one."""
    latest = latest_version(session, candidate.plan.process_id)
    if latest is None:
        return None
    return DeployResult(latest.plan_key, latest.version, False, tuple(candidate.warnings), kept=True)


def _superseding_browser_version(session: Session, candidate: _Candidate, actor: str) -> Problem | None:
    """Why storing the files would replace a version deployed in the browser, or None."""
    latest = latest_version(session, candidate.plan.process_id)
    if latest is None or not latest.assets.get("deployed_in_browser"):
        return None
    if latest.content_hash == content_hash(candidate.xml, candidate.forms, candidate.decisions, candidate.called):
        return None
    return Problem.of(
        "deploy.supersedes_browser_version",
        N_("plan '%(plan)s': its current version %(version)s was deployed in the browser by %(by)s at %(at)s; these "
           "files would replace it as version %(next)s (deploying as %(actor)s). Deploy with --replace to do so, or "
           "`planflow export` the plans first to keep the browser's version in the files"),
        file=candidate.filename, plan=latest.plan_key, version=latest.version, by=latest.deployed_by,
        at=local_time(latest.deployed_at), next=latest.version + 1, actor=actor)


def check(session: Session, bundle: Bundle) -> list[Problem]:
    """Every problem a deploy of this bundle would report; stores nothing."""
    return _validate(session, bundle)[1]


def _validate(session: Session, bundle: Bundle) -> tuple[list[_Candidate], list[Problem]]:
    problems = list(bundle.problems)
    if not bundle.bpmn:
        problems.append(Problem.of("deploy.no_bpmn", N_("no .bpmn file to deploy")))
    decision_files = _decision_index(bundle, problems)
    process_files = _process_index(bundle, problems)
    candidates = []
    for filename, xml in sorted(bundle.bpmn.items()):
        candidate = _check_one(session, filename, xml, bundle, decision_files, process_files, problems)
        if candidate is not None:
            candidates.append(candidate)
    return candidates, problems


def bundle_with_deployed_assets(session: Session, plan_key: str, files: dict[str, str]) -> Bundle:
    """A bundle of edited or uploaded files, completed with the forms and decision tables the plan has now.

    A process owner who changes the diagram in the browser or uploads a .bpmn need not
    send every form again; files they do send take precedence.
    """
    bundle = Bundle({}, {}, {}, [])
    current = latest_version(session, plan_key)
    if current is not None:
        bundle.forms.update(current.forms)
        bundle.dmn.update(current.assets.get("decisions", {}))
    for filename, text in files.items():
        bundle.add(filename, text)
    return bundle


def _decision_index(bundle: Bundle, problems: list[Problem]) -> dict[str, str]:
    """Map each decision id to the DMN file defining it."""
    index = {}
    for filename, xml in bundle.dmn.items():
        try:
            problems.extend(find_unsupported_dmn(read_xml(xml, filename), filename))
            for decision_id in decision_ids(xml, filename):
                index[decision_id] = filename
        except XmlRejected as exc:
            problems.append(exc.problem(filename))
    return index


def _process_index(bundle: Bundle, problems: list[Problem]) -> dict[str, str]:
    """Map each process id to the BPMN file of this deploy defining it."""
    index = {}
    for filename, xml in bundle.bpmn.items():
        try:
            for process in read_xml(xml, filename).findall(f"{{{BPMN_NS}}}process"):
                index[process.get("id")] = filename
        except XmlRejected:
            pass  # reported when the file itself is checked
    return index


@dataclass
class _References:
    forms: set[str]
    decisions: set[str]
    called: set[str]


def _references(root) -> _References:
    """Form keys, decision ids and called process ids a BPMN document refers to."""
    refs = _References(set(), set(), set())
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        if form_reference(node):
            refs.forms.add(form_reference(node))
        if node.tag == f"{{{BPMN_NS}}}businessRuleTask" and node.get(f"{{{CAMUNDA_NS}}}decisionRef"):
            refs.decisions.add(node.get(f"{{{CAMUNDA_NS}}}decisionRef"))
        if node.tag == f"{{{BPMN_NS}}}callActivity" and node.get("calledElement"):
            refs.called.add(node.get("calledElement"))
    return refs


@dataclass
class _Closure:
    """A plan's main document with every document it calls, and what they all refer to."""

    called_documents: dict[str, str]
    forms: dict[str, dict]
    decisions: dict[str, str]


def _close_over_calls(session, filename, root, bundle, decision_files, process_files, problems) -> _Closure | None:
    """Gather the called processes (this deploy first, else their deployed version), forms and decisions."""
    closure = _Closure({}, {}, {})
    defined = {p.get("id") for p in root.findall(f"{{{BPMN_NS}}}process")}
    pending, refs_needed, ok = [root], _References(set(), set(), set()), True
    calls: dict[str, list[tuple[str, str]]] = {}
    while pending:
        document = pending.pop()
        calls.update(_calls(document))
        refs = _references(document)
        refs_needed.forms |= refs.forms
        refs_needed.decisions |= refs.decisions
        for called in sorted(refs.called - defined):
            if called in process_files:
                called_file = process_files[called]
                called_root = read_xml(bundle.bpmn[called_file], called_file)
                closure.called_documents[called_file] = bundle.bpmn[called_file]
            else:
                deployed = latest_version(session, called)
                if deployed is None:
                    problems.append(Problem.of("call.missing", N_("called process '%(process)s' is neither in this "
                                                                  "deploy nor deployed"), file=filename,
                                               process=called))
                    ok = False
                    continue
                called_file = f"{called}.bpmn"
                called_root = read_xml(deployed.bpmn_xml, called_file)
                closure.called_documents[called_file] = deployed.bpmn_xml
                closure.forms.update(deployed.forms)
                closure.decisions.update(deployed.assets.get("decisions", {}))
            defined |= {p.get("id") for p in called_root.findall(f"{{{BPMN_NS}}}process")}
            pending.append(called_root)
    try:
        main = main_process_id(root, filename)
    except XmlRejected:
        main = None  # reported when the file is parsed
    cycle = call_cycle(calls, main) if main else None
    if cycle:
        problems.append(_cycle_problem(cycle, cycle[0][1] if cycle[0][0] == main else None, filename))
        ok = False
    for ref in sorted(refs_needed.decisions):
        if ref in decision_files:
            closure.decisions[decision_files[ref]] = bundle.dmn[decision_files[ref]]
        elif not any(ref in decision_ids(x, n) for n, x in closure.decisions.items()):
            problems.append(Problem.of("decision.missing", N_("decision '%(decision)s' not found in any .dmn file of "
                                                              "this deploy"), file=filename, decision=ref))
            ok = False
    closure.forms.update({key: bundle.forms[key] for key in refs_needed.forms if key in bundle.forms})
    return closure if ok else None


def _calls(root) -> dict[str, list[tuple[str, str]]]:
    """For each process of a document, its call activities as (called process id, call activity id)."""
    return {process.get("id"): [(call.get("calledElement"), call.get("id"))
                                for call in process.iter(f"{{{BPMN_NS}}}callActivity") if call.get("calledElement")]
            for process in root.findall(f"{{{BPMN_NS}}}process")}


def call_cycle(calls: dict[str, list[tuple[str, str]]], start: str) -> list[tuple[str, str]] | None:
    """A chain of calls from `start` that comes back to a process already on it, as (caller, call activity) pairs.

    A case of such a plan would start call after call and never end (SpiffWorkflow follows them all).
    """
    path: list[tuple[str, str]] = []
    on_path, done = [start], set()

    def visit(process: str) -> bool:
        for called, activity in calls.get(process, []):
            path.append((process, activity))
            if called in on_path:
                del path[:on_path.index(called)]
                return True
            if called not in done:
                on_path.append(called)
                if visit(called):
                    return True
                on_path.pop()
                done.add(called)
            path.pop()
        return False

    return path if visit(start) else None


def _cycle_problem(cycle: list[tuple[str, str]], element_id: str | None, filename: str) -> Problem:
    first, activity = cycle[0]
    if len(cycle) == 1:
        return Problem.of("call.self", N_("process '%(process)s' calls itself (call activity '%(activity)s'): a case "
                                          "would never end; repeat steps with a gateway loop or a standard loop "
                                          "instead"), element_id, filename, process=first, activity=activity)
    chain = " → ".join([process for process, _ in cycle] + [first])
    if len(cycle) == 2:
        return Problem.of("call.cycle", N_("process '%(process)s' calls '%(called)s', which calls back to "
                                           "'%(process)s' (%(chain)s): a case would never end; repeat steps with a "
                                           "gateway loop or a standard loop instead"), element_id, filename,
                          process=first, called=cycle[1][0], chain=chain)
    return Problem.of("call.cycle", N_("process '%(process)s' calls '%(called)s', which leads back to "
                                       "'%(process)s' (%(chain)s): a case would never end; repeat steps with a "
                                       "gateway loop or a standard loop instead"), element_id, filename,
                      process=first, called=cycle[1][0], chain=chain)


def _check_one(session, filename, xml, bundle, decision_files, process_files, problems) -> _Candidate | None:
    try:
        root = read_xml(xml, filename)
    except XmlRejected as exc:
        problems.append(exc.problem(filename))
        return None
    structural = lint_document(root, filename)
    problems.extend(structural.problems)
    closure = _close_over_calls(session, filename, root, bundle, decision_files, process_files, problems)
    if closure is None:
        return None
    # With problems in the XML the parser may fail on them obscurely: its errors are then left out, and
    # the checks of the parsed plan report only elements not already named, so every element shows once.
    flagged = {p.element_id for p in structural.problems}
    try:
        plan = parse_plan(xml, filename, closure.decisions, closure.called_documents)
    except XmlRejected as exc:
        problems.append(exc.problem(filename))
        return None
    except ValidationException as exc:
        if not flagged:
            problems.append(_validation_problem(exc, filename))
        return None
    except Exception as exc:  # SpiffWorkflow raises plain exceptions for some broken diagrams
        if not flagged:
            problems.append(Problem.of("parse.failed", N_("cannot be parsed: %(error)s"), file=filename,
                                       error=without_addresses(str(exc))))
        return None
    found = [p for p in lint_plan(plan, filename, closure.forms) if p.element_id not in flagged or p.element_id is None]
    problems.extend(found)
    if found or flagged:
        return None
    return _Candidate(filename, xml, plan, closure.forms, closure.decisions, closure.called_documents,
                      structural.warnings)


def _validation_problem(exc: ValidationException, filename: str) -> Problem:
    """SpiffWorkflow's finding, in its words (kept as the detail on a page in another language)."""
    message = without_addresses(str(exc.args[0]) if exc.args else str(exc))
    element_id, line = getattr(exc, "id", None), getattr(exc, "line_number", None)
    not_executable = re.fullmatch(r"Process (\S+) is not executable\.?", message.strip())
    if not_executable:
        return Problem.of("process.not_executable",
                          N_("Process %(process)s is not executable. Mark it executable (isExecutable=\"true\", "
                             "the 'Executable' box in Camunda Modeler)."), element_id, filename,
                          process=not_executable.group(1))
    if line:
        return Problem.of("parse.invalid", N_("%(detail)s (line %(line)s)"), element_id, filename, detail=message,
                          line=line)
    return Problem.of("parse.invalid", N_("%(detail)s"), element_id, filename, detail=message)


def content_hash(bpmn_xml: str, forms: dict, decisions: dict, called: dict | None = None) -> str:
    canonical = json.dumps({"bpmn": bpmn_xml, "forms": forms, "decisions": decisions, "called": called or {}},
                           sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _store(session: Session, candidate: _Candidate, actor: str, now: datetime, in_browser: bool,
           note: str = "") -> DeployResult:
    plan = candidate.plan
    xml = candidate.xml
    digest = content_hash(xml, candidate.forms, candidate.decisions, candidate.called)
    latest = latest_version(session, plan.process_id)
    if latest is not None and latest.content_hash == digest:
        return DeployResult(plan.process_id, latest.version, False, tuple(candidate.warnings))
    version = PlanVersion(
        plan_key=plan.process_id, version=(latest.version + 1) if latest else 1, name=plan.name,
        content_hash=digest, bpmn_xml=xml,
        assets={"forms": candidate.forms, "decisions": candidate.decisions, "called": candidate.called,
                "start_form_key": plan.start_form_key, "deployed_in_browser": in_browser, "change_note": note},
        deployed_by=actor, deployed_at=now,
    )
    session.add(version)
    session.flush()
    audit.record(session, audit.EventKind.PLAN_DEPLOYED, actor, now, element_id=plan.process_id,
                 payload={"plan": plan.process_id, "version": version.version, "content_hash": digest,
                          "file": candidate.filename, "forms": sorted(candidate.forms),
                          "called": sorted(candidate.called),
                          "decisions": sorted(candidate.decisions), "note": note})
    return DeployResult(plan.process_id, version.version, True, tuple(candidate.warnings))


DEPLOYED = PlanVersion.drill_only.is_(False)  # versions that are the plan's, not a draft stored for a drill


def store_drill_only(session: Session, bundle: Bundle, plan_key: str, actor: str, now: datetime) -> PlanVersion:
    """Validate the bundle exactly as a deploy would and store its plan as a drill-only version.

    Nothing deployed changes: the version is numbered -1, -2, … (a deploy is numbered from the
    highest deployed version, which it can never be), is left out of every list and "current
    version" lookup, and no deploy is audited. The same content drilled again reuses its row.
    """
    candidates, problems = _validate(session, bundle)
    if problems:
        raise DeployRejected(problems)
    [candidate] = [c for c in candidates if c.plan.process_id == plan_key]
    digest = content_hash(candidate.xml, candidate.forms, candidate.decisions, candidate.called)
    drill_versions = select(PlanVersion).where(PlanVersion.plan_key == plan_key, PlanVersion.drill_only.is_(True))
    same = session.execute(drill_versions.where(PlanVersion.content_hash == digest)
                           .order_by(PlanVersion.version.desc()).limit(1)).scalar_one_or_none()
    if same is not None:
        return same
    lowest = session.execute(drill_versions.order_by(PlanVersion.version).limit(1)).scalar_one_or_none()
    version = PlanVersion(
        plan_key=plan_key, version=min(lowest.version if lowest else 0, 0) - 1, name=candidate.plan.name,
        content_hash=digest, bpmn_xml=candidate.xml,
        assets={"forms": candidate.forms, "decisions": candidate.decisions, "called": candidate.called,
                "start_form_key": candidate.plan.start_form_key, "deployed_in_browser": True, "change_note": ""},
        deployed_by=actor, deployed_at=now, drill_only=True,
    )
    session.add(version)
    session.flush()
    return version


def latest_version(session: Session, plan_key: str) -> PlanVersion | None:
    return session.execute(
        select(PlanVersion).where(PlanVersion.plan_key == plan_key, DEPLOYED)
        .order_by(PlanVersion.version.desc()).limit(1)
    ).scalar_one_or_none()


def current_version(session: Session, plan_key: str) -> PlanVersion:
    version = latest_version(session, plan_key)
    if version is None:
        raise NotFound(f"no plan '{plan_key}' is deployed")
    return version


def export(session: Session, folder: Path, all_versions: bool = False) -> list[Path]:
    """Write each plan's current version as deployable files: processes/*.bpmn, *.dmn and forms/*.form.

    With `all_versions`, earlier versions go to versions/<plan>/v<N>/ in the same layout.
    """
    written = []

    def write(path: Path, text: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)

    def write_version(version: PlanVersion, base: Path) -> None:
        write(base / "processes" / f"{version.plan_key}.bpmn", version.bpmn_xml)
        for name, xml in version.assets.get("decisions", {}).items():
            write(base / "processes" / name, xml)
        for key, schema in version.forms.items():
            write(base / "forms" / f"{key}.form", json.dumps(schema, ensure_ascii=False, indent=2) + "\n")

    folder = Path(folder)
    for key in plan_keys(session):
        current = current_version(session, key)
        write_version(current, folder)
        if all_versions:
            for version in session.execute(select(PlanVersion).where(
                    PlanVersion.plan_key == key, DEPLOYED, PlanVersion.version < current.version)).scalars():
                write_version(version, folder / "versions" / key / f"v{version.version}")
    return written


def plan_keys(session: Session) -> list[str]:
    return list(session.execute(select(PlanVersion.plan_key).where(DEPLOYED).group_by(PlanVersion.plan_key)
                                .order_by(PlanVersion.plan_key)).scalars())


class SpecCache:
    """Parsed specs and forms per plan version; a version never changes, so entries never go stale."""

    def __init__(self):
        self._plans: dict[int, ParsedPlan] = {}
        self._lock = threading.Lock()

    def get(self, version: PlanVersion) -> ParsedPlan:
        plan = self._plans.get(version.id)
        if plan is None:
            plan = parse_plan(version.bpmn_xml, f"{version.plan_key}.bpmn", version.assets.get("decisions"),
                              version.assets.get("called"))
            plan.forms = version.forms
            with self._lock:
                plan = self._plans.setdefault(version.id, plan)
        return plan

    def clear(self) -> None:
        with self._lock:
            self._plans.clear()


spec_cache = SpecCache()

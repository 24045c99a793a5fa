"""The shipped plans open in the modeler without a lint error (bpmnlint's recommended rules, as the modeler runs them)."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.support import PLANS_ROOT, ROOT

FRONTEND = ROOT / "webapp" / "frontend"
BPMNLINT = FRONTEND / "node_modules" / ".bin" / "bpmnlint"


def test_every_shipped_plan_is_free_of_lint_errors():
    if not BPMNLINT.exists() or shutil.which("node") is None:
        pytest.fail("bpmnlint is missing: run `make assets` (npm ci in webapp/frontend)")
    plans = sorted(str(path) for path in (PLANS_ROOT / "processes").glob("*.bpmn"))
    result = subprocess.run([str(BPMNLINT), "-c", str(FRONTEND / ".bpmnlintrc"), *plans], cwd=FRONTEND,
                            capture_output=True, text=True, timeout=120)
    report = result.stdout + result.stderr
    errors = [line.strip() for line in report.splitlines() if re.search(r"\berror\b", line) and "errors," not in line]
    assert not errors, "\n".join(errors)
    assert re.search(r"\b0 errors\b", report) or result.returncode == 0, report

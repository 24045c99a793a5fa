"""The engine stands alone: nothing under engine/ imports the web app (or Flask)."""
from __future__ import annotations

import ast
import subprocess
import sys

from tests.support import ROOT

ENGINE = ROOT / "engine"


def imported_modules(path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_no_engine_module_imports_webapp_or_flask_anywhere_in_its_source():
    offenders = {str(path.relative_to(ROOT)): sorted(m for m in imported_modules(path)
                                                     if m.split(".")[0] in ("webapp", "flask", "flask_login"))
                 for path in ENGINE.rglob("*.py")}
    assert {path: names for path, names in offenders.items() if names} == {}


def test_importing_every_engine_module_and_the_engine_cli_loads_no_web_code():
    # Alembic's env.py and revisions run only inside Alembic; everything else is imported.
    script = ("import pkgutil, importlib, sys, engine, engine.cli\n"
              "for info in pkgutil.walk_packages(engine.__path__, 'engine.'):\n"
              "    if info.name.startswith(('engine.migrations.env', 'engine.migrations.versions')):\n"
              "        continue\n"
              "    importlib.import_module(info.name)\n"
              "print(sorted(m for m in sys.modules if m.split('.')[0] in ('webapp', 'flask')))\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_serve_is_a_command_of_the_web_app_not_of_the_engine():
    script = "import {0}; from engine.cli import main; print('serve' in main.commands)"
    answers = [subprocess.run([sys.executable, "-c", script.format(module)], cwd=ROOT, capture_output=True,
                              text=True, timeout=60) for module in ("engine.cli", "webapp.cli")]
    assert [a.stdout.strip() for a in answers] == ["False", "True"], [a.stderr for a in answers]

"""schemathesis against the served OpenAPI document: every check, stateless and stateful, no failure.

A fixed seed and a bounded number of examples keep the run reproducible and under a minute.
The coverage phase is left out: over the forms of every deployed plan it generates some
3,000 requests and takes about two minutes on its own.
"""
from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import threading
from pathlib import Path

from werkzeug.serving import make_server

from engine.cases import registration_keys
from webapp.security import PlanFlowRequestHandler

SEED = "20260302"
MAX_EXAMPLES = "25"
# The body of /complete is the union of every task form of every plan: which one applies depends
# on the task, so a body valid by the document may still be the wrong form for that task (422).
CONFIG = """
[[operations]]
include-path-regex = "/complete$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

# A task list's cursor is opaque: any string fits the document, but only one the list gave out is
# taken; anything else is a 400 (bad_cursor), tested in tests/webapp/test_inbox_pages.py.
[[operations]]
include-path-regex = "/tasks$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401"]
"""


class _KeyPerRequest:
    """Make each valid generated Idempotency-Key unique to its request body.

    The generator repeats short keys ("0", "a"…) with other bodies, which the API rightly
    refuses (422, idempotency_key_reused; tested in tests/webapp/test_registration_keys.py).
    A key the API would refuse as malformed is passed on unchanged, so those are still fuzzed;
    and POST /cases keeps the default expectations, so valid start-form data refused with 422 is
    still a failure.
    """

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        key = environ.get("HTTP_IDEMPOTENCY_KEY")
        if key is not None:
            try:
                registration_keys.checked_key(key)
            except registration_keys.InvalidRegistrationKey:
                pass
            else:
                body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
                environ["wsgi.input"] = io.BytesIO(body)
                environ["HTTP_IDEMPOTENCY_KEY"] = hashlib.sha256(key.encode() + b"\0" + body).hexdigest()
        return self.app(environ, start_response)


def test_schemathesis_reports_no_failure_against_the_openapi_document(app, api, tmp_path):
    _, headers = api("intake")
    server = make_server("127.0.0.1", 0, _KeyPerRequest(app), threaded=True, request_handler=PlanFlowRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG, encoding="utf-8")
    try:
        result = subprocess.run(
            [str(Path(sys.executable).parent / "st"), "--config-file", str(config), "run",
             f"http://127.0.0.1:{server.server_port}/api/v1/openapi.json",
             "--checks", "all", "--phases", "examples,fuzzing,stateful", "--mode", "all",
             "--seed", SEED, "--max-examples", MAX_EXAMPLES, "--generation-database", "none",
             "--generation-allow-x00", "false", "--workers", "1", "--no-color",
             "--header", f"Authorization: {headers['Authorization']}"],
            capture_output=True, text=True, timeout=150, cwd=tmp_path)
    finally:
        server.shutdown()
    assert result.returncode == 0, result.stdout[-12000:] + result.stderr[-3000:]
    assert "No issues found" in result.stdout or " passed" in result.stdout


def test_the_document_describes_each_plans_form_fields(app):
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    shapes = document["paths"]["/api/v1/cases"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    by_plan = {shape["properties"]["plan"]["enum"][0]: shape["properties"]["data"]["$ref"] for shape in shapes["oneOf"]}
    assert by_plan["general_complaint"] == "#/components/schemas/form_gc_register"
    register = document["components"]["schemas"]["form_gc_register"]
    assert {"complainant", "contact", "content"} <= set(register["required"])
    assert register["additionalProperties"] is False
    assert register["properties"]["channel"]["enum"]
    assert "pattern" in str(register["properties"]["contact"]) and register["properties"]["content"]["maxLength"] > 0
    answer = document["components"]["schemas"]["form_gc_answer"]
    assert "evidence_files" not in answer["properties"]  # files go as uploads on the pages, never in JSON
    for status in ("400", "401", "403", "404", "413", "422"):
        assert status in document["paths"]["/api/v1/cases"]["post"]["responses"]

"""Soak run on PostgreSQL: the production server and timer workers under load while processes are killed.

Starts `planflow serve` (gunicorn, 2 worker processes) and 3 `planflow worker` processes on a
PostgreSQL schema of its own, then walks general_complaint cases concurrently through the
JSON API (register, claim, complete every task that appears, with random answers), a third
of them received days ago so their deadline timers are already due and the workers escalate
them. Every few seconds one gunicorn worker and one timer worker are killed with SIGKILL
(gunicorn starts a new worker; the bench starts a new timer worker). Clients retry a request
whose connection broke.

At the end it checks, from the database: no task completed twice, no step the API
acknowledged missing, no timer fired twice, and that the audit chain verifies
(`planflow audit verify`), and that each complaint was registered once: every registration
sends a fresh Idempotency-Key, the same one on each retry, so a retry whose first attempt had
committed is answered with that case (counted as a replay). It prints tasks per second. Not part
of `make test`.

    .venv/bin/python bench/soak.py [--cases 2000] [--clients 8] [--kill-every 4]

PostgreSQL: PLANFLOW_BENCH_POSTGRES_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test).
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from engine.db import make_engine  # noqa: E402
from engine.forms.conditions import is_hidden  # noqa: E402
from engine.forms.validation import input_components  # noqa: E402
from engine.people.roles import ROLES  # noqa: E402

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SCHEMA = f"planflow_soak_{os.getpid()}"
PLANFLOW = [sys.executable, "-m", "webapp.cli"]
MAX_STEPS_PER_CASE = 40
PHONE = "13800000000"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Api:
    """A small JSON client that retries a request whose connection broke (a killed server process)."""

    def __init__(self, base: str, token: str):
        self.base, self.token = base, token
        self.retries = Counter()
        self.replays = Counter()   # answers marked Idempotent-Replayed, by route
        self.lock = threading.Lock()

    def call(self, method: str, path: str, body: dict | None = None, attempts: int = 20,
             idempotency_key: str | None = None):
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        for attempt in range(attempts):
            request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    if response.headers.get("Idempotent-Replayed") == "true":
                        with self.lock:
                            self.replays[f"{method} {path}"] += 1
                    return response.status, json.loads(response.read() or b"null"), attempt
            except urllib.error.HTTPError as error:
                if error.code >= 500 or error.code == 429:
                    self.retries[f"{method} {error.code}"] += 1
                    time.sleep(0.2 * (attempt + 1))
                    continue
                return error.code, json.loads(error.read() or b"null"), attempt
            except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError, OSError):
                self.retries[f"{method} connection"] += 1
                time.sleep(0.2 * (attempt + 1))
        raise RuntimeError(f"{method} {path}: no answer after {attempts} attempts")


def answer(form: dict, rng: random.Random) -> dict:
    """Random but valid answers to a form: every visible input filled, choices picked at random."""
    data: dict = {}
    now = datetime.now(timezone(timedelta(hours=8)))
    for component in input_components(form):
        kind, key, rules = component.get("type"), component["key"], component.get("validate") or {}
        values = [v["value"] for v in component.get("values") or []]
        if kind in ("textfield", "textarea"):
            data[key] = PHONE if rules.get("pattern") else "soak " + "x" * max(int(rules.get("minLength", 1)), 1)
        elif kind == "number":
            data[key] = rules.get("min", 0) or 0
        elif kind in ("select", "radio") and values:
            data[key] = rng.choice(values)
        elif kind == "checkbox":
            data[key] = True
        elif kind == "checklist" and values:
            data[key] = [values[0]]
        elif kind == "datetime":
            subtype = component.get("subtype", "datetime")
            data[key] = {"date": now.date().isoformat(), "time": now.strftime("%H:%M")}.get(
                subtype, now.replace(microsecond=0).isoformat())
    for component in input_components(form):
        if component["key"] in data and is_hidden(component, data):
            del data[component["key"]]
    return data


class Soak:
    def __init__(self, args, url: str, folder: Path):
        self.args, self.url, self.folder = args, url, folder
        self.env = {**os.environ, "PLANFLOW_DATABASE_URL": url, "PLANFLOW_AUDIT_DIR": str(folder / "audit"),
                    "PLANFLOW_AUDIT_KEY_FILE": str(folder / "audit_key"), "PLANFLOW_WORKER_INTERVAL": "0.2",
                    "PLANFLOW_TIMER_LEASE_SECONDS": "10",
                    "PLANFLOW_SECRET_KEY": "soak-run-only"}
        self.forms = {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in (ROOT / "forms").glob("*.form")}
        self.lock = threading.Lock()
        self.acknowledged: set[int] = set()      # tasks the API said were completed (200, or 409 after a retry)
        self.invalid = Counter()
        self.steps = 0
        self.unfinished: list[str] = []
        self.timer_workers: list[subprocess.Popen] = []
        self.kills = Counter()
        self.timers_not_fired = 0

    def planflow(self, *arguments: str) -> str:
        result = subprocess.run([*PLANFLOW, *arguments], cwd=ROOT, env=self.env, capture_output=True, text=True,
                                timeout=600)
        if result.returncode != 0:
            raise RuntimeError(f"planflow {' '.join(arguments)}: {result.stderr or result.stdout}")
        return result.stdout

    def set_up(self) -> str:
        self.planflow("init")
        self.planflow("deploy", str(ROOT / "processes"), str(ROOT / "forms"), "--as", "soak")
        roles = [arg for role, spec in ROLES.items() if spec.works_cases for arg in ("--role", role)]
        self.planflow("user", "add", "soak", *roles, "--password", "soak-password")
        return self.planflow("token", "create", "soak").strip().split()[-1]

    def start_timer_worker(self, index: int) -> subprocess.Popen:
        env = {**self.env, "PLANFLOW_WORKER_NAME": f"soak-{index}"}
        log = (self.folder / f"worker-{index}.log").open("a")
        return subprocess.Popen([*PLANFLOW, "worker"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    def walk(self, api: Api, number: str, rng: random.Random) -> None:
        for _ in range(MAX_STEPS_PER_CASE):
            status, case, _ = api.call("GET", f"/api/v1/cases/{number}")
            if status != 200:
                raise RuntimeError(f"GET case {number}: {status} {case}")
            if case["status"] == "completed":
                return
            if not case["open_tasks"]:
                time.sleep(0.3)   # waiting for a timer or another step
                continue
            task = rng.choice(case["open_tasks"])
            api.call("POST", f"/api/v1/tasks/{task['id']}/claim")
            for _attempt in range(3):
                data = answer(self.forms.get(task["form_key"], {"components": []}), rng)
                status, body, retried = api.call("POST", f"/api/v1/tasks/{task['id']}/complete", {"data": data})
                if status == 200 or (status == 409 and retried and "already" in json.dumps(body)):
                    with self.lock:
                        self.acknowledged.add(task["id"])
                        self.steps += 1
                    break
                if status == 400:
                    with self.lock:
                        self.invalid[task["form_key"]] += 1
                    continue
                break   # 409: claimed or escalated meanwhile; look at the case again
        with self.lock:
            self.unfinished.append(number)

    def client(self, api: Api, numbers: list[int], seed: int) -> None:
        rng = random.Random(seed)
        for index in numbers:
            # Every third complaint was received almost 24 hours ago: its first-contact deadline falls due
            # a few seconds after registration, for a timer worker to fire while the client waits.
            received = datetime.now(timezone.utc) - (timedelta(hours=24, seconds=-8) if index % 3 == 0
                                                     else timedelta(0))
            registration = {"complainant": "王女士", "contact": PHONE, "channel": "phone", "category": "service",
                            "content": f"soak case {index}", "claimed_amount": rng.choice([0, 800, 5000]),
                            "received_at": received.isoformat()}
            status, case, _ = api.call("POST", "/api/v1/cases", {"plan": "general_complaint", "data": registration},
                                       idempotency_key=str(uuid.uuid4()))   # one key for all retries of this one
            if status != 201:
                raise RuntimeError(f"POST case: {status} {case}")
            if index % 3 == 0:
                self.await_timer(api, case["number"])
            self.walk(api, case["number"], rng)

    def await_timer(self, api: Api, number: str, seconds: float = 90) -> None:
        """Let a timer worker fire the case's first deadline (due in seconds) before anyone works it."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            _status, case, _ = api.call("GET", f"/api/v1/cases/{number}")
            if any(event["kind"] == "timer_fired" for event in case.get("history", [])):
                return
            time.sleep(0.5)
        with self.lock:
            self.timers_not_fired += 1

    def chaos(self, server: subprocess.Popen, stop: threading.Event) -> None:
        rng = random.Random(7)
        while not stop.wait(self.args.kill_every):
            children = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True, text=True).stdout.split()
            if children:
                os.kill(int(rng.choice(children)), signal.SIGKILL)
                self.kills["web worker"] += 1
            index = rng.randrange(len(self.timer_workers))
            self.timer_workers[index].kill()
            self.timer_workers[index].wait()
            self.timer_workers[index] = self.start_timer_worker(index)
            self.kills["timer worker"] += 1

    def run(self) -> dict:
        token = self.set_up()
        port = free_port()
        self.server_log = (self.folder / "server.log").open("w")
        server = subprocess.Popen([*PLANFLOW, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2",
                                   "--threads", "4"], cwd=ROOT, env=self.env, stdout=self.server_log,
                                  stderr=subprocess.STDOUT)
        self.timer_workers = [self.start_timer_worker(i) for i in range(3)]
        api = Api(f"http://127.0.0.1:{port}", token)
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        stop = threading.Event()
        chaos = threading.Thread(target=self.chaos, args=(server, stop), daemon=True)
        started = time.perf_counter()
        chaos.start()
        shares = [list(range(i, self.args.cases, self.args.clients)) for i in range(self.args.clients)]
        clients = [threading.Thread(target=self.client, args=(api, share, seed)) for seed, share in enumerate(shares)]
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join()
        elapsed = time.perf_counter() - started
        stop.set()
        chaos.join()
        time.sleep(2)   # let the workers fire what is due now
        server.terminate()
        for worker in self.timer_workers:
            worker.terminate()
        server.wait(timeout=30)
        for worker in self.timer_workers:
            worker.wait(timeout=30)
        return {"elapsed": elapsed, "retries": dict(api.retries), "replays": sum(api.replays.values()),
                **self.check()}

    def check(self) -> dict:
        engine = make_engine(self.url)
        with engine.connect() as conn:
            completions = Counter(row[0] for row in conn.execute(text(
                "SELECT payload->>'task_id' FROM audit_events WHERE kind = 'task_completed'")))
            statuses = dict(conn.execute(text("SELECT id, status FROM tasks")).all())
            fired = Counter(tuple(row) for row in conn.execute(text(
                "SELECT case_id, element_id, payload->>'due_at' FROM audit_events WHERE kind = 'timer_fired'")))
            timers_fired = conn.execute(text("SELECT count(*) FROM timers WHERE status = 'fired'")).scalar_one()
            cases = conn.execute(text("SELECT count(*) FROM cases")).scalar_one()
            incidents = [f"{number}: {incident[:200]}" for number, incident in conn.execute(text(
                "SELECT number, incident FROM cases WHERE incident IS NOT NULL ORDER BY number"))]
        engine.dispose()
        doubled = [task for task, count in completions.items() if count > 1]
        lost = [task for task in self.acknowledged
                if completions.get(str(task), 0) != 1 or str(statuses.get(task, "")).lower() != "completed"]
        verify = subprocess.run([*PLANFLOW, "audit", "verify"], cwd=ROOT, env=self.env, capture_output=True,
                                text=True, timeout=600)
        return {"acknowledged": len(self.acknowledged), "doubled": doubled, "lost": lost,
                "timers_fired": timers_fired, "timers_fired_twice": sum(1 for c in fired.values() if c > 1),
                "cases": cases, "incidents": incidents, "timers_not_fired_in_90s": self.timers_not_fired, "unfinished": len(self.unfinished),
                "invalid_answers": dict(self.invalid), "kills": dict(self.kills),
                "chain": "verifies" if verify.returncode == 0 else f"FAILS: {verify.stdout[-500:]} {verify.stderr[-500:]}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--kill-every", type=float, default=4.0, help="seconds between kills")
    args = parser.parse_args()
    base = os.environ.get("PLANFLOW_BENCH_POSTGRES_URL", DEFAULT_POSTGRES)
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{SCHEMA}"
    folder = Path(tempfile.mkdtemp(prefix="planflow-soak-"))
    try:
        result = Soak(args, url, folder).run()
        logs = [path.read_text(errors="replace") for path in sorted(folder.glob("*.log"))]
        errors = [line for log in logs for line in log.splitlines()
                  if ("Traceback" in line or "ERROR" in line or "Error" in line) and "was sent SIGKILL" not in line]
        result["server_errors"] = errors[-20:]
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {SCHEMA} CASCADE"))
        admin.dispose()
        shutil.rmtree(folder, ignore_errors=True)
    elapsed = result.pop("elapsed")
    print(f"soak on PostgreSQL: {args.cases} general_complaint cases, {args.clients} clients, "
          f"2 gunicorn workers, 3 timer workers, a kill every {args.kill_every:g} s")
    print(f"  {result['acknowledged']} task completions in {elapsed:.0f} s: {result['acknowledged'] / elapsed:.1f} tasks/s")
    print(f"  kills: {result['kills']}; client retries: {result['retries']}")
    print(f"  lost steps: {len(result['lost'])}; doubled steps: {len(result['doubled'])}; "
          f"timers fired: {result['timers_fired']}, fired twice: {result['timers_fired_twice']}")
    print(f"  cases registered: {result['cases']} (asked: {args.cases}); registrations answered as a replay of "
          f"a committed first attempt: {result['replays']}")
    print(f"  incidents: {len(result['incidents'])}; cases stopped at the step cap: {result['unfinished']}")
    print(f"  overdue cases whose timer had not fired within 90 s: {result['timers_not_fired_in_90s']}")
    print(f"  answers refused as invalid (retried with others): {result['invalid_answers']}")
    print(f"  audit chain: {result['chain']}")
    for line in result["incidents"][:10]:
        print(f"  incident: {line}")
    for line in result["server_errors"]:
        print(f"  server log: {line[:300]}")
    if result["lost"] or result["doubled"] or result["timers_fired_twice"] or result["chain"] != "verifies" \
            or result["cases"] != args.cases:
        sys.exit(1)


if __name__ == "__main__":
    main()

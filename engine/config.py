"""Settings read from the environment, with defaults for a local checkout."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    database_url: str
    processes_dir: Path
    forms_dir: Path
    worker_interval: float
    case_number_prefix: str
    office_hours: str
    timezone: str

    @classmethod
    def from_env(cls, environ: dict | None = None) -> "Settings":
        """Build settings from PLANFLOW_* variables (see README, "Configuration")."""
        env = os.environ if environ is None else environ
        default_db = PROJECT_ROOT / "instance" / "planflow.sqlite3"
        return cls(
            database_url=env.get("PLANFLOW_DATABASE_URL", f"sqlite:///{default_db}"),
            processes_dir=Path(env.get("PLANFLOW_PROCESSES_DIR", PROJECT_ROOT / "processes")),
            forms_dir=Path(env.get("PLANFLOW_FORMS_DIR", PROJECT_ROOT / "forms")),
            worker_interval=float(env.get("PLANFLOW_WORKER_INTERVAL", "1.0")),
            case_number_prefix=env.get("PLANFLOW_CASE_PREFIX", "TS"),
            office_hours=env.get("PLANFLOW_OFFICE_HOURS", "09:00-18:00"),
            timezone=env.get("PLANFLOW_TIMEZONE", "Asia/Shanghai"),
        )

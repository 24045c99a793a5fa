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
    # A task is "due soon" in the last this share of the time it was given (0.2: the last 20 %).
    due_soon_share: float = 0.2

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
            due_soon_share=_share(env.get("PLANFLOW_DUE_SOON_SHARE", "0.2")),
        )


def _share(text: str) -> float:
    try:
        share = float(text)
    except ValueError:
        share = -1.0
    if not 0 <= share <= 1:
        raise ValueError(f"PLANFLOW_DUE_SOON_SHARE={text!r} must be a number from 0 to 1 (e.g. 0.2 for the last 20 %)")
    return share

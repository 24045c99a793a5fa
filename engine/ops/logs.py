"""Log lines as text (default) or as one JSON object per line (PLANFLOW_LOG_FORMAT=json), for the web and the worker."""
from __future__ import annotations

import json
import logging
import os
import sys
from datetime import datetime, timezone

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s [%(process)d] [%(levelname)s] %(name)s: %(message)s"
# gunicorn's access-log atoms kept as fields of a JSON access line (the rest stays in `message`).
ACCESS_FIELDS = {"h": "remote", "m": "method", "U": "path", "q": "query", "s": "status", "B": "bytes",
                 "D": "duration_us", "a": "user_agent"}


def log_format(environ=None) -> str:
    """PLANFLOW_LOG_FORMAT: `text` or `json`; anything else is refused with the allowed values."""
    value = (environ if environ is not None else os.environ).get("PLANFLOW_LOG_FORMAT", "text").strip().lower()
    if value not in FORMATS:
        raise ValueError(f"PLANFLOW_LOG_FORMAT={value!r} must be one of: {', '.join(FORMATS)}")
    return value


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, process, message, and the exception if any."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                "level": record.levelname.lower(), "logger": record.name, "process": record.process,
                "message": record.getMessage()}
        if record.name == "gunicorn.access" and record.args is not None:
            for atom, name in ACCESS_FIELDS.items():
                try:
                    line[name] = record.args[atom]
                except (KeyError, TypeError, IndexError):
                    pass
        for key in ("event", "worker", "fired", "cases", "failed"):  # fields passed with `extra=`
            if hasattr(record, key):
                line[key] = getattr(record, key)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def formatter(fmt: str) -> logging.Formatter:
    return JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT)


def configure(fmt: str, stream=None) -> None:
    """Send every log record to `stream` (stderr) in `fmt`, replacing the root logger's handlers."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def gunicorn_logconfig(fmt: str) -> dict:
    """gunicorn's `logconfig_dict`: its error and access logs, and the app's own loggers, all in `fmt` on stderr."""
    factory = {"()": f"{__name__}.JsonFormatter"} if fmt == "json" else {"format": TEXT_FORMAT}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"planflow": factory},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "planflow",
                                "stream": "ext://sys.stderr"}},
        "root": {"level": "INFO", "handlers": ["stderr"]},
        "loggers": {"gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
                    "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": True}},
    }

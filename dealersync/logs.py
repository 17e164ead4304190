"""Logging: structlog for our code, stdlib logging (SQLAlchemy, urllib3, APScheduler) through the same renderer.

Output goes to stderr (stdout is kept for tables and JSON a user may pipe): one JSON object per
line (timestamp, level, event, logger, fields) when stderr is not a terminal or format is
"json"; a readable console rendering on a terminal.

Rules, because these logs end up in ticket attachments and log shippers:
- NEVER log record payloads (raw ERP rows or normalised records): they hold dealers' tax ids,
  phone numbers and money. Log counts, stream names, keys and cursors only.
- Values of keys that look secret or personal (password, token, tax_id, email...) are masked,
  and passwords inside URLs / connection strings are scrubbed, in every event - ours or a library's.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

__all__ = ["MASK", "get_logger", "is_secret_key", "redact", "scrub", "setup"]

MASK = "***"

# Substrings that mark a key as secret or personal wherever they appear in it ("db_password", "x_api_key").
_SECRET_PARTS = (
    "password",
    "passwd",
    "secret",
    "token",
    "authorization",
    "api_key",
    "apikey",
    "tax_id",
    "taxid",
    "tckn",
    "vkn",
    "phone",
    "email",
    "credential",
)
# Short ones only as a whole word, so "inn" (Russian tax id) does not mask "beginning" or "spinner".
_SECRET_WORDS = frozenset({"inn", "pwd"})
_WORD_SPLIT = re.compile(r"[^a-z0-9]+")

# scheme://user:PASSWORD@host  and  PWD=...; / password=...& in ODBC strings and query strings.
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@]*:)[^\s@/]+(?P<tail>@)")
_PARAM_PASSWORD = re.compile(r"(?i)(?P<head>\b(?:pwd|password|passwd)\s*=\s*)[^;&\s'\"]+")

QUIET_LIBRARIES = ("sqlalchemy", "urllib3", "apscheduler", "requests", "pyodbc", "psycopg")


def is_secret_key(key: str) -> bool:
    lowered = key.lower()
    if any(part in lowered for part in _SECRET_PARTS):
        return True
    # camelCase -> words too: "userINN" is rare, "apiKey" is not.
    words = set(_WORD_SPLIT.split(re.sub(r"([a-z])([A-Z])", r"\1_\2", key).lower()))
    return bool(words & _SECRET_WORDS) or "apikey" in lowered.replace("_", "")


def scrub(text: str) -> str:
    """Mask passwords inside URLs and connection strings."""
    if "=" not in text and "://" not in text:
        return text
    text = _URL_PASSWORD.sub(lambda m: f"{m['head']}{MASK}{m['tail']}", text)
    return _PARAM_PASSWORD.sub(lambda m: f"{m['head']}{MASK}", text)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {key: MASK if is_secret_key(str(key)) else _clean(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(item) for item in value]
    if hasattr(value, "get_secret_value"):  # pydantic SecretStr prints masked already; keep it so
        return MASK
    return value


def redact(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """structlog processor: mask secret-looking keys and scrub URL passwords, recursively."""
    for key, value in list(event_dict.items()):
        if is_secret_key(key) and value is not None:
            event_dict[key] = MASK
        elif not isinstance(value, int | float | bool) and value is not None:
            event_dict[key] = _clean(value) if isinstance(value, str | Mapping | list | tuple) else _clean(str(value))
    return event_dict


def _drop_color_message(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    event_dict.pop("color_message", None)
    return event_dict


def setup(level: str = "INFO", format: str = "auto", stream: TextIO | None = None) -> None:
    """Configure structlog and stdlib logging once per process (calling again reconfigures)."""
    stream = stream or sys.stderr
    use_json = format == "json" or (format == "auto" and not _isatty(stream))
    # JSON for machines: UTC with its offset; the console for people: local wall-clock time.
    timestamper = structlog.processors.TimeStamper(fmt="iso", utc=use_json)
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        timestamper,
        structlog.stdlib.PositionalArgumentsFormatter(),
        _drop_color_message,
    ]
    renderer: Processor
    if use_json:
        # Tracebacks become a string field first, so the redactor also scrubs them.
        tail: list[Processor] = [structlog.processors.format_exc_info, redact]
        renderer = structlog.processors.JSONRenderer(default=str)
    else:
        tail = [redact]
        renderer = structlog.dev.ConsoleRenderer(colors=_isatty(stream))

    structlog.configure(
        processors=[*shared, *tail, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, *tail],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Libraries speak only when something is wrong; their INFO chatter would drown the runs.
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.captureWarnings(True)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def get_logger(name: str, **bound: Any) -> Any:
    return structlog.get_logger(name, **bound)


def fields(obj: Any) -> MutableMapping[str, Any]:
    """A dataclass's public fields as log fields (datetimes as ISO strings)."""
    from dataclasses import asdict, is_dataclass

    data = asdict(obj) if is_dataclass(obj) and not isinstance(obj, type) else dict(vars(obj))
    return {key: value.isoformat() if hasattr(value, "isoformat") else value for key, value in data.items()}

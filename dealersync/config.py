"""The one YAML configuration file, validated with pydantic.

Loading runs in three steps so every message can name the field at fault:
1. `${VAR}` references in string values are substituted from the environment
   (`$${` stays a literal `${`); a missing variable is an error naming it and the field.
2. Relative paths (sqlite URLs, the file sink's folder) are resolved against the config
   file's folder, so a service started from another working directory finds the same files.
3. The common keys are validated here; each source's remaining keys are validated by its
   adapter's own `Settings` model (found through the entry-point registry).

`ConfigError` messages name the file, each bad field's path and the problem, and never carry
a value: pydantic can echo inputs, so only its location and message are used, and every
secret-looking value found in the file is masked as a last line of defence.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

from connectors import registry
from connectors.base import AdapterSettings, ConnectorError, SourceContext
from dealersync.logs import is_secret_key, scrub
from mapping.plausibility import ImplausiblePolicy
from mapping.schema import STREAMS

__all__ = [
    "Config",
    "ConfigError",
    "EngineSettings",
    "LoggingSettings",
    "Schedule",
    "SourceConfig",
    "StateSettings",
    "StreamOverride",
    "load_config",
    "parse_duration",
]

DEFAULT_CONFIG = "dealersync.yaml"


class ConfigError(Exception):
    """The configuration cannot be used. The message is meant for an operator and holds no secret."""


# --- durations -------------------------------------------------------------------------------------------------

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_duration(value: object) -> dt.timedelta:
    """'15m', '1h', '30s', '2h30m', '1d' (or a number of seconds) as a timedelta."""
    if isinstance(value, dt.timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 15m, 1h or 2h30m")
    if isinstance(value, int | float):
        return dt.timedelta(seconds=value)
    text = str(value).strip().lower().replace(" ", "")
    match = _DURATION.match(text)
    if not text or not match or not any(match.groups()):
        raise ValueError("expected a duration such as 30s, 15m, 1h or 2h30m")
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return dt.timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


Duration = Annotated[dt.timedelta, BeforeValidator(parse_duration)]


def format_duration(value: dt.timedelta) -> str:
    seconds = int(value.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


# --- cron ------------------------------------------------------------------------------------------------------

_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # crontab numbering: 0 (and 7) is Sunday


def _weekday_number(token: str, *, range_end: bool = False) -> int:
    token = token.strip().lower()
    if token[:3] in _WEEKDAYS and len(token) >= 3:
        number = _WEEKDAYS.index(token[:3])
        return 7 if number == 0 and range_end else number  # "fri-sun" ends on Sunday, not before Friday
    if token.isdigit() and 0 <= int(token) <= 7:
        return int(token)
    raise ValueError(f"bad day of week {token!r} (0-7 or sun..sat)")


def crontab_weekdays(field: str) -> str:
    """A crontab day-of-week field as APScheduler 3 day names.

    APScheduler 3 numbers weekdays from Monday=0, crontab from Sunday=0, and `from_crontab` does not
    translate: "1-5" would silently mean Tuesday-Saturday. Expanding to names removes the ambiguity.
    """
    if field.strip() == "*":
        return "*"
    days: set[int] = set()
    for part in field.split(","):
        part, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else None
        if step_text and step is None:
            raise ValueError(f"bad step {step_text!r} in day of week")
        if part == "*":
            low, high = 0, 6
        elif "-" in part:
            first, last = part.split("-", 1)
            low, high = _weekday_number(first), _weekday_number(last, range_end=True)
        else:
            low = _weekday_number(part)
            high = 6 if step else low  # "1/2": from Monday, every other day
        if high < low:
            raise ValueError(f"bad day-of-week range {part!r}")
        days.update(day % 7 for day in range(low, high + 1, step or 1))
    if len(days) == 7:
        return "*"
    return ",".join(_WEEKDAYS[day] for day in (1, 2, 3, 4, 5, 6, 0) if day in days)


def cron_trigger(expr: str, timezone: str) -> Any:
    """An APScheduler CronTrigger from a standard five-field crontab expression, with crontab weekday numbers."""
    from apscheduler.triggers.cron import CronTrigger

    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(f"expected 5 fields (minute hour day month weekday), got {len(fields)}")
    minute, hour, day, month, weekday = fields
    return CronTrigger(
        minute=minute, hour=hour, day=day, month=month, day_of_week=crontab_weekdays(weekday), timezone=timezone
    )


# --- models ----------------------------------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Schedule(_Model):
    """When a job runs: every `interval`, or on a five-field `cron` expression in the source's time zone."""

    interval: Duration | None = None
    cron: str | None = None

    @model_validator(mode="after")
    def _one_of(self) -> Schedule:
        if (self.interval is None) == (self.cron is None):
            raise ValueError("give exactly one of 'interval' (e.g. 15m) or 'cron' (e.g. '*/10 6-22 * * 1-6')")
        if self.interval is not None and self.interval < dt.timedelta(seconds=1):
            raise ValueError("interval must be at least 1s")
        if self.cron is not None:
            try:
                cron_trigger(self.cron, "UTC")
            except ValueError as exc:
                raise ValueError(f"invalid cron expression: {exc}") from None
        return self

    def describe(self) -> str:
        return f"every {format_duration(self.interval)}" if self.interval is not None else f"cron {self.cron}"


class StreamOverride(_Model):
    enabled: bool = True
    schedule: Schedule | None = None


class StateSettings(_Model):
    url: str = "sqlite:///dealersync-state.db"


class EngineSettings(_Model):
    batch_size: int = Field(2000, ge=1, le=100_000)
    overlap_minutes: int = Field(10, ge=0, le=24 * 60)
    on_record_error: Literal["dead_letter", "stop"] = "dead_letter"
    on_sink_reject: Literal["dead_letter", "stop"] = "dead_letter"
    on_sink_failure: Literal["dead_letter", "stop"] = "stop"
    lock_ttl_minutes: int = Field(30, ge=1)
    workers: int = Field(2, ge=1, le=64)
    parallel_min_items: int = Field(20_000, ge=1)
    outbox_retention_days: int = Field(7, ge=0)
    # How far the ERP's clock may run ahead of this host's: a cursor never moves past the read's start
    # minus this, so rows stamped in the future are read again until their time has come.
    clock_skew_minutes: int = Field(5, ge=0, le=24 * 60)
    # A representable but implausible value (a negative sale quantity, a discount over 100 %, a date outside
    # 1900-2100): flag sends it as the ERP holds it with the record's `flags`; dead_letter holds the record
    # back with the reason; accept sends it unmarked.
    implausible: ImplausiblePolicy = "flag"

    def policy(self) -> Any:
        """The engine's Policy (imported late: the engine is optional for `init`, `schema`, config tests)."""
        from engine.sync import Policy

        return Policy(
            batch_size=self.batch_size,
            overlap=dt.timedelta(minutes=self.overlap_minutes),
            on_record_error=self.on_record_error,
            on_sink_reject=self.on_sink_reject,
            on_sink_failure=self.on_sink_failure,
            lock_ttl=dt.timedelta(minutes=self.lock_ttl_minutes),
            workers=self.workers,
            parallel_min_items=self.parallel_min_items,
            outbox_retention=dt.timedelta(days=self.outbox_retention_days),
            clock_skew=dt.timedelta(minutes=self.clock_skew_minutes),
            implausible=self.implausible,
        )


class LoggingSettings(_Model):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["auto", "json", "console"] = "auto"

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


class SourceConfig(_Model):
    """A source's common keys; `settings` holds the adapter's own, already validated, settings."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    kind: str = Field(min_length=1)
    timezone: str = "Europe/Istanbul"
    chunk_size: int = Field(1000, ge=1, le=100_000)
    schedule: Schedule = Schedule(interval=dt.timedelta(minutes=15))
    streams: dict[str, StreamOverride] = {}
    reconcile: Schedule | None = None
    settings: AdapterSettings | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown time zone (use an IANA name such as Europe/Istanbul)") from None
        return value

    @field_validator("streams")
    @classmethod
    def _known_streams(cls, value: dict[str, StreamOverride]) -> dict[str, StreamOverride]:
        unknown = sorted(set(value) - set(STREAMS))
        if unknown:
            raise ValueError(f"unknown stream(s) {', '.join(unknown)} (known: {', '.join(STREAMS)})")
        return value

    def context(self) -> SourceContext:
        disabled = frozenset(name for name, override in self.streams.items() if not override.enabled)
        return SourceContext(
            name=self.name,
            timezone=ZoneInfo(self.timezone),
            chunk_size=self.chunk_size,
            disabled=disabled,
            reconciles=self.reconcile is not None,
        )

    def enabled(self, stream: str) -> bool:
        override = self.streams.get(stream)
        return override is None or override.enabled

    def schedule_for(self, stream: str) -> Schedule:
        override = self.streams.get(stream)
        return override.schedule if override is not None and override.schedule is not None else self.schedule

    def build_adapter(self) -> Any:
        """A fresh adapter for this source (the caller closes it)."""
        return registry.load(self.kind)(self.context(), self.settings)


COMMON_SOURCE_KEYS = frozenset(SourceConfig.model_fields) - {"settings"}


def _sink_settings_type() -> Any:
    # Imported late so that a broken or missing sink package fails with a clear message, not at import.
    from sinks import SinkSettings

    return SinkSettings


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    path: Path
    state: StateSettings = StateSettings()
    engine: EngineSettings = EngineSettings()
    logging: LoggingSettings = LoggingSettings()
    sink: Any
    sources: list[SourceConfig]

    def source(self, name: str) -> SourceConfig:
        for source in self.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.sources)
        raise ConfigError(f"{self.path}: no source named {name!r} (configured: {known})")


# --- loading ---------------------------------------------------------------------------------------------------

_REFERENCE = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_BAD_REFERENCE = re.compile(r"(?<!\$)\$\{(?![A-Za-z_][A-Za-z0-9_]*\})")


def format_path(loc: Iterable[str | int]) -> str:
    """('sources', 0, 'firm') -> 'sources[0].firm'."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def interpolate(value: Any, env: dict[str, str], path: tuple[str | int, ...], errors: list[str]) -> Any:
    """Substitute ${VAR} in every string of a parsed YAML tree; collect missing variables into `errors`."""
    if isinstance(value, dict):
        return {key: interpolate(item, env, (*path, str(key)), errors) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env, (*path, index), errors) for index, item in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value
    if _BAD_REFERENCE.search(value):
        errors.append(f"{format_path(path)}: malformed ${{...}} reference (use ${{NAME}}, or $${{ for a literal)")
        return value

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        name = match.group(1)
        if name not in env:
            errors.append(f"{format_path(path)}: environment variable {name} is not set")
            return ""
        return env[name]

    return _REFERENCE.sub(substitute, value)


def _resolve_sqlite(url: str, base: Path) -> str:
    """sqlite:///relative.db -> sqlite:////abs/folder/relative.db (memory and absolute URLs unchanged)."""
    prefix, sep, rest = url.partition(":///")
    if not sep or not prefix.startswith("sqlite") or not rest or rest.startswith(("/", ":memory:")):
        return url
    database, query_sep, query = rest.partition("?")
    return f"{prefix}:///{(base / database).resolve()}{query_sep}{query}"


def _resolve_paths(raw: dict[str, Any], base: Path) -> None:
    state = raw.get("state")
    if isinstance(state, dict) and isinstance(state.get("url"), str):
        state["url"] = _resolve_sqlite(state["url"], base)
    elif state is None:
        raw["state"] = {"url": _resolve_sqlite(StateSettings().url, base)}
    sink = raw.get("sink")
    if isinstance(sink, dict) and sink.get("kind") == "file" and isinstance(sink.get("path"), str):
        sink["path"] = str((base / sink["path"]).resolve())
    for source in raw.get("sources") or []:
        if isinstance(source, dict) and isinstance(source.get("url"), str):
            source["url"] = _resolve_sqlite(source["url"], base)
    _resolve_files(raw, base)


_PATH_KEYS = frozenset({"ca_bundle", "client_cert", "client_key"})


def _resolve_files(value: Any, base: Path) -> None:
    """`*_file` secrets and TLS files given as relative paths are relative to the config file's folder."""
    if isinstance(value, list):
        for item in value:
            _resolve_files(item, base)
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        if isinstance(item, str) and item and (str(key).endswith("_file") or key in _PATH_KEYS):
            path = Path(item).expanduser()
            value[key] = str(path if path.is_absolute() else (base / path).resolve())
        else:
            _resolve_files(item, base)


def _secret_values(value: Any, secret: bool = False) -> Iterator[str]:
    """Every string under a secret-looking key (to mask them in messages whatever their path)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _secret_values(item, secret or is_secret_key(str(key)))
    elif isinstance(value, list):
        for item in value:
            yield from _secret_values(item, secret)
    elif secret and isinstance(value, str) and len(value) >= 3:
        yield value


def _error_lines(error: ValidationError, prefix: Sequence[str | int] = (), tag: str | None = None) -> list[str]:
    """One 'path: problem' line per error, without the input value (it may be a secret)."""
    lines = []
    for item in error.errors(include_input=False, include_url=False):
        loc = list(item["loc"])
        if tag is not None and loc[:1] == [tag]:
            loc = loc[1:]  # a discriminated union puts the tag (e.g. 'http') first; the user never wrote it
        # Constrained types add their own names (e.g. 'function-after[...]'); keep only the user's path.
        loc = [part for part in loc if not (isinstance(part, str) and ("[" in part or part.startswith("function-")))]
        message = item["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        lines.append(f"{format_path([*prefix, *loc])}: {message}")
    return lines


def _validate_source(raw: Any, index: int) -> tuple[SourceConfig | None, list[str]]:
    where: tuple[str | int, ...] = ("sources", index)
    if not isinstance(raw, dict):
        return None, [f"{format_path(where)}: each source must be a mapping with at least name and kind"]
    common = {key: value for key, value in raw.items() if key in COMMON_SOURCE_KEYS}
    specific = {key: value for key, value in raw.items() if key not in COMMON_SOURCE_KEYS}
    errors: list[str] = []
    if "settings" in raw:
        errors.append(f"{format_path((*where, 'settings'))}: put adapter settings directly in the source")
        specific.pop("settings")
    source: SourceConfig | None = None
    try:
        source = SourceConfig.model_validate(common)
    except ValidationError as exc:
        errors.extend(_error_lines(exc, where))
    kind = raw.get("kind")
    if not isinstance(kind, str) or not kind:
        return None, errors
    try:
        adapter_type = registry.load(kind)
    except ConnectorError as exc:
        return None, [*errors, f"{format_path((*where, 'kind'))}: {exc}"]
    except Exception as exc:  # a broken adapter package: say which, without a traceback
        problem = f"the {kind!r} adapter cannot be loaded ({type(exc).__name__}: {exc}); reinstall it"
        return None, [*errors, f"{format_path((*where, 'kind'))}: {problem}"]
    try:
        settings = adapter_type.Settings.model_validate(specific)
    except ValidationError as exc:
        return None, [*errors, *_error_lines(exc, where)]
    if source is None:
        return None, errors
    return source.model_copy(update={"settings": settings}), errors


def parse_config(raw: Any, path: Path, env: dict[str, str] | None = None) -> Config:
    """Validate an already-parsed YAML document (as read from `path`)."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the file must hold a mapping (state, engine, logging, sink, sources)")
    secrets = sorted(set(_secret_values(raw)), key=len, reverse=True)  # before substitution: the raw file text
    errors: list[str] = []
    data = interpolate(raw, dict(os.environ) if env is None else env, (), errors)
    secrets = sorted({*secrets, *_secret_values(data)}, key=len, reverse=True)
    _resolve_paths(data, path.parent)

    sources: list[SourceConfig] = []
    raw_sources = data.get("sources")
    if raw_sources is None:
        errors.append("sources: at least one source is required")
    elif not isinstance(raw_sources, list):
        errors.append("sources: must be a list of sources")
    else:
        for index, raw_source in enumerate(raw_sources):
            source, source_errors = _validate_source(raw_source, index)
            errors.extend(source_errors)
            if source is not None:
                sources.append(source)
        names = [s.get("name") for s in raw_sources if isinstance(s, dict)]
        duplicates = sorted({str(n) for n in names if names.count(n) > 1})
        if duplicates:
            errors.append(f"sources: duplicate source name(s) {', '.join(duplicates)}")

    sink = None
    if "sink" not in data:
        errors.append("sink: required (e.g. {kind: file, path: ./feed})")
    else:
        try:
            from pydantic import TypeAdapter

            sink = TypeAdapter(_sink_settings_type()).validate_python(data["sink"])
        except ValidationError as exc:
            kind = data["sink"].get("kind") if isinstance(data["sink"], dict) else None
            errors.extend(_error_lines(exc, ("sink",), tag=kind if isinstance(kind, str) else None))

    rest = {key: value for key, value in data.items() if key not in ("sources", "sink")}
    config: Config | None = None
    try:
        config = Config.model_validate({**rest, "path": path, "sink": sink, "sources": sources})
    except ValidationError as exc:
        errors.extend(line for line in _error_lines(exc) if not line.startswith(("path:", "sink:", "sources:")))
    if errors or config is None:
        raise ConfigError(_mask(f"{path}: invalid configuration\n" + "\n".join(f"  {e}" for e in errors), secrets))
    return config


def _mask(message: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        message = message.replace(secret, "***")
    return scrub(message)


def load_config(path: str | os.PathLike[str], env: dict[str, str] | None = None) -> Config:
    """Read, interpolate and validate one config file; raises ConfigError with an operator-facing message."""
    path = Path(path).expanduser().absolute()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found (create one with `dealersync init -c {path}`)") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc.strerror})") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        # str(exc) quotes the offending line, which may hold a password: report only the position and problem.
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        raise ConfigError(f"{path}: not valid YAML at {where}: {exc.problem or exc.context}") from None
    except yaml.YAMLError:
        raise ConfigError(f"{path}: not valid YAML") from None
    return parse_config(raw, path, env)

"""The config file: the `init` example loads, ${VAR} substitution, *_file secrets, errors with paths and no secrets."""

from __future__ import annotations

import datetime as dt
import importlib.util
from importlib import resources
from pathlib import Path

import pytest

from dealersync.config import ConfigError, load_config, parse_duration

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("connectors.logo") is None,
    reason="the Logo adapter (connectors/logo) is not built yet; config tests validate its settings",
)

PASSWORD = "Pw-1n-the-env!"
EXAMPLE = resources.files("dealersync").joinpath("example.yaml").read_text(encoding="utf-8")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "dealersync.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def errors_of(path: Path, env: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(path, env=env)
    return str(caught.value)


def test_init_example_loads(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, EXAMPLE), env={"LOGO_DB_PASSWORD": PASSWORD})
    source = config.sources[0]
    assert source.name == "logo-main" and source.kind == "logo"
    assert source.settings.password.get_secret_value() == PASSWORD
    assert source.settings.firm == 1
    assert source.schedule.interval == dt.timedelta(minutes=15)
    assert source.schedule_for("stock_levels").interval == dt.timedelta(minutes=5)
    assert source.schedule_for("invoices").interval == dt.timedelta(minutes=15)
    assert source.reconcile is not None and source.reconcile.cron == "0 3 * * *"
    assert config.sink.kind == "file" and Path(config.sink.path) == tmp_path / "feed"
    # A relative sqlite path is relative to the config file, not to the working directory.
    assert config.state.url == f"sqlite:///{tmp_path / 'dealersync-state.db'}"
    assert config.engine.policy().overlap == dt.timedelta(minutes=10)


def test_env_substitution_and_escape(tmp_path: Path) -> None:
    text = EXAMPLE.replace('url: "sqlite:///dealersync-state.db"', 'url: "sqlite:///${STATE_NAME}.db"')
    text = text.replace("path: ./feed", "path: ./feed-$${x}")
    config = load_config(write(tmp_path, text), env={"LOGO_DB_PASSWORD": PASSWORD, "STATE_NAME": "st"})
    assert config.state.url.endswith("/st.db")
    assert Path(config.sink.path).name == "feed-${x}"


def test_missing_env_var_is_named_with_its_field(tmp_path: Path) -> None:
    message = errors_of(write(tmp_path, EXAMPLE), env={})
    assert "sources[0].password" in message
    assert "LOGO_DB_PASSWORD" in message
    assert str(tmp_path / "dealersync.yaml") in message


def test_secret_from_file(tmp_path: Path) -> None:
    (tmp_path / "db.pass").write_text(PASSWORD + "\n", encoding="utf-8")
    (tmp_path / "token").write_text("tok-from-file\n", encoding="utf-8")
    text = EXAMPLE.replace("password: ${LOGO_DB_PASSWORD}", "password_file: db.pass")
    text = text.replace(
        "  kind: file\n  path: ./feed\n",
        "  kind: http\n  url: https://loyalty.example.com/ingest/v1\n  auth: {kind: bearer, token_file: token}\n",
    )
    config = load_config(write(tmp_path, text), env={})
    # The adapter reads its *_file itself (at connect time); the config makes the relative path absolute.
    assert config.sources[0].settings.password_file == tmp_path / "db.pass"
    assert config.sources[0].settings.secret() == PASSWORD
    assert config.sink.auth.token.get_secret_value() == "tok-from-file"


def test_unknown_keys_are_rejected_with_their_path(tmp_path: Path) -> None:
    text = EXAMPLE.replace("  batch_size: 2000", "  batch_size: 2000\n  batchsize: 20")
    text = text.replace("    chunk_size: 1000", "    chunk_size: 1000\n    frim: 2")
    text = text.replace("# discounts: {enabled: false}", "discounts: {enabeld: false}")
    message = errors_of(write(tmp_path, text), env={"LOGO_DB_PASSWORD": PASSWORD})
    assert "engine.batchsize: Extra inputs are not permitted" in message
    assert "sources[0].frim" in message
    assert "sources[0].streams.discounts.enabeld" in message


def test_bad_values_name_their_path(tmp_path: Path) -> None:
    text = (
        EXAMPLE.replace("firm: 1", "firm: 1000")
        .replace("interval: 15m}", "interval: 15 minutes}")
        .replace("timezone: Europe/Istanbul", "timezone: Europe/Istambul")
        .replace("on_record_error: dead_letter", "on_record_error: skip")
        .replace("stock_levels: {schedule", "stock_level: {schedule")
    )
    message = errors_of(write(tmp_path, text), env={"LOGO_DB_PASSWORD": PASSWORD})
    assert "sources[0].firm: " in message and "999" in message  # the adapter's own wording follows the path
    assert "sources[0].schedule.interval" in message
    assert "sources[0].timezone: unknown time zone" in message
    assert "engine.on_record_error" in message
    assert "sources[0].streams: unknown stream(s) stock_level" in message


def test_bad_cron_and_unknown_kind(tmp_path: Path) -> None:
    text = EXAMPLE.replace('cron: "0 3 * * *"', 'cron: "0 3 * *"').replace("kind: logo", "kind: navision")
    message = errors_of(write(tmp_path, text), env={"LOGO_DB_PASSWORD": PASSWORD})
    assert "sources[0].reconcile: invalid cron expression" in message
    assert "sources[0].kind: unknown source kind 'navision'" in message


def test_secret_values_never_in_the_message(tmp_path: Path) -> None:
    secret = "S3cret-Value-42"
    text = (
        EXAMPLE.replace("password: ${LOGO_DB_PASSWORD}", 'password: ["${LOGO_DB_PASSWORD}"]')  # wrong type: a list
        .replace("firm: 1", "firm: ${LOGO_DB_PASSWORD}")  # the secret where a number belongs
        .replace("dealersync@sqlhost", "dealersync:${LOGO_DB_PASSWORD}@sqlhost")  # and inside a URL
        .replace("  kind: file\n  path: ./feed\n", "  kind: http\n  url: 'not a url'\n  auth: {kind: bearer}\n")
    )
    message = errors_of(write(tmp_path, text), env={"LOGO_DB_PASSWORD": secret})
    assert secret not in message
    assert "sources[0].firm" in message and "sources[0].password" in message and "sink.url" in message


def test_yaml_syntax_error_does_not_quote_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "state: {url: x}\nsources:\n  - name: a\n    password: 'hunter2\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert "not valid YAML at line" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_missing_file_suggests_init(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="dealersync init"):
        load_config(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("15m", 900), ("1h", 3600), ("2h30m", 9000), ("1d", 86400), (45, 45)]
)
def test_durations(text: str | int, seconds: int) -> None:
    assert parse_duration(text) == dt.timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "15", "m", "1x", "15 minutes", "-5m", "1h1h"])
def test_bad_durations(text: str) -> None:
    # A bare number is seconds only when YAML gives a number; the string "15" is ambiguous, so rejected.
    with pytest.raises(ValueError):
        parse_duration(text)

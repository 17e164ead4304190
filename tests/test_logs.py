"""Logging: JSON lines when not on a terminal, and no secret or personal value ever printed."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import logging
    from dealersync import logs

    logs.setup("INFO", "auto")
    log = logs.get_logger("dealersync.test")
    log.info(
        "connecting",
        password="hunter2-secret",
        tax_id="12345678950",
        email="dealer@example.com",
        url="mssql+pyodbc://sa:Sup3rPass@sqlhost/LOGODB",
        odbc="DRIVER={ODBC};SERVER=sqlhost;UID=sa;PWD=0dbcPass;",
        nested={"auth": {"token": "tok-abc123"}, "phone": "+905551112233"},
        rows=42,
    )
    log.info("plain event in a URL postgresql://app:PgPass99@db/x")
    logging.getLogger("sqlalchemy.engine").warning("connect to mssql://u:LibPass77@host failed")
    logging.getLogger("sqlalchemy.engine").info("library chatter below WARNING is dropped")
    """
)

SECRETS = ["hunter2-secret", "12345678950", "dealer@example.com", "Sup3rPass", "0dbcPass", "tok-abc123",
           "+905551112233", "PgPass99", "LibPass77"]  # fmt: skip


def run_script() -> subprocess.CompletedProcess[str]:
    # stderr is a pipe here, so "auto" must choose JSON.
    return subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=True)


def test_json_lines_when_not_a_terminal() -> None:
    lines = [json.loads(line) for line in run_script().stderr.splitlines() if line.strip()]
    assert len(lines) == 3
    first = lines[0]
    assert first["event"] == "connecting"
    assert first["level"] == "info"
    assert first["logger"] == "dealersync.test"
    assert first["rows"] == 42
    assert "T" in first["timestamp"]  # ISO 8601
    assert first["url"] == "mssql+pyodbc://sa:***@sqlhost/LOGODB"
    library = lines[2]
    assert library["logger"] == "sqlalchemy.engine" and library["level"] == "warning"


def test_secrets_and_personal_data_never_printed() -> None:
    result = run_script()
    output = result.stdout + result.stderr
    for secret in SECRETS:
        assert secret not in output, secret
    assert "sqlhost" in output  # the rest of the URL stays readable


def test_redaction_rules() -> None:
    from dealersync.logs import is_secret_key, scrub

    for key in ("password", "DB_PASSWORD", "client_secret", "access_token", "Authorization", "api_key", "apiKey",
                "tax_id", "tckn", "vkn", "inn", "dealer_inn", "phone", "email"):  # fmt: skip
        assert is_secret_key(key), key
    for key in ("beginning", "spinner", "stream", "rows", "source", "innovation"):
        assert not is_secret_key(key), key
    assert scrub("https://user:p%40ss@host/x?a=1") == "https://user:***@host/x?a=1"
    assert scrub("Password=abc;Server=x") == "Password=***;Server=x"
    assert scrub("sqlite:///relative.db") == "sqlite:///relative.db"

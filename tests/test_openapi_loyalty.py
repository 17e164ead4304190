"""The ingestion API document must stay in step with the HTTP sink and the envelope it sends."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any, get_args

import msgspec
import pytest
import yaml

from mapping.schema import STREAMS, Envelope
from sinks.base import Holdings
from sinks.http import (
    BATCHES_PATH,
    CHECKPOINT_PATH,
    FILES_PATH,
    HEALTH_PATH,
    Coding,
    accepted_codings,
    parse_checkpoint,
)

SPEC = Path(__file__).resolve().parent.parent / "docs" / "openapi" / "loyalty-ingest.yaml"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return yaml.safe_load(SPEC.read_text(encoding="utf-8"))


def resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        _, *parts = node["$ref"].split("/")
        node = spec
        for part in parts:
            node = node[part]
    return node


def test_paths_and_operations(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.1")
    files = f"{FILES_PATH}/{{sha256}}"
    assert set(spec["paths"]) == {BATCHES_PATH, HEALTH_PATH, CHECKPOINT_PATH, files}
    assert set(spec["paths"][files]) == {"parameters", "head", "put"}
    assert {"200", "201", "422", "429", "503"} <= set(spec["paths"][files]["put"]["responses"])
    assert set(spec["paths"][BATCHES_PATH]) == {"post"}
    assert set(spec["paths"][HEALTH_PATH]) == {"get"}
    assert set(spec["paths"][CHECKPOINT_PATH]) == {"get"}


def test_batch_responses_cover_what_the_client_handles(spec: dict[str, Any]) -> None:
    responses = spec["paths"][BATCHES_PATH]["post"]["responses"]
    assert {"200", "202", "400", "401", "403", "409", "413", "422", "429", "500", "503"} <= set(responses)
    for status in ("429", "503"):
        assert "Retry-After" in resolve(spec, responses[status])["headers"]


def test_idempotency_key_is_required(spec: dict[str, Any]) -> None:
    parameters = [resolve(spec, p) for p in spec["paths"][BATCHES_PATH]["post"]["parameters"]]
    by_name = {p["name"]: p for p in parameters}
    assert by_name["Idempotency-Key"]["in"] == "header"
    assert by_name["Idempotency-Key"]["required"] is True


def test_content_codings_are_the_ones_the_sink_sends(spec: dict[str, Any]) -> None:
    operation = spec["paths"][BATCHES_PATH]["post"]
    encoding = {p["name"]: p for p in map(partial(resolve, spec), operation["parameters"])}["Content-Encoding"]
    # Optional: `compression: none` sends plain JSON without the header.
    assert encoding["required"] is False
    assert set(encoding["schema"]["enum"]) == set(get_args(Coding)) - {"identity"}
    # Every answer a sink learns the codings from declares the header, and its example names zstd.
    answers = [
        operation["responses"]["415"],
        resolve(spec, operation["responses"]["200"]),
        spec["paths"][CHECKPOINT_PATH]["get"]["responses"]["200"],
        spec["paths"][HEALTH_PATH]["get"]["responses"]["200"],
    ]
    for answer in answers:
        header = resolve(spec, answer["headers"]["Accept-Encoding"])
        [example] = header["schema"]["examples"]
        assert "zstd" in accepted_codings(example)


def test_envelope_and_streams_match_the_code(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    assert set(schemas["Envelope"]["properties"]) == {f.name for f in msgspec.structs.fields(Envelope)}
    assert set(schemas["Stream"]["enum"]) == set(STREAMS)
    assert set(spec["info"]["x-stream-schemas"]) == set(STREAMS)
    assert set(schemas["Batch"]["required"]) == {"batch_id", "source", "stream", "schema_version", "records"}


def test_security_schemes(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}
    assert schemes["apiKey"]["in"] == "header" and schemes["apiKey"]["name"] == "X-API-Key"
    assert "clientCredentials" in schemes["oauth2"]["flows"]


def test_checkpoint_examples_are_what_the_client_reads(spec: dict[str, Any]) -> None:
    operation = spec["paths"][CHECKPOINT_PATH]["get"]
    [source] = operation["parameters"]
    assert (source["name"], source["in"], source["required"]) == ("source", "query", True)
    assert {"200", "401", "404"} <= set(operation["responses"])
    content = operation["responses"]["200"]["content"]["application/json"]
    schema = resolve(spec, content["schema"])
    assert set(schema["required"]) | {"streams"} == set(schema["properties"])
    assert set(resolve(spec, schema["properties"]["streams"]["propertyNames"])["enum"]) == set(STREAMS)
    examples = {name: example["value"] for name, example in content["examples"].items()}
    for value in examples.values():
        assert set(value) <= set(schema["properties"]) and set(schema["required"]) <= set(value)
    holds = parse_checkpoint(examples["holds"])
    assert holds.streams is not None and holds.newest == max(holds.streams.values())
    assert holds.holding(STREAMS) == ["accounts", "invoices", "collections"]
    assert parse_checkpoint(examples["empty"]) == Holdings(None)

"""Benchmark: records per second through the HTTP sink's push to a trivial loopback receiver.

    .venv/bin/python bench/http_push.py --records 100000 --batch-size 2000 --compression auto

The receiver runs in a process of its own, since the loyalty core is another machine and its CPU is not
the sink's: a ThreadingHTTPServer (HTTP/1.1, keep-alive) that reads each body, decodes it (zstd, gzip or
none), counts its records and answers 200 with an ack, naming `zstd, gzip` in Accept-Encoding like a
1.1.0 core. The records are invoice envelopes of about 700 bytes (every field of the schema, amounts,
accounts, dates and e-invoice UUIDs varying, no lines), made before the clock starts: what is timed is
the sink's own work per batch (splicing the body, compressing it, the request and its answer), batches
pushed one after another from one thread, as one pusher thread would.

Not a test: the figures go in the README. Target: at least 50,000 records/s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import random
import subprocess
import sys
import threading
import time
import uuid
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import msgspec
import requests
import zstandard

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mapping.schema import SCHEMA_VERSION  # noqa: E402
from sinks.base import Batch  # noqa: E402
from sinks.http import HttpSink, HttpSinkSettings  # noqa: E402

SOURCE = "bench"
STREAM = "invoices"
CENT = Decimal("0.01")
_CURRENCIES = (("TRY", Decimal("1.000000")),) * 8 + (("EUR", Decimal("36.412500")), ("USD", Decimal("34.180200")))


# --- the records ---------------------------------------------------------------------------------------------


def invoice_lines(count: int, seed: int = 11) -> list[bytes]:
    """`count` NDJSON invoice envelopes, each ending in a newline; the same ones for the same seed."""
    rng = random.Random(seed)
    start = dt.date(2026, 1, 1)
    lines = []
    for n in range(1, count + 1):
        day = start + dt.timedelta(days=rng.randrange(365))
        currency, rate = rng.choice(_CURRENCIES)
        gross = Decimal(rng.randrange(5_000, 5_000_000)) / 100
        discount = (gross * Decimal(rng.choice((0, 0, 0, 2, 5, 10))) / 100).quantize(CENT)
        net = gross - discount
        vat = (net * Decimal("0.20")).quantize(CENT)
        totals = {"gross": gross, "discount": discount, "net": net, "vat": vat, "total": net + vat}
        data = {
            "flags": [],
            "number": f"SF2026{n:06d}",
            "account_code": f"120.01.{rng.randrange(1, 3000):04d}",
            "date": day,
            "issued_at": dt.datetime.combine(day, dt.time(8 + rng.randrange(10), rng.randrange(60), rng.randrange(60)))
            .replace(tzinfo=dt.timezone(dt.timedelta(hours=3)))
            .isoformat(),
            "currency": currency,
            "rate": rate,
            "totals": totals,
            "totals_local": {k: (v * rate).quantize(CENT) for k, v in totals.items()},
            "discrepancies": [],
            "document_no": f"EAR2026{n:09d}",
            "kind": "sale",
            "due_date": day + dt.timedelta(days=rng.choice((0, 30, 45, 60, 90))),
            "cancelled": False,
            "original_invoice": None,
            "e_invoice_uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)) if rng.random() < 0.6 else None,
            "sales_rep_code": f"SR{rng.randrange(1, 13):02d}",
            "warehouse_code": str(rng.randrange(1, 6)),
            "lines": [],
        }
        envelope = {
            "stream": STREAM,
            "source": SOURCE,
            "key": f"001:01:{n}",
            "op": "upsert",
            "schema_version": SCHEMA_VERSION,
            "data": data,
        }
        lines.append(msgspec.json.encode(envelope) + b"\n")
    return lines


def batches(records: int, batch_size: int) -> list[Batch]:
    lines = invoice_lines(records)
    created = dt.datetime.now(dt.UTC)
    return [
        Batch(str(uuid.uuid4()), SOURCE, STREAM, len(chunk), b"".join(chunk), created)
        for chunk in (lines[i : i + batch_size] for i in range(0, records, batch_size))
    ]


# --- the receiver (its own process) --------------------------------------------------------------------------


class _Body(msgspec.Struct):
    records: list[msgspec.Raw]  # a count is all the receiver needs: the records stay undecoded


class _Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()  # one pusher sends one batch at a time, but the counts must not rely on it
        self.records = 0
        self.batches = 0
        self.body_bytes = 0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # http.server writes an answer's headers and body apart: with Nagle on, the body waits for the client's
    # delayed ACK of the headers (40 ms on Linux) on every request, which no production server does.
    disable_nagle_algorithm = True
    server: _Receiver

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        coding = self.headers.get("Content-Encoding", "identity")
        if coding == "zstd":
            body = zstandard.ZstdDecompressor().decompressobj().decompress(raw)
        elif coding == "gzip":
            body = gzip.decompress(raw)
        else:
            body = raw
        count = len(msgspec.json.decode(body, type=_Body).records)
        with self.server.lock:
            self.server.records += count
            self.server.batches += 1
            self.server.body_bytes += len(raw)
        self._reply({"accepted": count, "rejected": []})

    def do_GET(self) -> None:
        s = self.server
        self._reply({"records": s.records, "batches": s.batches, "body_bytes": s.body_bytes})

    def _reply(self, document: dict[str, Any]) -> None:
        payload = json.dumps(document).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Accept-Encoding", "zstd, gzip")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def serve() -> None:
    """Print `listening on <url>`, then serve until standard input closes (the benchmark ended or died)."""
    with _Receiver() as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
        sys.stdin.read()
        server.shutdown()


# --- the measurement -----------------------------------------------------------------------------------------


def push_rate(records: int = 100_000, batch_size: int = 2000, compression: str = "auto") -> dict[str, float | str]:
    """Push `records` invoice envelopes in batches of `batch_size` through HttpSink.push to a loopback receiver.

    Returns records, seconds (wall), cpu_seconds (this process: the sink's work; the receiver's is its
    own process's), records_per_second, bytes_sent (request bodies as sent) and compression (the
    content coding of the last batch: under auto the first goes gzip, the rest as the receiver names).
    """
    work = batches(records, batch_size)
    receiver = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert receiver.stdout is not None
        url = receiver.stdout.readline().removeprefix("listening on ").strip()
        if not url.startswith("http://"):
            raise RuntimeError(f"the receiver did not start: {url!r}")
        sink = HttpSink(
            HttpSinkSettings.model_validate(
                {"kind": "http", "url": url, "auth": {"kind": "none"}, "compression": compression}
            )
        )
        try:
            wall, cpu = time.perf_counter(), time.process_time()
            for batch in work:
                sink.push(batch)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            coding = sink.coding
        finally:
            sink.close()
        stats = requests.get(url, timeout=10).json()
    finally:
        if receiver.stdin is not None:
            receiver.stdin.close()
        try:
            receiver.wait(10)
        except subprocess.TimeoutExpired:
            receiver.kill()
            receiver.wait()
        if receiver.stdout is not None:
            receiver.stdout.close()
    if stats["records"] != records:
        raise RuntimeError(f"the receiver counted {stats['records']} records of {records}")
    return {
        "records": records,
        "seconds": round(wall, 3),
        "cpu_seconds": round(cpu, 3),
        "records_per_second": round(records / wall),
        "bytes_sent": stats["body_bytes"],
        "compression": coding,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--compression", choices=("auto", "zstd", "gzip", "none"), default="auto")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)  # the receiver process
    args = parser.parse_args(argv)
    if args.serve:
        return serve()
    from dealersync.logs import setup

    setup("WARNING", "json")  # the sink's per-batch info lines would bury the result
    print(json.dumps(push_rate(args.records, args.batch_size, args.compression)))


if __name__ == "__main__":
    main()

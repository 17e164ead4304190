"""An HTTP server on a loopback port in a background thread: what the ERP emulators (SAP S/4 and ECC, 1C)
stand on, so the tests, `dealersync demo` and the benchmark talk to a real server.

    class MyEmulator(Served):
        def __init__(self, scenario):
            self.server = LoopbackServer(MyHandler, owner=self)

    with MyEmulator(scenario) as erp:   # started; closed on the way out
        ...erp.server.origin...
"""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

__all__ = ["EmulatorHandler", "LoopbackServer", "Served"]


class LoopbackServer(ThreadingHTTPServer):
    """A threading HTTP server; `owner` is the emulator its handlers answer for."""

    daemon_threads = True  # a handler asleep in a "timeout" fault must not hold up close()

    def __init__(
        self, handler: type[BaseHTTPRequestHandler], *, owner: Any = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.owner = owner
        super().__init__((host, port), handler)
        self._thread: threading.Thread | None = None

    @property
    def origin(self) -> str:
        """http://host:port"""
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join(5)
            self._thread = None
        self.server_close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet about clients that hung up (a timed-out reader); anything else is a bug worth printing."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class EmulatorHandler(BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1 without access logs (emulators keep their own request log)."""

    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes: with Nagle's algorithm on, the body waits for the client's
    # delayed ACK, ~40 ms on every answer of a kept-alive connection.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        return


class Served:
    """start/close and the context manager for an object whose `server` is a LoopbackServer."""

    server: LoopbackServer

    def start(self) -> Self:
        self.server.start()
        return self

    def close(self) -> None:
        self.server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

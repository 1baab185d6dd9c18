"""A webhook receiver on 127.0.0.1 for tests: records every request and answers from a script."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """``answers`` are popped per request (status, delay seconds); when empty, ``default`` answers."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    answers: deque[tuple[int, float]] = field(default_factory=deque)
    default: int = 204
    # What every answer carries: an internal service's body and headers must never be shown back.
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def script(self, *answers: int | tuple[int, float]) -> None:
        for answer in answers:
            self.answers.append(answer if isinstance(answer, tuple) else (answer, 0.0))


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    """A receiver on a free port, stopped on exit."""
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            with receiver.lock:
                receiver.requests.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                status, delay = receiver.answers.popleft() if receiver.answers else (receiver.default, 0.0)
            if delay:
                time.sleep(delay)
            self.send_response(status)
            for name, value in receiver.headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(receiver.body)))
            self.end_headers()
            self.wfile.write(receiver.body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()

"""The faults of bench/fault_test.py: a proxy in front of Nue, and relays that cut a service off.

`NueProxy` forwards each call to the emulator and then answers as its next matching rule says:
the answer dropped, the connection reset, a 502 page, malformed JSON, or no answer for longer
than the portal waits. Unless the rule says `before`, Nue has done the work by then: these are
the lost answers that the portal must resolve by reading Nue, never by sending again.

`Relay` sits between the portal and PostgreSQL or Redis. Its faults are kernel packet filters on
the relay's own port (iptables, root only), because a process cannot fake the two ways a network
fails: refused, where every packet is answered with a reset, and blackholed, where packets vanish
and only the client's own timeouts end the wait.
"""

from __future__ import annotations

import contextlib
import re
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

# What the portal hears instead of Nue's answer; "answer" passes Nue's answer on (after `then`).
MODES = ("answer", "drop", "reset", "502", "malformed", "hang")
# Longer than the portal's read timeout for Nue (orders.nue DEFAULT_TIMEOUT), so that it gives up.
HANG_SECONDS = 20.0
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"}


@dataclass
class Rule:
    method: str
    path: str  # a regular expression matched against the whole path
    mode: str
    before: bool = False  # fail without forwarding: Nue never sees the call
    then: Callable[[], None] | None = None  # runs after Nue answered, before the portal hears
    times: int = 1

    def matches(self, method: str, path: str) -> bool:
        return method == self.method and re.fullmatch(self.path, path) is not None


class NueProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.rules: list[Rule] = []
        self.fired: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()
        self._client = httpx.Client(timeout=60)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                proxy.handle(self)

            do_POST = do_PATCH = do_PUT = do_DELETE = do_GET

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}{self._prefix()}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _prefix(self) -> str:
        return "/" + self.upstream.split("/", 3)[3] if self.upstream.count("/") >= 3 else ""

    def add(self, rule: Rule) -> None:
        with self._lock:
            self.rules.append(rule)

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def _take(self, method: str, path: str) -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if rule.matches(method, path):
                    rule.times -= 1
                    if rule.times <= 0:
                        self.rules.remove(rule)
                    self.fired.append((method, path, rule.mode))
                    return rule
        return None

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        method = handler.command
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        path = handler.path.split("?", 1)[0].removeprefix(self._prefix())
        rule = self._take(method, path)
        if rule is not None and rule.before:
            self._fail(handler, rule.mode)
            return
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in HOP_BY_HOP}
        headers.pop("Host", None)
        answer = self._client.request(
            method,
            self.upstream + handler.path.removeprefix(self._prefix()),
            content=body,
            headers=headers,
        )
        if rule is not None and rule.then is not None:
            rule.then()
        if rule is not None and rule.mode != "answer":
            self._fail(handler, rule.mode)
            return
        handler.send_response(answer.status_code)
        for name, value in answer.headers.items():
            if name.lower() not in HOP_BY_HOP:
                handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(answer.content)))
        handler.end_headers()
        handler.wfile.write(answer.content)

    def _fail(self, handler: BaseHTTPRequestHandler, mode: str) -> None:
        handler.close_connection = True
        if mode == "hang":
            time.sleep(HANG_SECONDS)
            return
        if mode == "drop":
            return
        if mode == "reset":
            # Linger zero: closing sends a reset instead of an orderly end.
            handler.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
            handler.connection.close()
            return
        if mode == "502":
            body = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
            content_type = "text/html"
            handler.send_response(502)
        else:
            body = b'{"status":"SUCCESS","data":{"order":{"id":'
            content_type = "application/json"
            handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._client.close()


class Relay:
    """Forwards every connection on its own loopback port to `upstream_port`."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.state = "up"
        self._rules: list[list[str]] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()

    def refuse(self) -> None:
        """Every packet to the relay is answered with a reset: new connections are refused, open
        ones fail at their next use (a restarting server)."""
        self._filter(
            [["-p", "tcp", "--dport", str(self.port), "-j", "REJECT", "--reject-with", "tcp-reset"]]
        )
        self.state = "refusing"

    def blackhole(self) -> None:
        """Packets to and from the relay vanish: connecting and reading wait for a timeout."""
        self._filter(
            [
                ["-p", "tcp", "--dport", str(self.port), "-j", "DROP"],
                ["-p", "tcp", "--sport", str(self.port), "-j", "DROP"],
            ]
        )
        self.state = "blackholed"

    def restore(self) -> None:
        for rule in self._rules:
            subprocess.run(["iptables", "-D", "INPUT", *rule], check=False, timeout=10)
        self._rules.clear()
        self.state = "up"

    def _filter(self, rules: list[list[str]]) -> None:
        self.restore()
        for rule in rules:
            subprocess.run(["iptables", "-I", "INPUT", *rule], check=True, timeout=10)
            self._rules.append(rule)

    def close(self) -> None:
        self.restore()
        self.listener.close()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        # Either side ending ends both, as a real connection to the server would.
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


def iptables_available() -> bool:
    try:
        return (
            subprocess.run(["iptables", "-L", "-n"], capture_output=True, timeout=10).returncode
            == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False

"""A loopback proxy in front of the moto server: AWS as it is on a slow or bad day. Used by the end-to-end and
reliability tests.

The app under test talks to it through `AWS_ENDPOINT_URL` like it would to AWS. Every request is classified
(botocore service id and operation, read from the SigV4 credential scope, `X-Amz-Target`, the query `Action` or
the REST route in botocore's own service models) and counted, so tests can count `DeleteTable` calls at the AWS
side. Faults are answered in each service's real wire format (`tests.faults.error_wire`), so the app's botocore
parses and retries them exactly as it would AWS's. Modes:

- `throttle`: a fraction of requests answered with the service's throttling error (seeded, reproducible);
- `deny(...)`: AccessDenied for the requests a predicate picks;
- `delay`: every request waits this many seconds first (slow AWS);
- `down()` / `up()`: stop and start listening on the same port (AWS unreachable: connection refused);
- `rules`: callables that may answer a request themselves (e.g. a deletion that never finishes).
"""

from __future__ import annotations

import contextlib
import http.client
import random
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import botocore.session

from tests.faults import SERVICES, error_wire

# SigV4 signing name -> botocore service model name (API Gateway v1 and v2 share "apigateway": told by path)
_MODELS = {
    "sagemaker": "sagemaker",
    "dynamodb": "dynamodb",
    "logs": "logs",
    "lambda": "lambda",
    "iam": "iam",
    "sts": "sts",
    "s3": "s3",
    "apigateway": "apigateway",
}
# botocore service model name -> botocore service id (hyphenised, as in tests.faults.SERVICES)
_IDS = {"logs": "cloudwatch-logs", "apigateway": "api-gateway"}
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")

Response = tuple[int, dict[str, str], bytes]


@dataclass(frozen=True)
class Request:
    service: str  # botocore service id: "sagemaker", "api-gateway", "cloudwatch-logs"...
    operation: str  # "DeleteTable"; "?" when it could not be told
    method: str
    path: str
    body: bytes

    @property
    def name(self) -> str:
        return f"{self.service}.{self.operation}"


@cache
def _routes(model_name: str) -> list[tuple[str, re.Pattern[str], frozenset[str], int, str]]:
    """(method, path regex, query keys the route requires, specificity, operation) for a REST service."""
    model = botocore.session.get_session().get_service_model(model_name)
    routes = []
    for op in model.operation_names:
        http = model.operation_model(op).http
        uri = str(http["requestUri"])
        path, _, query = uri.partition("?")
        keys = frozenset(k.split("=")[0] for k in query.split("&") if k)
        pattern = re.sub(r"\\\{[^}]+\\\+\\\}", ".+", re.escape(path))
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern)
        literal = len(re.sub(r"\{[^}]+\}", "", path))
        routes.append((str(http["method"]), re.compile(f"^{pattern}/?$"), keys, literal + 100 * len(keys), op))
    return routes


def classify(method: str, path: str, headers: Any, body: bytes) -> Request:
    scope = _SCOPE.search(str(headers.get("Authorization", "")))
    signing = scope.group(1) if scope else "?"
    model = _MODELS.get(signing, signing)
    url = urlsplit(path)
    if model == "apigateway" and url.path.startswith("/v2/"):
        model = "apigatewayv2"
    service = _IDS.get(model, model)
    operation = "?"
    target = str(headers.get("X-Amz-Target", ""))
    if target:
        operation = target.rsplit(".", 1)[-1]
    elif model in ("iam", "sts"):
        operation = (parse_qs(body.decode(errors="replace")).get("Action") or ["?"])[0]
    elif model in _MODELS.values() or model == "apigatewayv2":
        query = set(parse_qs(url.query, keep_blank_values=True))
        best = -1
        for route_method, regex, keys, specificity, op in _routes(model):
            if route_method == method and keys <= query and regex.match(url.path) and specificity > best:
                best, operation = specificity, op
    return Request(service, operation, method, path, body)


class FaultProxy:
    def __init__(self, target: str, seed: int = 4) -> None:
        self.delay = 0.0
        # Fraction of requests answered with the service's throttling error. Each service's first request is
        # always throttled, so every service's retry path is exercised whatever order the threads go in.
        self.throttle = 0.0
        self._throttled_services: set[str] = set()
        self.rules: list[Callable[[Request], Response | None]] = []
        self.seen: Counter[str] = Counter()  # "service.Operation" -> requests received
        self.forwarded: Counter[str] = Counter()  # "service.Operation" -> requests that reached moto
        self.injected: Counter[str] = Counter()  # "service.Operation:ErrorCode" -> faults answered
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        parts = urlsplit(target)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._port = 0
        self.server: ThreadingHTTPServer | None = None
        self._connections: set[socket.socket] = set()  # open client connections (HTTP keep-alive)
        self.up()

    # -- life cycle ----------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def up(self) -> None:
        """Listen (again, on the same port after `down`)."""
        server = ThreadingHTTPServer(("127.0.0.1", self._port), self._handler())
        server.daemon_threads = True
        server.handle_error = lambda *_args: None  # type: ignore[method-assign]  # dropped connections are the point
        self._port = int(server.server_address[1])
        self.server = server
        threading.Thread(target=server.serve_forever, name="fault-proxy", daemon=True).start()

    def down(self) -> None:
        """Stop listening and drop every open connection: AWS unreachable, like an endpoint on a closed port."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        with self._lock:
            connections, self._connections = set(self._connections), set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    stop = down

    # -- faults --------------------------------------------------------------------------------------------------

    def deny(self, picks: Callable[[Request], bool], code: str = "AccessDeniedException") -> None:
        """Answer AccessDenied (in the service's format, HTTP 403 for REST, 400 for JSON/query) where `picks`."""

        def rule(request: Request) -> Response | None:
            if not picks(request):
                return None
            protocol = SERVICES[request.service][0]
            status = 403 if protocol.startswith("rest") else 400
            message = (
                "User: arn:aws:sts::123456789012:assumed-role/dogcat-cleanup/bot is not authorized to perform: "
                f"{request.operation} because no identity-based policy allows it (injected)"
            )
            return error_wire(request.service, code, message, status)

        self.rules.append(rule)

    def deletes(self) -> Counter[str]:
        """Delete* requests that reached AWS (moto), by "service.Operation": what was really deleted, how often."""
        with self._lock:
            return Counter({k: v for k, v in self.forwarded.items() if k.split(".", 1)[1].startswith("Delete")})

    def total(self) -> int:
        with self._lock:
            return sum(self.seen.values())

    def total_injected(self, code: str | None = None) -> int:
        with self._lock:
            return sum(n for k, n in self.injected.items() if code is None or k.endswith(f":{code}"))

    def _fault(self, request: Request) -> Response | None:
        for rule in list(self.rules):
            answer = rule(request)
            if answer is not None:
                return answer
        if self.throttle and request.service in SERVICES:
            with self._lock:
                hit = self._random.random() < self.throttle or request.service not in self._throttled_services
                self._throttled_services.add(request.service)
            if hit:
                _protocol, code, status = SERVICES[request.service]
                return error_wire(request.service, code, "Rate exceeded (injected)", status)
        return None

    # -- HTTP ----------------------------------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self
        host, port = self._target

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def setup(self) -> None:
                super().setup()
                with proxy._lock:
                    proxy._connections.add(self.connection)

            def finish(self) -> None:
                with proxy._lock:
                    proxy._connections.discard(self.connection)
                with contextlib.suppress(OSError):
                    super().finish()

            def _send(self, status: int, headers: dict[str, str] | list[tuple[str, str]], data: bytes) -> None:
                self.send_response(status)
                items = headers.items() if isinstance(headers, dict) else headers
                for key, value in items:
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = classify(self.command, self.path, self.headers, body)
                with proxy._lock:
                    proxy.seen[request.name] += 1
                if proxy.delay:
                    time.sleep(proxy.delay)
                fault = proxy._fault(request)
                if fault is not None:
                    status, headers, data = fault
                    code = headers.get("x-amzn-ErrorType") or re.sub(
                        r".*(?:<Code>|\"__type\": \")([^<\"]+).*", r"\1", data.decode(errors="replace"), flags=re.S
                    )
                    with proxy._lock:
                        proxy.injected[f"{request.name}:{code.rsplit('#', 1)[-1]}"] += 1
                    self._send(status, headers, data)
                    return
                with proxy._lock:
                    proxy.forwarded[request.name] += 1
                conn = http.client.HTTPConnection(host, port, timeout=120)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}
                conn.request(self.command, self.path, body=body or None, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                conn.close()
                self._send(resp.status, resp.getheaders(), data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _forward

        return Handler

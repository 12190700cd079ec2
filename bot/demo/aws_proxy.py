"""The loopback AWS proxy in front of moto servers: AWS as it is on a real, slow or bad day. Shared by the tests
(end-to-end, reliability), the benchmarks and anyone who runs it alone; demo and test support, not product code.

boto3 reaches it through ``AWS_ENDPOINT_URL`` like it would AWS. Each request is named the way AWS reads it
(``classify``): the service and region from the SigV4 credential scope; the operation from ``X-Amz-Target`` (JSON
protocols), the ``Action`` field (query protocols: IAM, STS), the method, path, query and headers for S3, and the
REST routes of botocore's own service models for Lambda and API Gateway. Then, in order:

- latency: the request waits ``model.delay(...)`` (per operation, per S3 object) plus ``delay`` seconds;
- faults, answered in the service's real wire format (``error_wire``) so that botocore parses and retries them as
  it would AWS's: ``throttle`` (a seeded fraction of requests; each service's first request always), ``deny(...)``
  (AccessDenied where a predicate picks), ``rules`` (callables that may answer a request themselves), and
  ``down()`` / ``up()`` (stop and start listening on the same port: connection refused);
- routing: with ``routes`` (region -> upstream) each request goes to the moto server of the region that signed it,
  as AWS regions are separate endpoints. ``GLOBAL_SERVICES`` go to the default upstream whatever region signed
  them: IAM and STS are global on AWS, and botocore signs them with the client's own region once an endpoint URL
  is set; S3 stays in one backend because moto cannot model it per region (ListBuckets is account-wide on AWS
  and a bucket is reachable through any region's endpoint). IAM writes are mirrored to every upstream (the default
  one's answer is relayed): every regional service sees the one IAM, and moto's Lambda refuses a role its own
  process does not know;
- the call log: every request counted by ``service.Operation`` (botocore service ids, as fault rules and tests name
  them: ``seen``, ``forwarded``, ``injected``, ``deletes()``) and by ``service:Operation`` (signing names, as IAM
  actions and latency models name them: ``counts()``), per upstream, with moto's time, the peak concurrency and
  an optional timeline.

Run alone: ``python -m bot.demo.aws_proxy --upstream http://127.0.0.1:5000 --default 0.05``
(``--route us-west-2=http://127.0.0.1:5001`` per regional upstream).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import random
import re
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qsl, urlsplit

import botocore.session

# -- AWS errors in each service's wire format ------------------------------------------------------------------

# botocore hyphenised service id -> (wire protocol, throttling error code, HTTP status of that error)
SERVICES: dict[str, tuple[str, str, int]] = {
    "sagemaker": ("json", "ThrottlingException", 400),
    "dynamodb": ("json", "ThrottlingException", 400),
    "cloudwatch-logs": ("json", "ThrottlingException", 400),
    "lambda": ("rest-json", "TooManyRequestsException", 429),
    "api-gateway": ("rest-json", "TooManyRequestsException", 429),
    "apigatewayv2": ("rest-json", "TooManyRequestsException", 429),
    "iam": ("query", "Throttling", 400),
    "sts": ("query", "Throttling", 400),
    "s3": ("rest-xml", "SlowDown", 503),
}

Response = tuple[int, dict[str, str], bytes]  # HTTP status, headers, body


def error_wire(service: str, code: str, message: str, status: int) -> Response:
    """(HTTP status, headers, body) of an AWS error in `service`'s wire format, as AWS sends it."""
    protocol = SERVICES[service][0]
    headers = {"x-amzn-RequestId": "fault-injected"}
    if protocol == "json":
        headers["Content-Type"] = "application/x-amz-json-1.1"
        body = json.dumps({"__type": code, "message": message}).encode()
    elif protocol == "rest-json":
        headers["Content-Type"] = "application/json"
        headers["x-amzn-ErrorType"] = code
        body = json.dumps({"message": message, "Type": "User"}).encode()
    elif protocol == "query":
        headers["Content-Type"] = "text/xml"
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
            "<RequestId>fault-injected</RequestId></ErrorResponse>"
        ).encode()
    else:
        headers["Content-Type"] = "application/xml"
        body = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()
    return status, headers, body


def _error_code(headers: Mapping[str, str], body: bytes) -> str:
    code = headers.get("x-amzn-ErrorType") or re.sub(
        r".*(?:<Code>|\"__type\": \")([^<\"]+).*", r"\1", body.decode(errors="replace"), flags=re.S
    )
    return code.rsplit("#", 1)[-1]


# -- naming the request --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    service: str  # botocore service id: "sagemaker", "api-gateway", "apigatewayv2", "cloudwatch-logs"...
    operation: str  # "DeleteTable"; "GET /first-path-part" when it could not be told
    method: str
    path: str  # the request target: path and query
    body: bytes
    signing: str = ""  # SigV4 signing name: "s3", "apigateway", "logs"...
    region: str = ""

    @property
    def name(self) -> str:
        """The "service.Operation" name (botocore service id), as fault rules and the tests count requests."""
        return f"{self.service}.{self.operation}"

    @property
    def key(self) -> str:
        """The "service:Operation" name (signing name), as IAM actions and latency models name operations."""
        return f"{self.signing}:{self.operation}"

    def __str__(self) -> str:
        return self.key


_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/,\s]+)/([^/,\s]+)/aws4_request")
# signing name -> botocore service id, where they differ (API Gateway v2 signs as "apigateway": told by its path)
_SERVICE_IDS = {"logs": "cloudwatch-logs", "apigateway": "api-gateway"}
_REST_MODELS = frozenset({"lambda", "apigateway", "apigatewayv2"})  # named from botocore's routes

# S3 sub-resources (query keys) -> operation, by method, for a bucket (/bucket) and for an object (/bucket/key).
_S3_BUCKET = {
    "GET": {
        "versions": "ListObjectVersions",
        "uploads": "ListMultipartUploads",
        "location": "GetBucketLocation",
        "tagging": "GetBucketTagging",
        "versioning": "GetBucketVersioning",
        "object-lock": "GetObjectLockConfiguration",
        "policy": "GetBucketPolicy",
        "acl": "GetBucketAcl",
        "lifecycle": "GetBucketLifecycleConfiguration",
        "encryption": "GetBucketEncryption",
    },
    "PUT": {
        "versioning": "PutBucketVersioning",
        "tagging": "PutBucketTagging",
        "object-lock": "PutObjectLockConfiguration",
        "policy": "PutBucketPolicy",
        "lifecycle": "PutBucketLifecycleConfiguration",
    },
    "POST": {"delete": "DeleteObjects"},
    "DELETE": {"tagging": "DeleteBucketTagging", "policy": "DeleteBucketPolicy"},
}
_S3_BUCKET_PLAIN = {"GET": "ListObjects", "PUT": "CreateBucket", "DELETE": "DeleteBucket", "HEAD": "HeadBucket"}
_S3_OBJECT = {
    "GET": {"tagging": "GetObjectTagging", "uploadId": "ListParts", "acl": "GetObjectAcl"},
    "PUT": {"tagging": "PutObjectTagging", "uploadId": "UploadPart", "acl": "PutObjectAcl"},
    "POST": {"uploads": "CreateMultipartUpload", "uploadId": "CompleteMultipartUpload"},
    "DELETE": {"uploadId": "AbortMultipartUpload", "tagging": "DeleteObjectTagging"},
}
_S3_OBJECT_PLAIN = {"GET": "GetObject", "PUT": "PutObject", "DELETE": "DeleteObject", "HEAD": "HeadObject"}


def classify(method: str, target: str, headers: Mapping[str, str], body: bytes) -> Request:
    """The AWS operation of one request. `target` is the request target (path and query); `headers` any case."""
    lower = {k.lower(): v for k, v in headers.items()}
    parts = urlsplit(target)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    signing, region = "unknown", ""
    presigned = "Credential=" + query["X-Amz-Credential"] if "X-Amz-Credential" in query else ""
    scope = _SCOPE.search(lower.get("authorization", "")) or _SCOPE.search(presigned)
    if scope:
        region, signing = scope.group(1), scope.group(2)
    model = "apigatewayv2" if signing == "apigateway" and parts.path.startswith("/v2/") else signing
    service = _SERVICE_IDS.get(model, model)

    def named(operation: str) -> Request:
        return Request(service, operation, method, target, body, signing, region)

    amz_target = lower.get("x-amz-target")
    if amz_target:  # JSON protocols: "SageMaker.ListEndpoints", "DynamoDB_20120810.ListTables"
        return named(amz_target.rsplit(".", 1)[-1])
    action = query.get("Action")
    if action is None and "x-www-form-urlencoded" in lower.get("content-type", ""):
        action = dict(parse_qsl(body.decode("utf-8", "replace"))).get("Action")
    if action:  # query protocols: IAM, STS
        return named(action)
    if signing == "s3":
        return named(_s3_operation(method, parts.path, query, lower))
    if model in _REST_MODELS:
        operation = _rest_operation(model, method, parts.path, set(query))
        if operation:
            return named(operation)
    first = parts.path.strip("/").split("/", 1)[0]
    return named(f"{method} /{first}")


def _s3_operation(method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str]) -> str:
    # Path-style addressing (what botocore uses for an IP-address endpoint): /bucket or /bucket/key. Not from
    # botocore's routes: CopyObject and PutObject share one, told apart by a header.
    bucket, _, key = path.lstrip("/").partition("/")
    if not bucket:
        return "ListBuckets" if method == "GET" else f"{method} /"
    if key:
        if method == "PUT" and "x-amz-copy-source" in headers and "uploadId" not in query:
            return "CopyObject"
        for sub, name in _S3_OBJECT.get(method, {}).items():
            if sub in query:
                return name
        return _S3_OBJECT_PLAIN.get(method, f"{method} object")
    if method == "GET" and query.get("list-type") == "2":
        return "ListObjectsV2"
    for sub, name in _S3_BUCKET.get(method, {}).items():
        if sub in query:
            return name
    return _S3_BUCKET_PLAIN.get(method, f"{method} bucket")


@cache
def _routes(model_name: str) -> list[tuple[str, re.Pattern[str], frozenset[str], int, str]]:
    """(method, path regex, query keys the route requires, specificity, operation) for a REST service."""
    model = botocore.session.get_session().get_service_model(model_name)
    routes = []
    for op in model.operation_names:
        http_route = model.operation_model(op).http
        uri = str(http_route["requestUri"])
        path, _, query = uri.partition("?")
        keys = frozenset(k.split("=")[0] for k in query.split("&") if k)
        pattern = re.sub(r"\\\{[^}]+\\\+\\\}", ".+", re.escape(path))
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern)
        literal = len(re.sub(r"\{[^}]+\}", "", path))
        routes.append((str(http_route["method"]), re.compile(f"^{pattern}/?$"), keys, literal + 100 * len(keys), op))
    return routes


def _rest_operation(model: str, method: str, path: str, query: set[str]) -> str:
    """The most specific of botocore's routes that matches; "" when none does."""
    best, operation = -1, ""
    for route_method, regex, keys, specificity, op in _routes(model):
        if route_method == method and keys <= query and regex.match(path) and specificity > best:
            best, operation = specificity, op
    return operation


# -- latency ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LatencyModel:
    """Seconds added to each call: per operation, else `default`; plus `per_object` x the <Object> entries.

    Keys are ``service:Operation`` (signing name) or a bare ``Operation``; the former wins. ``per_object`` stands
    in for work that grows with the request, e.g. ``{"s3:DeleteObjects": 0.001}`` is one second per 1000 keys.
    """

    default: float = 0.0
    per_operation: Mapping[str, float] = field(default_factory=dict)
    per_object: Mapping[str, float] = field(default_factory=dict)

    def delay(self, request: Request, body: bytes) -> float:
        seconds = self.per_operation.get(request.key, self.per_operation.get(request.operation, self.default))
        per_object = self.per_object.get(request.key, self.per_object.get(request.operation, 0.0))
        if per_object:
            seconds += per_object * body.count(b"<Object>")
        return seconds


NO_LATENCY = LatencyModel()


# -- the call log ----------------------------------------------------------------------------------------------


class CallLog:
    """What the proxy received and answered. Every figure is read and written under `lock`."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: Counter[str] = Counter()  # Request.name -> requests received
        self.forwarded: Counter[str] = Counter()  # Request.name -> requests that reached moto
        self.injected: Counter[str] = Counter()  # "Request.name:ErrorCode" -> faults answered
        self.calls: Counter[str] = Counter()  # Request.key -> requests answered, faults included
        self.by_upstream: Counter[str] = Counter()  # forwarded requests per upstream (region, or "default")
        self.upstream_seconds: dict[str, float] = {}  # Request.key -> time moto took to answer, summed
        self.delay_seconds = 0.0  # latency added, summed over calls
        self.in_flight = 0
        self.peak_in_flight = 0  # most calls in progress at once: the concurrency a client reached
        self.keep_timeline = False
        self.timeline: list[tuple[str, float, float]] = []  # (Request.key, arrived, answered), time.time()

    def arrive(self, request: Request) -> None:
        with self.lock:
            self.seen[request.name] += 1
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def answered(self, request: Request, delay: float, upstream: float, target: str | None, arrived: float) -> None:
        """`target`: the upstream that answered, None for a fault answered by the proxy itself."""
        with self.lock:
            if self.keep_timeline:
                self.timeline.append((request.key, arrived, time.time()))
            self.in_flight -= 1
            self.calls[request.key] += 1
            self.delay_seconds += delay
            if target is not None:
                self.by_upstream[target] += 1
                self.upstream_seconds[request.key] = self.upstream_seconds.get(request.key, 0.0) + upstream

    def reset(self) -> None:
        with self.lock:
            for counter in (self.seen, self.forwarded, self.injected, self.calls, self.by_upstream):
                counter.clear()
            self.timeline.clear()
            self.upstream_seconds.clear()
            self.delay_seconds = 0.0
            self.peak_in_flight = self.in_flight


# -- the proxy -------------------------------------------------------------------------------------------------

# Not forwarded: they describe this hop, not the request (the body is re-sent whole, with its own length).
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "expect",
        "content-length",
    }
)
UPSTREAM_TIMEOUT = 300.0  # seconds; moto lists a 20k-version bucket in a few seconds
IDLE_TIMEOUT = 120.0  # seconds a kept-alive client connection may stay idle before its thread ends
GLOBAL_SERVICES = frozenset({"iam", "sts", "s3"})  # signing names routed to the default upstream
MIRRORED_SERVICES = frozenset({"iam"})  # writes go to every upstream
_READ_PREFIXES = ("Get", "List", "Simulate", "Generate")
_DENIED = (
    "User: arn:aws:sts::123456789012:assumed-role/dogcat-cleanup/bot is not authorized to perform: "
    "{operation} because no identity-based policy allows it (injected)"
)
Upstream = tuple[str, int]
Answer = tuple[int, str | None, list[tuple[str, str]], bytes]  # status, reason, headers, body


class AwsProxy:
    """The proxy, on 127.0.0.1 only. Use as a context manager, or start() / stop()."""

    def __init__(
        self,
        upstream: str,
        model: LatencyModel = NO_LATENCY,
        port: int = 0,
        routes: Mapping[str, str] | None = None,
        seed: int = 4,
    ) -> None:
        """`upstream`: the moto server for everything not routed; `routes`: region -> the moto server of that
        region (global services and S3 always go to `upstream`)."""
        self.upstream = _loopback(upstream)
        self.routes = {region: _loopback(url) for region, url in (routes or {}).items()}
        self.model = model
        self.delay = 0.0  # seconds every request waits on top of the model (slow AWS)
        # Fraction of requests answered with the service's throttling error. Each service's first request is
        # always throttled, so every service's retry path is exercised whatever order the threads go in.
        self.throttle = 0.0
        self.rules: list[Callable[[Request], Response | None]] = []
        self.log = CallLog()
        self._throttled_services: set[str] = set()
        self._random = random.Random(seed)
        self._connections: set[socket.socket] = set()  # open client connections (HTTP keep-alive)
        self._port = port
        self._server: _ProxyServer | None = self._bind()
        self._thread: threading.Thread | None = None

    # -- life cycle ----------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def _bind(self) -> _ProxyServer:
        server = _ProxyServer(("127.0.0.1", self._port), _Handler)
        server.proxy = self
        self._port = int(server.server_address[1])
        return server

    def start(self) -> AwsProxy:
        if self._server is None:
            self._server = self._bind()
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="aws-proxy", daemon=True
        )
        self._thread.start()
        return self

    def up(self) -> None:
        """Listen again, on the same port, after `down`."""
        self.start()

    def down(self) -> None:
        """Stop listening and drop every open connection: AWS unreachable, like an endpoint on a closed port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self.log.lock:
            connections, self._connections = set(self._connections), set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        self.down()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> AwsProxy:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- routing -------------------------------------------------------------------------------------------------

    def route(self, request: Request) -> list[tuple[str, Upstream]]:
        """Where a request goes: (name, host and port) of the upstream whose answer is relayed, then any mirrors."""
        names = {target: region for region, target in reversed(list(self.routes.items()))}

        def named(target: Upstream) -> tuple[str, Upstream]:
            return names.get(target, "default"), target

        if request.signing in GLOBAL_SERVICES or request.region not in self.routes:
            targets = [named(self.upstream)]
        else:
            targets = [named(self.routes[request.region])]
        if request.signing in MIRRORED_SERVICES and not request.operation.startswith(_READ_PREFIXES):
            for target in [self.upstream, *self.routes.values()]:
                if all(target != known for _, known in targets):
                    targets.append(named(target))
        return targets

    # -- faults --------------------------------------------------------------------------------------------------

    def deny(self, picks: Callable[[Request], bool], code: str = "AccessDeniedException") -> None:
        """Answer AccessDenied (in the service's format, HTTP 403 for REST, 400 for JSON/query) where `picks`."""

        def rule(request: Request) -> Response | None:
            if not picks(request):
                return None
            status = 403 if SERVICES[request.service][0].startswith("rest") else 400
            return error_wire(request.service, code, _DENIED.format(operation=request.operation), status)

        self.rules.append(rule)

    def fault(self, request: Request) -> Response | None:
        """The fault this request is answered with, if any: the first rule's, else a throttling error."""
        for rule in list(self.rules):
            answer = rule(request)
            if answer is not None:
                return answer
        if self.throttle and request.service in SERVICES:
            with self.log.lock:
                hit = self._random.random() < self.throttle or request.service not in self._throttled_services
                self._throttled_services.add(request.service)
            if hit:
                _protocol, code, status = SERVICES[request.service]
                return error_wire(request.service, code, "Rate exceeded (injected)", status)
        return None

    # -- the call log --------------------------------------------------------------------------------------------

    @property
    def seen(self) -> Counter[str]:
        return self.log.seen

    @property
    def forwarded(self) -> Counter[str]:
        return self.log.forwarded

    @property
    def injected(self) -> Counter[str]:
        return self.log.injected

    def deletes(self) -> Counter[str]:
        """Delete* requests that reached AWS (moto), by "service.Operation": what was really deleted, how often."""
        with self.log.lock:
            return Counter({k: v for k, v in self.log.forwarded.items() if k.split(".", 1)[1].startswith("Delete")})

    def total_injected(self, code: str | None = None) -> int:
        with self.log.lock:
            return sum(n for k, n in self.log.injected.items() if code is None or k.endswith(f":{code}"))

    def reset(self) -> None:
        self.log.reset()

    def counts(self) -> dict[str, int]:
        """Calls per operation since the last reset, e.g. {"s3:DeleteObjects": 11}."""
        with self.log.lock:
            return dict(self.log.calls)

    def total(self) -> int:
        """Requests received since the last reset."""
        with self.log.lock:
            return sum(self.log.seen.values())

    def keep_timeline(self, keep: bool = True) -> None:
        """Record (operation, arrived, answered) of every call from now on (wall clock, time.time())."""
        with self.log.lock:
            self.log.keep_timeline = keep

    def timeline(self) -> list[tuple[str, float, float]]:
        """The calls recorded since the last reset, in the order they were answered."""
        with self.log.lock:
            return list(self.log.timeline)

    def per_upstream(self) -> dict[str, int]:
        """Calls per upstream since the last reset, by the region it serves ("default" when it serves none);
        mirrored writes are not counted."""
        with self.log.lock:
            return dict(self.log.by_upstream)

    def peak_concurrency(self) -> int:
        """Most calls in progress at once since the last reset."""
        with self.log.lock:
            return self.log.peak_in_flight

    def upstream_seconds(self, op: str | None = None) -> float:
        """Time moto took to answer (all calls, or one "service:Operation"'s) since the last reset, summed.

        For calls made one after the other this is wall time spent in moto; concurrent calls overlap.
        """
        with self.log.lock:
            if op is not None:
                return self.log.upstream_seconds.get(op, 0.0)
            return sum(self.log.upstream_seconds.values())

    # -- one request ---------------------------------------------------------------------------------------------

    def handle(self, handler: _Handler, request: Request, headers: dict[str, str]) -> Answer:
        """Wait, then answer with a fault or with the upstream's answer (writes mirrored); logged either way."""
        self.log.arrive(request)
        arrived = time.time()
        delay = self.model.delay(request, request.body) + self.delay
        targets = self.route(request)
        upstream, answered_by = 0.0, None
        try:
            if delay > 0:
                time.sleep(delay)
            fault = self.fault(request)
            if fault is not None:
                status, fault_headers, data = fault
                with self.log.lock:
                    self.log.injected[f"{request.name}:{_error_code(fault_headers, data)}"] += 1
                return status, None, list(fault_headers.items()), data
            with self.log.lock:
                self.log.forwarded[request.name] += 1
            started = time.perf_counter()
            answer = handler.upstream(targets[0][1], request.body, headers)
            upstream, answered_by = time.perf_counter() - started, targets[0][0]
            if answer[0] < 300:
                for _name, mirror in targets[1:]:
                    handler.upstream(mirror, request.body, headers)
            return answer
        finally:
            self.log.answered(request, delay, upstream, answered_by, arrived)

    def track(self, connection: socket.socket, is_open: bool) -> None:
        with self.log.lock:
            if is_open:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive towards boto3, as AWS does
    timeout = IDLE_TIMEOUT
    # Headers and body go out in two writes: with Nagle's algorithm on, the body waits for the client's delayed
    # ACK (40 ms on Linux), which would add latency nobody asked for.
    disable_nagle_algorithm = True
    server: _ProxyServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        self.server.proxy.track(self.connection, True)

    def finish(self) -> None:
        self.server.proxy.track(self.connection, False)
        with contextlib.suppress(OSError):
            super().finish()

    def do_GET(self) -> None:
        body = self._read_body()
        request = classify(self.command, self.path, dict(self.headers.items()), body)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        if body or self.command in ("POST", "PUT", "PATCH"):
            headers["Content-Length"] = str(len(body))
        self._reply(*self.server.proxy.handle(self, request, headers))

    do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = do_GET

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _reply(self, status: int, reason: str | None, headers: list[tuple[str, str]], payload: bytes) -> None:
        self.send_response_only(status, reason)
        length = str(len(payload))
        for name, value in headers:
            lname = name.lower()
            if lname == "content-length" and self.command == "HEAD":
                length = value  # a HEAD answer tells the length of the body it does not send
            elif lname not in HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", length)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def upstream(self, target: Upstream, body: bytes, headers: dict[str, str]) -> Answer:
        """The request sent to moto on a connection of its own (moto closes each one); its whole answer."""
        conn = http.client.HTTPConnection(target[0], target[1], timeout=UPSTREAM_TIMEOUT)
        try:
            conn.request(self.command, self.path, body=body or None, headers=headers)
            response = conn.getresponse()
            return response.status, response.reason, response.getheaders(), response.read()
        except (OSError, http.client.HTTPException) as e:
            message = f"aws proxy: upstream failed: {e}".encode()
            return 502, "Bad Gateway", [("Content-Type", "text/plain")], message
        finally:
            conn.close()


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    proxy: AwsProxy

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that went away before its answer (an app stopped mid-scan, a connection dropped by `down`)
        # is not an error of the proxy.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


def _loopback(url: str) -> Upstream:
    parts = urlsplit(url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError(f"the AWS proxy only forwards to loopback, not {url}")
    return parts.hostname, parts.port or 80


def _main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.demo.aws_proxy", description=__doc__.split("\n")[0])
    parser.add_argument("--upstream", required=True, help="the moto server, e.g. http://127.0.0.1:5000")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--route", action="append", default=[], metavar="REGION=URL", help="a region's own moto server (repeatable)"
    )
    parser.add_argument("--seconds", type=float, default=3600.0, help="stop after this long (default 3600)")
    parser.add_argument("--default", type=float, default=0.05, help="seconds added to every call (default 0.05)")
    parser.add_argument(
        "--op", action="append", default=[], metavar="OP=SECONDS", help="per operation, e.g. s3:ListObjectVersions=0.1"
    )
    parser.add_argument(
        "--per-object", action="append", default=[], metavar="OP=SECONDS", help="e.g. s3:DeleteObjects=0.001"
    )
    args = parser.parse_args()

    def pairs(items: list[str]) -> dict[str, float]:
        return {k: float(v) for k, _, v in (item.partition("=") for item in items)}

    model = LatencyModel(args.default, pairs(args.op), pairs(args.per_object))
    routes = {k: v for k, _, v in (item.partition("=") for item in args.route)}
    with AwsProxy(args.upstream, model, args.port, routes) as proxy:
        print(f"AWS proxy on {proxy.url} -> {args.upstream}; Ctrl-C stops it", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            time.sleep(args.seconds)
        for op, count in sorted(proxy.counts().items()):
            print(f"{count:8d}  {op}")


if __name__ == "__main__":
    _main()

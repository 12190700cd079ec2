"""A loopback HTTP proxy in front of a moto server: per-call latency by AWS operation, and a count of every call.

moto answers in a few milliseconds and serialises its work; real AWS answers in tens of milliseconds and does not
mind concurrency. This proxy stands in for the network: it names the AWS operation of each request, sleeps for
that operation's latency, then forwards the request unchanged (method, path, query, headers, body) and relays the
answer. boto3 reaches it through ``AWS_ENDPOINT_URL`` (or ``endpoint_url``).

The operation comes from the request itself, the way AWS reads it:

- JSON protocols (SageMaker, DynamoDB, Logs...): the ``X-Amz-Target`` header, e.g. ``SageMaker.ListEndpoints``;
- query protocols (IAM, STS): the ``Action`` field of the form body or of the query string;
- REST protocols (S3, Lambda, API Gateway): the method and the path and query, e.g. ``GET /bucket?versions``.

The service and region come from the SigV4 credential scope of the ``Authorization`` header. Operations are named
``service:Operation`` (``s3:ListObjectVersions``); latencies may be keyed either way.

Routing (optional): with ``routes`` (region -> upstream), each request goes to the moto server of the region in
its credential scope, so that regions are served by separate processes as AWS regions are separate endpoints. The
services listed in ``GLOBAL_SERVICES`` go to the default upstream whatever region signed them: IAM and STS are
global on AWS, and botocore signs them with the client's own region once an endpoint URL is set (not us-east-1);
S3 is kept in one backend because moto cannot model it per region (ListBuckets is account-wide on AWS and a
bucket is reachable through any region's endpoint; split over processes, a bucket created through us-west-2
would be invisible to a ListBuckets signed for us-east-1). IAM writes are mirrored to every upstream (the default
one's answer is relayed): every regional service of AWS sees the one IAM, and moto's Lambda refuses a role its own
process does not know.

Run alone: ``python -m bench.latency_proxy --upstream http://127.0.0.1:5000 --default 0.05``
(``--route us-west-2=http://127.0.0.1:5001`` per regional upstream).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qsl, urlsplit

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

GLOBAL_SERVICES = frozenset({"iam", "sts", "s3"})  # routed to the default upstream, whatever region signed them
MIRRORED_SERVICES = frozenset({"iam"})  # writes go to every upstream
_READ_PREFIXES = ("Get", "List", "Simulate", "Generate")

_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/,\s]+)/([^/,\s]+)/aws4_request")


@dataclass(frozen=True)
class Operation:
    service: str  # SigV4 signing name: s3, sagemaker, lambda, apigateway, iam...
    name: str  # ListObjectVersions, DescribeEndpoint, ...
    region: str = ""

    def __str__(self) -> str:
        return f"{self.service}:{self.name}"


@dataclass(frozen=True)
class LatencyModel:
    """Seconds added to each call: per operation, else `default`; plus `per_object` x the <Object> entries.

    Keys are ``service:Operation`` or a bare ``Operation``; the former wins. ``per_object`` stands in for work
    that grows with the request, e.g. ``{"s3:DeleteObjects": 0.001}`` is one second per 1000-key batch.
    """

    default: float = 0.0
    per_operation: Mapping[str, float] = field(default_factory=dict)
    per_object: Mapping[str, float] = field(default_factory=dict)

    def delay(self, op: Operation, body: bytes) -> float:
        full = str(op)
        seconds = self.per_operation.get(full, self.per_operation.get(op.name, self.default))
        per_object = self.per_object.get(full, self.per_object.get(op.name, 0.0))
        if per_object:
            seconds += per_object * body.count(b"<Object>")
        return seconds


NO_LATENCY = LatencyModel()


# -- naming the operation ------------------------------------------------------------------------------------

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

# REST APIs other than S3: (signing name, method, path pattern) -> operation; first match wins.
_REST: list[tuple[str, str, re.Pattern[str], str]] = [
    (svc, method, re.compile(pattern), name)
    for svc, method, pattern, name in [
        ("lambda", "GET", r"^/2015-03-31/functions/?$", "ListFunctions"),
        ("lambda", "POST", r"^/2015-03-31/functions/?$", "CreateFunction"),
        ("lambda", "GET", r"^/2015-03-31/functions/[^/]+/configuration/?$", "GetFunctionConfiguration"),
        ("lambda", "POST", r"^/2015-03-31/functions/[^/]+/invocations/?$", "Invoke"),
        ("lambda", "GET", r"^/2015-03-31/functions/[^/]+/?$", "GetFunction"),
        ("lambda", "DELETE", r"^/2015-03-31/functions/[^/]+/?$", "DeleteFunction"),
        ("lambda", "GET", r"^/2017-03-31/tags/", "ListTags"),
        ("lambda", "POST", r"^/2017-03-31/tags/", "TagResource"),
        ("apigateway", "GET", r"^/v2/apis/?$", "GetApis"),
        ("apigateway", "POST", r"^/v2/apis/?$", "CreateApi"),
        ("apigateway", "GET", r"^/v2/apis/[^/]+/?$", "GetApi"),
        ("apigateway", "DELETE", r"^/v2/apis/[^/]+/?$", "DeleteApi"),
        ("apigateway", "GET", r"^/restapis/?$", "GetRestApis"),
        ("apigateway", "POST", r"^/restapis/?$", "CreateRestApi"),
        ("apigateway", "GET", r"^/restapis/[^/]+/?$", "GetRestApi"),
        ("apigateway", "DELETE", r"^/restapis/[^/]+/?$", "DeleteRestApi"),
        ("apigateway", "GET", r"^/tags/", "GetTags"),
    ]
]


def classify(method: str, target: str, headers: Mapping[str, str], body: bytes) -> Operation:
    """The AWS operation of one request. `target` is the request target (path and query); `headers` any case."""
    lower = {k.lower(): v for k, v in headers.items()}
    parts = urlsplit(target)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    service, region = "unknown", ""
    scope = _SCOPE.search(lower.get("authorization", "")) or _SCOPE.search(
        "Credential=" + query.get("X-Amz-Credential", "") if "X-Amz-Credential" in query else ""
    )
    if scope:
        region, service = scope.group(1), scope.group(2)

    amz_target = lower.get("x-amz-target")
    if amz_target:  # JSON protocols: "SageMaker.ListEndpoints", "DynamoDB_20120810.ListTables"
        return Operation(service, amz_target.rsplit(".", 1)[-1], region)
    action = query.get("Action")
    if action is None and "x-www-form-urlencoded" in lower.get("content-type", ""):
        action = dict(parse_qsl(body.decode("utf-8", "replace"))).get("Action")
    if action:  # query protocols: IAM, STS
        return Operation(service, action, region)
    if service == "s3":
        return Operation(service, _s3_operation(method, parts.path, query, lower), region)
    for svc, rest_method, pattern, name in _REST:
        if svc == service and rest_method == method and pattern.search(parts.path):
            return Operation(service, name, region)
    first = parts.path.strip("/").split("/", 1)[0]
    return Operation(service, f"{method} /{first}", region)


def _s3_operation(method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str]) -> str:
    # Path-style addressing (what botocore uses for an IP-address endpoint): /bucket or /bucket/key.
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


# -- the proxy -----------------------------------------------------------------------------------------------


class _Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.by_upstream: Counter[str] = Counter()  # calls per upstream (region name, or "default")
        self.upstream_seconds: dict[str, float] = {}  # per operation: time moto took to answer, summed
        self.delay_seconds = 0.0  # latency added, summed over calls
        self.in_flight = 0
        self.peak_in_flight = 0  # most calls in progress at once: the concurrency a client reached
        self.keep_timeline = False
        self.timeline: list[tuple[str, float, float]] = []  # (operation, arrived, answered), time.time()

    def enter(self) -> None:
        with self.lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def record(self, op: str, delay: float, upstream: float, target: str = "default", arrived: float = 0.0) -> None:
        with self.lock:
            if self.keep_timeline:
                self.timeline.append((op, arrived, time.time()))
            self.in_flight -= 1
            self.calls[op] += 1
            self.by_upstream[target] += 1
            self.delay_seconds += delay
            self.upstream_seconds[op] = self.upstream_seconds.get(op, 0.0) + upstream


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive towards boto3, as AWS does
    timeout = IDLE_TIMEOUT
    # Headers and body go out in two writes: with Nagle's algorithm on, the body waits for the client's delayed
    # ACK (40 ms on Linux), which would add latency nobody asked for.
    disable_nagle_algorithm = True
    server: _ProxyServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self._forward()

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

    def _forward(self) -> None:
        body = self._read_body()
        proxy = self.server.proxy
        op = classify(self.command, self.path, dict(self.headers.items()), body)
        delay = proxy.model.delay(op, body)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        if body or self.command in ("POST", "PUT", "PATCH"):
            headers["Content-Length"] = str(len(body))
        targets = proxy.route(op)
        arrived = time.time()
        proxy.stats.enter()
        upstream = 0.0
        try:
            if delay > 0:
                time.sleep(delay)
            started = time.perf_counter()
            status, reason, reply_headers, payload = self._upstream(targets[0][1], body, headers)
            upstream = time.perf_counter() - started
            if status < 300:
                for _name, mirror in targets[1:]:
                    self._upstream(mirror, body, headers)
        finally:
            proxy.stats.record(str(op), delay, upstream, targets[0][0], arrived)

        self.send_response_only(status, reason)
        length = str(len(payload))
        for name, value in reply_headers:
            lname = name.lower()
            if lname == "content-length" and self.command == "HEAD":
                length = value  # a HEAD answer tells the length of the body it does not send
            elif lname not in HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", length)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _upstream(
        self, target: tuple[str, int], body: bytes, headers: dict[str, str]
    ) -> tuple[int, str, list[tuple[str, str]], bytes]:
        """The request sent to moto on a connection of its own (moto closes each one); its whole answer."""
        conn = http.client.HTTPConnection(target[0], target[1], timeout=UPSTREAM_TIMEOUT)
        try:
            conn.request(self.command, self.path, body=body or None, headers=headers)
            response = conn.getresponse()
            return response.status, response.reason, response.getheaders(), response.read()
        except (OSError, http.client.HTTPException) as e:
            message = f"latency proxy: upstream failed: {e}".encode()
            return 502, "Bad Gateway", [("Content-Type", "text/plain")], message
        finally:
            conn.close()


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    proxy: LatencyProxy

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that went away before its answer (an app stopped mid-scan) is not an error of the proxy.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class LatencyProxy:
    """The proxy, on 127.0.0.1 only. Use as a context manager, or start() / stop()."""

    def __init__(
        self,
        upstream: str,
        model: LatencyModel = NO_LATENCY,
        port: int = 0,
        routes: Mapping[str, str] | None = None,
    ) -> None:
        """`upstream`: the moto server for everything not routed; `routes`: region -> the moto server of that
        region (see the module's doc: global services and S3 always go to `upstream`)."""
        self.upstream = _loopback(upstream)
        self.routes = {region: _loopback(url) for region, url in (routes or {}).items()}
        self.model = model
        self.stats = _Stats()
        self._server = _ProxyServer(("127.0.0.1", port), _Handler)
        self._server.proxy = self
        self._thread: threading.Thread | None = None

    def route(self, op: Operation) -> list[tuple[str, tuple[str, int]]]:
        """Where a request goes: (name, host and port) of the upstream whose answer is relayed, then any mirrors."""
        names = {target: region for region, target in reversed(list(self.routes.items()))}

        def named(target: tuple[str, int]) -> tuple[str, tuple[str, int]]:
            return names.get(target, "default"), target

        if op.service in GLOBAL_SERVICES or op.region not in self.routes:
            targets = [named(self.upstream)]
        else:
            targets = [named(self.routes[op.region])]
        if op.service in MIRRORED_SERVICES and not op.name.startswith(_READ_PREFIXES):
            for target in [self.upstream, *self.routes.values()]:
                if all(target != known for _, known in targets):
                    targets.append(named(target))
        return targets

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> LatencyProxy:
        self._thread = threading.Thread(target=self._server.serve_forever, name="latency-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> LatencyProxy:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def reset(self) -> None:
        with self.stats.lock:
            self.stats.calls.clear()
            self.stats.by_upstream.clear()
            self.stats.timeline.clear()
            self.stats.upstream_seconds.clear()
            self.stats.delay_seconds = 0.0
            self.stats.peak_in_flight = self.stats.in_flight

    def counts(self) -> dict[str, int]:
        """Calls per operation since the last reset, e.g. {"s3:DeleteObjects": 11}."""
        with self.stats.lock:
            return dict(self.stats.calls)

    def keep_timeline(self, keep: bool = True) -> None:
        """Record (operation, arrived, answered) of every call from now on (wall clock, time.time())."""
        with self.stats.lock:
            self.stats.keep_timeline = keep

    def timeline(self) -> list[tuple[str, float, float]]:
        """The calls recorded since the last reset, in the order they were answered."""
        with self.stats.lock:
            return list(self.stats.timeline)

    def per_upstream(self) -> dict[str, int]:
        """Calls per upstream since the last reset, by the region it serves ("default" when it serves none);
        mirrored writes are not counted."""
        with self.stats.lock:
            return dict(self.stats.by_upstream)

    def total(self) -> int:
        with self.stats.lock:
            return sum(self.stats.calls.values())

    def peak_concurrency(self) -> int:
        """Most calls in progress at once since the last reset."""
        with self.stats.lock:
            return self.stats.peak_in_flight

    def upstream_seconds(self, op: str | None = None) -> float:
        """Time moto took to answer (all calls, or one operation's) since the last reset, summed over calls.

        For calls made one after the other this is wall time spent in moto; concurrent calls overlap.
        """
        with self.stats.lock:
            if op is not None:
                return self.stats.upstream_seconds.get(op, 0.0)
            return sum(self.stats.upstream_seconds.values())


def _loopback(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError(f"the latency proxy only forwards to loopback, not {url}")
    return parts.hostname, parts.port or 80


def _main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.latency_proxy", description=__doc__.split("\n")[0])
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
    with LatencyProxy(args.upstream, model, args.port, routes) as proxy:
        print(f"latency proxy on {proxy.url} -> {args.upstream}; Ctrl-C stops it", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            time.sleep(args.seconds)
        for op, count in sorted(proxy.counts().items()):
            print(f"{count:8d}  {op}")


if __name__ == "__main__":
    _main()

"""The one moto server on loopback that the tests, the demo and the benchmarks start: moto's ThreadedMotoServer on
127.0.0.1 with our moto gaps applied (bot.demo.moto_gaps) and its request log off."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bot.demo import moto_gaps


def start(port: int = 0) -> tuple[Any, str]:
    """A started moto server on `port` (0: one the system picks) and its URL; stop it with `.stop()`."""
    from moto.server import ThreadedMotoServer

    from bot.demo.launcher import free_port

    moto_gaps.apply()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = port or free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server, f"http://127.0.0.1:{port}"


@contextmanager
def running(port: int = 0) -> Iterator[str]:
    """A moto server for the block: its URL; stopped after."""
    server, url = start(port)
    try:
        yield url
    finally:
        server.stop()


def reset(url: str) -> None:
    """Every account of the server back to empty (moto's reset API)."""
    import requests

    requests.post(f"{url}/moto-api/reset", timeout=10).raise_for_status()

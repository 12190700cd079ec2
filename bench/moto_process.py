"""`python -m bench.moto_process [PORT]`: one moto server in a process of its own, until SIGTERM or stdin closes.

The same server as the tests' and the demo's (bot/demo/moto_server.py: moto with our gaps filled), on 127.0.0.1. Several
of them stand in for independent AWS regional endpoints: each has its own interpreter, so its own GIL. Prints
``READY <port>`` once it answers.
"""

from __future__ import annotations

import signal
import sys
import threading


def main(argv: list[str]) -> int:
    from bot.demo import moto_server

    server, _url = moto_server.start(int(argv[0]) if argv else 0)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    # The parent holds our stdin open; when it goes away (even killed), so do we.
    def watch_parent() -> None:
        sys.stdin.read()
        stop.set()

    threading.Thread(target=watch_parent, daemon=True).start()
    print(f"READY {server.get_host_and_port()[1]}", flush=True)
    while not stop.wait(1.0):
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""`python -m bench.worker bench.module:function '{"arg": ...}'`: one contender run in a fresh interpreter.

The function returns a JSON-able dict with at least "seconds" (the timed part only, imports and client set-up
excluded); the worker adds the process's peak resident memory and prints the dict on one line.
"""

from __future__ import annotations

import importlib
import json
import resource
import sys

from bench.common import RESULT_PREFIX


def main(argv: list[str]) -> int:
    target, payload = argv[0], json.loads(argv[1]) if len(argv) > 1 else {}
    module_name, _, function_name = target.partition(":")
    if not module_name.startswith("bench.") or not function_name:
        print(f"not a bench contender: {target}", file=sys.stderr)
        return 2
    function = getattr(importlib.import_module(module_name), function_name)
    result = dict(function(**payload))
    result["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(RESULT_PREFIX + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

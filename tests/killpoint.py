"""A kill -9 (or SIGSTOP) at an exact point, for the reliability tests.

`KILLPOINT` is a `python -c` script: it runs the kplate CLI with one function wrapped so
that at its Nth call (before or after the real call) the process sends itself SIGNAL
(SIGKILL by default): no clean-up of any kind, at a point that does not depend on timing.
Usage: `[sys.executable, "-c", KILLPOINT, json.dumps(spec), *cli_args]` with spec
`{"target": "module.function", "at": N, "after": bool, "signal": "SIGKILL"}`.
"""

KILLPOINT = r"""
import importlib, json, os, signal, sys
spec = json.loads(sys.argv[1])
module_name, attribute = spec["target"].rsplit(".", 1)
module = importlib.import_module(module_name)
real = getattr(module, attribute)
calls = [0]
def wrapper(*args, **kwargs):
    calls[0] += 1
    hit = calls[0] == spec["at"]
    if hit and not spec["after"]:
        os.kill(os.getpid(), getattr(signal, spec.get("signal", "SIGKILL")))
    result = real(*args, **kwargs)
    if hit and spec["after"]:
        os.kill(os.getpid(), getattr(signal, spec.get("signal", "SIGKILL")))
    return result
setattr(module, attribute, wrapper)
from kplate.cli import main
sys.exit(main(sys.argv[2:]))
"""

#!/usr/bin/env python3
"""run.py: runs every test_* function of tests/e2e/test_*.py against the
running stack and prints 'e2e: N passed, M failed'. Arguments filter by
module or function name substring (each argument may hold several,
comma-separated, as PF_E2E_FILTER does); PF_E2E_EXCLUDE (comma-separated
substrings) leaves tests out.

The order is explicit: a module's ORDER (0 when it has none) first, then
its name. ORDER = 1: scenarios that disturb the stack (the app killed or
restarted, PostgreSQL stopped, other instances beside it), after every
test that needs it quiet. ORDER = 2: checks over what the whole suite did
(its logs, every response it received)."""
import importlib, os, sys, time, traceback

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)


def main(argv):
    exclude = [x for x in os.environ.get("PF_E2E_EXCLUDE", "").split(",") if x]
    # PF_E2E_FILTER=test_cors,test_mail: no label holds a comma, so a comma
    # separates filters (spaces do too: run-all.sh splits the variable)
    argv = [a for arg in argv for a in arg.split(",") if a]
    names = [f[:-3] for f in os.listdir(here) if f.startswith("test_") and f.endswith(".py")]
    modules = {name: importlib.import_module(name) for name in names}
    passed = failed = 0
    started = time.time()
    for name in sorted(names, key=lambda n: (getattr(modules[n], "ORDER", 0), n)):
        module = modules[name]
        for attr in sorted(dir(module)):
            fn = getattr(module, attr)
            if not attr.startswith("test_") or not callable(fn):
                continue
            label = f"{name}.{attr}"
            if argv and not any(a in label for a in argv):
                continue
            if exclude and any(x in label for x in exclude):
                continue
            try:
                fn()
                passed += 1
            except Exception:
                failed += 1
                print(f"FAIL {label}", flush=True)
                traceback.print_exc()
    print(f"e2e ({time.time() - started:.1f}s): {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

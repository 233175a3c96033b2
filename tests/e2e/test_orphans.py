"""Workers die with their master (run after test_faults). The master
killed with SIGKILL used to leave its workers running: orphans that kept
answering on nginx's kept connections and on the listening socket they had
inherited, with the old code and configuration, beside the workers of the
next master. Processes are found through /proc only (no pgrep): the stack's
app is every live process whose environment names the stack's PF_CONFIG, so
this holds under PF_APP_WRAPPER (valgrind) too, and another suite's app on
this machine is not counted."""

ORDER = 1  # disturbs the stack: after the tests that need it quiet (run.py)
import os, signal, subprocess, time
from harness import *

STACK = [os.path.join(os.environ.get("PF_SRC_DIR", os.path.join(os.path.dirname(__file__), "..", "..")), "scripts", "stack")]
STACK_DIR = os.environ.get("PF_STACK_DIR", "/tmp/personaforge-stack")
CONFIG_MARK = b"PF_CONFIG=" + os.path.join(STACK_DIR, "pf-account.conf").encode()
PROCESSES = int(os.environ.get("PF_PROCESSES", "1"))
# the app may run under valgrind (PF_APP_WRAPPER), which starts slowly
STARTUP = max(10, int(os.environ.get("PF_STARTUP_SECONDS", "10")))


def stat(pid):
    """(state, ppid, starttime) of a process, or None when it is gone."""
    try:
        text = open(f"/proc/{pid}/stat").read()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()    # the name may hold spaces and ')'
    return fields[0], int(fields[1]), int(fields[19])


def alive(pid, started):
    """Whether pid is still the process that started at `started` and not a
    zombie (a dead process its new parent has not reaped yet)."""
    s = stat(pid)
    return s is not None and s[0] != "Z" and s[2] == started


def stack_app():
    """{pid: (ppid, starttime)} of every live process of this stack's app."""
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            env = open(f"/proc/{name}/environ", "rb").read().split(b"\0")
        except OSError:
            continue
        s = stat(name)
        if CONFIG_MARK in env and s is not None and s[0] != "Z":
            found[int(name)] = (s[1], s[2])
    return found


def children(pid, processes):
    return {p: v for p, v in processes.items() if v[0] == pid}


def healthy():
    try:
        return get("/healthz").status == 200
    except OSError:
        return False


def test_master_killed_takes_its_workers_and_a_restart_serves_alone():
    master = int(open(os.path.join(STACK_DIR, "app.pid")).read())
    app = stack_app()
    assert master in app, (master, app)
    workers = children(master, app)
    assert len(workers) == PROCESSES, (master, app)
    assert set(app) == {master} | set(workers), f"processes of the app beyond its master and workers: {app}"
    # nginx keeps connections to the workers: the way an orphan went on serving
    uid = new_id()
    for _ in range(2 * PROCESSES + 4):
        expect(get("/api/v1/account", token(uid)), 200)

    os.kill(master, signal.SIGKILL)
    try:
        survivors = lambda: [p for p, (_, started) in workers.items() if alive(p, started)]
        assert wait_until(lambda: not survivors(), 5), \
            f"workers {survivors()} outlived their master {master} (now {stat(survivors()[0])})"
        assert not stack_app(), stack_app()
        # nothing answers for the app any more: nginx says so
        r = get("/api/v1/account", token(uid))
        assert r.status == 502 and r.code == "unavailable", r
    finally:
        # whatever happened, leave the stack with one app: orphans of the old
        # master go first (they would answer beside the new one)
        for p, (_, started) in workers.items():
            if alive(p, started):
                os.kill(p, signal.SIGKILL)
        subprocess.run(STACK + ["start-app"], check=True, capture_output=True, timeout=120)
        assert wait_until(healthy, STARTUP)

    fresh = int(open(os.path.join(STACK_DIR, "app.pid")).read())
    assert fresh != master
    assert wait_until(lambda: len(children(fresh, stack_app())) == PROCESSES, STARTUP), stack_app()
    app = stack_app()
    assert set(app) == {fresh} | set(children(fresh, app)), f"the new master does not serve alone: {app}"
    for _ in range(2 * PROCESSES + 4):
        expect(get("/api/v1/account", token(uid)), 200)
    assert set(stack_app()) == set(app)

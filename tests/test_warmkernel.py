"""Warm kernels (rlbits.pipeline.warmkernel): a forked kernel behaves like an ordinary one, and dies with its server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from conftest import ROOT, myst_chapter
from rlbits.pipeline import warmkernel
from rlbits.pipeline.execute import execute_chapter
from test_pipeline import make_book

pytestmark = pytest.mark.skipif(not warmkernel.enabled(), reason="warm kernels need Linux fork and pidfd")

PROBE = myst_chapter("Probe", """\
    ```{code-cell} ipython3
    :tags: [parameters]
    n = 5
    ```

    ```{code-cell} ipython3
    import os, sys
    import numpy as np
    import matplotlib.pyplot as plt
    from myst_nb import glue
    import rlbits
    from rlbits import record
    seeds = rlbits.setup_chapter(seed=3)
    draws = np.random.default_rng(seeds.spawn(1)[0]).normal(size=n)
    total = record("total", float(draws.sum()))
    record("cwd", os.getcwd())
    record("probe_env", os.environ.get("RLBITS_PROBE", "unset"))
    record("user_names", " ".join(sorted(k for k in globals() if not k.startswith("_") and k not in
                                         {"In", "Out", "get_ipython", "exit", "quit", "open"})))
    fig, ax = plt.subplots()
    ax.plot(np.cumsum(draws))
    glue("fig_probe", fig, display=False)
    plt.close(fig)
    ```

    The total is {glue:text}`total:.6f`.

    ```{glue:figure} fig_probe
    :alt: A random walk.

    A random walk.
    ```
    """)


def _execute(root: Path, out: Path, warm: bool, monkeypatch):
    monkeypatch.setenv("RLBITS_WARM_KERNELS", "1" if warm else "0")
    monkeypatch.setenv("RLBITS_PROBE", "from-the-pipeline")
    run = execute_chapter(root / "chapters/probe.md", out, root=root)
    assert run.ok, run.error
    return (out / "results/probe.json").read_text(), (out / "notebooks/probe.ipynb").read_bytes()


def test_a_warm_kernel_gives_the_same_notebook_and_results_as_an_ordinary_one(tmp_path, monkeypatch):
    root = make_book(tmp_path, {"probe": PROBE})
    cold = _execute(root, tmp_path / "cold", False, monkeypatch)
    warm = _execute(root, tmp_path / "warm", True, monkeypatch)
    server = warmkernel._server
    assert server is not None and server.usable(dict(os.environ))  # the warm runs were forked by a server
    again = _execute(root, tmp_path / "again", True, monkeypatch)  # a second fork of the same server
    assert warmkernel._server is server
    assert warm == cold and again == cold
    results = json.loads(cold[0])
    assert results["cwd"] == str(root) and results["probe_env"] == "from-the-pipeline"
    # nothing a previous chapter (or the server) defined is in the namespace a chapter starts from
    assert results["user_names"].split() == sorted({"draws", "glue", "n", "np", "os", "plt", "rlbits",
                                                    "record", "seeds", "sys", "total"})


def test_a_server_is_started_only_for_several_kernels(monkeypatch):
    """A process that expects one kernel starts it the ordinary way (a server would cost as much as the kernel's own
    imports), starts a server if asked for a second after all, and reuses it; one that expects several, or says
    nothing, forks the first kernel already."""
    started = []

    class Server:  # stands in for the fork server: what matters here is when one is started
        def __init__(self):
            started.append(self)

        def usable(self, env):
            return True

        def spawn(self, args, env, cwd, log):
            return ("forked", args)

        def close(self):
            pass

    monkeypatch.setattr(warmkernel, "WarmServer", Server)
    monkeypatch.setattr(warmkernel, "_server", None)
    monkeypatch.setattr(warmkernel, "_requested", 0)
    monkeypatch.setattr(warmkernel, "_expected", None)
    cmd = [sys.executable, "-m", "ipykernel_launcher", "-f", "k.json"]

    def spawn():
        return warmkernel.spawn(cmd, dict(os.environ), "/", "")

    assert warmkernel.MIN_KERNELS == 2
    warmkernel.expect(1)
    assert spawn() is None and not started  # the one kernel expected: an ordinary one
    assert spawn() == ("forked", ["-f", "k.json"]) and len(started) == 1  # a second one after all: a server
    assert spawn() == ("forked", ["-f", "k.json"]) and len(started) == 1  # which serves the next ones
    for expected in (2, None):
        monkeypatch.setattr(warmkernel, "_server", None)
        monkeypatch.setattr(warmkernel, "_requested", 0)
        warmkernel.expect(expected)
        started.clear()
        assert spawn() == ("forked", ["-f", "k.json"]) and len(started) == 1, expected


def test_a_stale_server_is_replaced(monkeypatch):
    monkeypatch.setattr(warmkernel, "rlbits_fingerprint", lambda: "one")
    server = warmkernel.WarmServer()
    try:
        assert server.usable(dict(os.environ))
        monkeypatch.setattr(warmkernel, "rlbits_fingerprint", lambda: "two")  # an rlbits file changed on disk
        assert not server.usable(dict(os.environ))
        assert not server.usable({**os.environ, "PYTHONPATH": "/elsewhere"})  # modules would come from elsewhere
    finally:
        server.close()


def test_only_ipykernel_commands_are_forked():
    assert warmkernel.spawn(["/bin/echo", "-m", "ipykernel_launcher"], dict(os.environ), "/", "") is None
    assert warmkernel.spawn([sys.executable, "-m", "other_kernel", "-f", "x.json"], dict(os.environ), "/", "") is None


SERVE = """
import os, sys, time
from rlbits.pipeline import warmkernel
server = warmkernel.WarmServer()
kernel = server.spawn(["-c", "pass"], dict(os.environ), "/", "")
print(server.proc.pid, kernel.pid, flush=True)
time.sleep(600)
"""


def test_the_server_and_its_kernels_die_with_the_process_that_started_them(tmp_path):
    """SIGKILL the process that owns a server: the server notices within a fraction of a second and takes the
    kernels it forked with it (a kernel forked with bad arguments would exit at once, so this one is alive only
    because ipykernel is waiting for a connection file that never comes)."""
    conn = tmp_path / "never.json"
    code = SERVE.replace('["-c", "pass"]', json.dumps(["-f", str(conn)]))
    owner = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, text=True, stdout=subprocess.PIPE,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    server_pid, kernel_pid = map(int, owner.stdout.readline().split())
    procs = [psutil.Process(server_pid), psutil.Process(kernel_pid)]
    end = time.time() + 10
    while procs[1].name() != warmkernel.KERNEL_NAME and time.time() < end:  # the child names itself after fork
        time.sleep(0.05)
    assert procs[1].name() == warmkernel.KERNEL_NAME
    owner.send_signal(signal.SIGKILL)
    owner.wait(10)
    end = time.time() + 20
    while any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in procs) and time.time() < end:
        time.sleep(0.1)
    left = [p for p in procs if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    for p in left:
        p.kill()
    assert not left

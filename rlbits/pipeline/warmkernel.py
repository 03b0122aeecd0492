"""Warm kernels: fork each chapter's Jupyter kernel from a process that has already imported the heavy libraries.

Every chapter, and every point of a sweep, runs in a fresh kernel. Most of a fresh kernel's start-up is importing:
numpy, matplotlib, sympy, SciPy, numba (and loading the cached numba kernels of :mod:`rlbits.learners`), IPython and
ipykernel cost about 1.5 s of CPU per kernel, more than many chapters' own computation. So the pipeline starts, once
per executing process that expects several kernels (see :data:`MIN_KERNELS`), a *fork server*
(``python -m rlbits.pipeline.warmkernel SOCKET``) that imports them and then waits.
Each kernel is a ``fork()`` of it: a new process with its own pid, session, environment, working directory, log file
and connection file, which then starts ipykernel exactly as ``python -m ipykernel_launcher -f CONNECTION`` would. Only
the import work is shared (copy-on-write); no chapter state exists before the fork, so a chapter still starts from an
empty namespace. The warm server is not used when its ``rlbits`` source differs from the files on disk (it is
restarted), and when it cannot be started the kernel is launched the ordinary way.

A server costs about as much as the imports of one ordinary kernel, so it pays only in a process that starts several
kernels: a process that expects to start fewer than :data:`MIN_KERNELS` (a one-chapter ``rlbits run``, a build's
worker with one chapter of a wave, a sweep's worker with one point; :func:`expect`) starts its kernels the ordinary
way, and starts a server only if it is asked for more kernels after all.

Lifetimes: the server watches its parent and exits (killing the kernels it forked) within a fraction of a second of
the parent's death; each kernel dies with the server (``PR_SET_PDEATHSIG``). See :mod:`rlbits.kernels`.

Measured by ``tests/test_warmkernel.py`` (the start-up of a warm kernel against an ordinary one, in the same run).
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

#: What the server imports before it forks: what nearly every chapter imports first.
PRELOAD = ("numpy", "scipy.special", "scipy.stats", "matplotlib", "matplotlib.pyplot", "sympy", "numba", "mpmath", "rlbits",
           "rlbits.learners", "IPython", "ipykernel.kernelapp", "matplotlib_inline.backend_inline", "myst_nb")

_LAUNCHER = "ipykernel_launcher"


def rlbits_fingerprint() -> str:
    """The (name, size, mtime) of every ``rlbits`` source file: a server whose fingerprint differs is stale."""
    pkg = Path(__file__).resolve().parents[1]  # the whole rlbits package, not only the pipeline
    parts = []
    for path in sorted(pkg.rglob("*.py")):
        st = path.stat()
        parts.append(f"{path.relative_to(pkg)}:{st.st_size}:{st.st_mtime_ns}")
    return "|".join(parts)


# --- the server ----------------------------------------------------------------------------------------------------

#: The name a forked kernel shows in ``ps``/``top`` (``/proc/PID/comm``): its command line is the server's.
KERNEL_NAME = "rlbits-kernel"


def _die_with_parent() -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    libc.prctl(15, ctypes.c_char_p(KERNEL_NAME.encode()))  # PR_SET_NAME


def _child(request: dict, listener: socket.socket, conn: socket.socket) -> None:
    """In the forked child: become an ordinary ipykernel with the request's argv, environment, cwd and log."""
    try:
        listener.close()
        conn.close()
        os.setsid()  # as jupyter_client's launcher does: a terminal's Ctrl-C is the pipeline's to handle
        _die_with_parent()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        if request.get("log"):
            log = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            os.dup2(log, 1)
            os.dup2(log, 2)
        sys.argv = [_LAUNCHER, *request["args"]]
        if sys.path and sys.path[0] == "":
            sys.path.pop(0)  # ipykernel_launcher removes the cwd entry too
        from ipykernel import kernelapp

        kernelapp.launch_new_instance()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - report and leave; the manager sees the kernel die
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code or 0)


def serve(path: str, fingerprint: str) -> None:
    """Import :data:`PRELOAD`, listen on the Unix socket ``path`` and fork one kernel per request."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the pipeline decides what a Ctrl-C does
    parent = os.getppid()
    for name in PRELOAD:
        try:
            __import__(name)
        except Exception:  # noqa: BLE001 - a module that cannot load is imported by the kernel, or fails there
            pass
    try:
        from rlbits import learners

        learners._ensure_jit()  # load the cached numba kernels once, for every fork
    except Exception:  # noqa: BLE001
        pass
    children: set[int] = set()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path + ".tmp")
    os.rename(path + ".tmp", path)  # the socket appears only when the server is ready
    listener.listen(16)
    try:
        while os.getppid() == parent:
            for pid in list(children):  # reap finished kernels
                try:
                    done, _ = os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    done = pid
                if done:
                    children.discard(pid)
            ready, _, _ = select.select([listener], [], [], 0.2)
            if not ready:
                continue
            conn, _ = listener.accept()
            with conn:
                data = b""
                while not data.endswith(b"\n"):
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                request = json.loads(data or b"{}")
                if request.get("op") == "ping":
                    conn.sendall(json.dumps({"fingerprint": fingerprint}).encode() + b"\n")
                    continue
                pid = os.fork()
                if pid == 0:
                    _child(request, listener, conn)
                children.add(pid)
                conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
    finally:
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        listener.close()
        try:
            os.unlink(path)
        except OSError:
            pass


# --- the client (in the process that executes chapters) ------------------------------------------------------------

class WarmServer:
    """One fork server, started by this process; :meth:`spawn` forks a kernel from it."""

    def __init__(self, startup_timeout: float = 120.0):
        self.dir = tempfile.mkdtemp(prefix="rlw", dir="/tmp" if os.path.isdir("/tmp") else None)
        self.path = os.path.join(self.dir, "s")
        self.fingerprint = rlbits_fingerprint()
        self.owner = os.getpid()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rlbits.pipeline.warmkernel", self.path, self.fingerprint],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=dict(os.environ), cwd=os.getcwd())
        self.env_key = _env_key(os.environ)
        self.deadline = time.monotonic() + startup_timeout

    def _request(self, payload: dict) -> dict:
        while not os.path.exists(self.path):
            if self.proc.poll() is not None or time.monotonic() > self.deadline:
                raise OSError("the warm kernel server did not start")
            time.sleep(0.02)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(60)
            s.connect(self.path)
            s.sendall(json.dumps(payload).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    raise OSError("the warm kernel server closed the connection")
                data += chunk
        return json.loads(data)

    def usable(self, env) -> bool:
        return (self.proc.poll() is None and os.getpid() == self.owner and _env_key(env) == self.env_key
                and rlbits_fingerprint() == self.fingerprint)

    def spawn(self, args: list[str], env: dict, cwd: str, log: str) -> "ForkedKernel":
        reply = self._request({"op": "spawn", "args": args, "env": dict(env), "cwd": cwd, "log": log})
        return ForkedKernel(int(reply["pid"]))

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        try:
            os.unlink(self.path)
            os.rmdir(self.dir)
        except OSError:
            pass


def _env_key(env) -> tuple:
    """What a kernel inherits from the server's start-up and not from its request: where modules come from."""
    return tuple(env.get(k) for k in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "MPLBACKEND", "NUMBA_CACHE_DIR"))


class ForkedKernel:
    """A ``subprocess.Popen`` look-alike for a kernel forked by the server (not this process's child): what
    jupyter_client's ``LocalProvisioner`` calls on its ``process``."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode = None
        self._fd = os.pidfd_open(pid)

    def __del__(self):
        if self.returncode is None:
            try:
                os.close(self._fd)
            except OSError:
                pass

    def poll(self):
        if self.returncode is None and select.select([self._fd], [], [], 0)[0]:
            self.returncode = 0  # exited; its status belongs to the server, which reaps it
            os.close(self._fd)
        return self.returncode

    def wait(self, timeout=None):
        end = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if end is not None and time.monotonic() > end:
                raise subprocess.TimeoutExpired([str(self.pid)], timeout)
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, sig):
        if self.poll() is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def kill(self):
        self.send_signal(signal.SIGKILL)

    def terminate(self):
        self.send_signal(signal.SIGTERM)


_server: WarmServer | None = None
_lock = threading.Lock()

#: The fewest kernels a process must start for its server to pay. The server imports :data:`PRELOAD` once, about as
#: much CPU as a real chapter's kernel spends on its own imports, and each kernel forked from it skips them. Measured
#: (CPU seconds of the whole process tree of ``rlbits run -j 1`` on the book's chapters 1, 1-2 and 1-3, two runs
#: each, on a loaded 2-core machine): ordinary kernels 4.8/5.0, 9.3/9.2, 16.5/15.5; warm 6.2/5.9, 9.1/9.3, 14.9/14.2.
#: So a server costs about 1.2 s more than it saves for one kernel, breaks even at two (where its kernels also start
#: sooner) and saves about 1.4 s for every kernel after. A fixture chapter that imports little loses more.
MIN_KERNELS = 2
_expected: int | None = None  # kernels this process expects to start; None: unknown (start a server at once)
_requested = 0  # kernels this process has asked for, in its whole life


def expect(kernels: int | None) -> None:
    """Say how many kernels this process is about to start (a build's pool worker: its share of a wave; a sweep's
    worker: its share of the points). With fewer than :data:`MIN_KERNELS` its kernels start the ordinary way, until it
    asks for its :data:`MIN_KERNELS`-th; ``None`` (the default) starts the server with the first kernel."""
    global _expected
    with _lock:
        _expected = kernels


def _worth_a_server() -> bool:
    """Called under the lock, once per kernel asked for: whether a server (started or running) should fork it."""
    global _requested
    _requested += 1
    return _server is not None or _expected is None or max(_expected, _requested) >= MIN_KERNELS


def enabled() -> bool:
    """Warm kernels are on for Linux (fork, pidfd) unless ``RLBITS_WARM_KERNELS=0``."""
    return (sys.platform.startswith("linux") and hasattr(os, "pidfd_open")
            and os.environ.get("RLBITS_WARM_KERNELS", "1") != "0")


def close() -> None:
    """Stop this process's warm server, if it has one (it would stop by itself when this process ends)."""
    global _server
    with _lock:
        if _server is not None:
            _server.close()
            _server = None


def spawn(kernel_cmd: list[str], env: dict, cwd: str, log: str) -> ForkedKernel | None:
    """Fork ``kernel_cmd`` (``python -m ipykernel_launcher ARGS``) from this process's warm server, starting (or
    restarting a stale) one as needed. ``None`` when the command is not ipykernel's, when this process expects too
    few kernels for a server to pay (:func:`expect`), or when no server can serve it: the caller then launches the
    kernel the ordinary way."""
    global _server
    if not enabled() or len(kernel_cmd) < 3 or kernel_cmd[1:3] != ["-m", _LAUNCHER]:
        return None
    if os.path.realpath(kernel_cmd[0]) != os.path.realpath(sys.executable):
        return None
    with _lock:
        if not _worth_a_server():
            return None
        try:
            if _server is not None and not _server.usable(env):
                _server.close()
                _server = None
            if _server is None:
                _server = WarmServer()
                if not _server.usable(env):
                    return None
            return _server.spawn(kernel_cmd[3:], env, cwd, log)
        except OSError:
            if _server is not None:
                _server.close()
                _server = None
            return None


# --- the benchmark -------------------------------------------------------------------------------------------------

#: The first cell a chapter runs, near enough: what a kernel must have imported before a chapter's science starts.
FIRST_CELL = ("import math\nimport numpy as np\nimport matplotlib.pyplot as plt\nimport sympy as sp\n"
              "from myst_nb import glue\nimport rlbits\nfrom rlbits import learners\nseeds = rlbits.setup_chapter(0)")


def _start_and_run_first_cell() -> float:
    """Seconds to start a kernel, run :data:`FIRST_CELL` in it and shut it down, as the pipeline does."""
    import nbformat
    from nbclient import NotebookClient

    from rlbits.pipeline import kernels

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(FIRST_CELL)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    sockets = kernels.socket_dir()
    try:
        t0 = time.perf_counter()
        NotebookClient(nb, kernel_name="python3", startup_timeout=180,
                       kernel_manager_class=kernels.kernel_manager_class(sockets)).execute()
        return time.perf_counter() - t0
    finally:
        kernels.remove_socket_dir(sockets)


def benchmark(repeats: int = 3) -> dict:
    """Warm kernels against ordinary ones (the reference), interleaved in one process so both see the same load.

    Returns the median seconds from start to a kernel that has run a chapter's first cell, for each, their ratio,
    and the one-off start of the server (its first kernel), which a build pays once per worker."""
    if not enabled():
        return {}
    previous = os.environ.get("RLBITS_WARM_KERNELS")
    cold, warm = [], []
    try:
        os.environ["RLBITS_WARM_KERNELS"] = "1"
        server_start = _start_and_run_first_cell()  # starts (or reuses) this process's server
        for _ in range(repeats):
            os.environ["RLBITS_WARM_KERNELS"] = "0"
            cold.append(_start_and_run_first_cell())
            os.environ["RLBITS_WARM_KERNELS"] = "1"
            warm.append(_start_and_run_first_cell())
    finally:
        if previous is None:
            os.environ.pop("RLBITS_WARM_KERNELS", None)
        else:
            os.environ["RLBITS_WARM_KERNELS"] = previous
    close()  # the process that benchmarks (the build's own) executes no chapter itself
    cold_s, warm_s = sorted(cold)[len(cold) // 2], sorted(warm)[len(warm) // 2]
    return {"repeats": repeats, "ordinary_s": round(cold_s, 3), "warm_s": round(warm_s, 3),
            "speedup": round(cold_s / warm_s, 2), "first_warm_s": round(server_start, 3)}


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2])

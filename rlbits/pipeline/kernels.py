"""The kernels the pipeline starts: over IPC sockets, quiet, and unable to outlive the process that started them.

- **IPC, not TCP.** Each kernel talks to papermill over Unix-domain sockets in a private temporary directory, so a
  sandbox with no network interface at all (not even loopback) can execute the book.
- **Quiet.** The kernel's own stdout and stderr (ipykernel's start-up notices, the ``KeyboardInterrupt`` it prints
  when it is shut down) go to a log file, not to the build's terminal.
- **No orphans.** On Linux the kernel is started through a two-line wrapper that asks the kernel to be killed when
  its parent (the process executing the chapter) dies (``prctl(PR_SET_PDEATHSIG, SIGKILL)``), then ``exec``s the
  kernel itself. With the same request made by the build's worker processes (:func:`die_with_parent`), a ``SIGKILL``
  of the build takes every worker and kernel with it.
- **Warm.** On Linux a kernel is forked from a server that has already imported the heavy libraries
  (:mod:`rlbits.pipeline.warmkernel`), which saves most of a kernel's start-up; ``RLBITS_WARM_KERNELS=0`` turns it off.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager

PR_SET_PDEATHSIG = 1

#: Run as ``python -c WRAPPER PARENT_PID CMD...``: die with the parent, then become the kernel.
WRAPPER = (
    "import ctypes, os, signal, sys\n"
    "ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)\n"
    "if os.getppid() != int(sys.argv[1]):\n"
    "    os._exit(1)\n"  # the parent died before the request took effect
    "os.execvp(sys.argv[2], sys.argv[2:])\n"
)


def die_with_parent(sig: int = signal.SIGKILL) -> bool:
    """Ask the kernel (Linux) to send ``sig`` to this process when its parent dies. False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(sig)) == 0
    except (OSError, AttributeError):
        return False


class PipelineKernelManager(AsyncKernelManager):
    """An ``AsyncKernelManager`` over IPC whose kernel logs to a file and dies with its parent.

    Use :func:`kernel_manager_class` to get a subclass bound to one socket directory and log file.
    """

    socket_dir: str = ""
    log_path: str = ""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.transport = "ipc"
        self.ip = os.path.join(self.socket_dir or tempfile.mkdtemp(prefix="rlk"), "k")

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        from rlbits.pipeline import warmkernel

        forked = warmkernel.spawn(kernel_cmd, kw.get("env") or dict(os.environ), str(kw.get("cwd") or os.getcwd()),
                                  self.log_path)
        if forked is not None:  # a fork of the warm server: hand it to the provisioner as if it had started it
            provisioner = self.provisioner
            provisioner.process, provisioner.pid, provisioner.pgid = forked, forked.pid, forked.pid
            provisioner.cwd = kw.get("cwd")
            self._reconcile_connection_info(provisioner.connection_info)
            return
        if sys.platform.startswith("linux"):
            kernel_cmd = [sys.executable, "-c", WRAPPER, str(os.getpid()), *kernel_cmd]
        if self.log_path:
            log = open(self.log_path, "ab")  # the child keeps its own copy of the descriptor
            kw["stdout"] = kw["stderr"] = log
            try:
                return await super()._async_launch_kernel(kernel_cmd, **kw)
            finally:
                log.close()
        return await super()._async_launch_kernel(kernel_cmd, **kw)


def kernel_manager_class(socket_dir: Path, log_path: Path | None = None) -> type[PipelineKernelManager]:
    """A :class:`PipelineKernelManager` subclass whose sockets live in ``socket_dir`` and whose output goes to
    ``log_path`` (nbclient instantiates the class itself, so the settings travel as class attributes)."""
    return type("BoundPipelineKernelManager", (PipelineKernelManager,),
                {"socket_dir": str(socket_dir), "log_path": str(log_path or "")})


def socket_dir() -> Path:
    """A fresh private directory for one kernel's sockets, with a short path (Unix socket paths are limited to
    about 100 bytes)."""
    base = "/tmp" if os.path.isdir("/tmp") else None
    return Path(tempfile.mkdtemp(prefix="rlk", dir=base))


def remove_socket_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)

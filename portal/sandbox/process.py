"""Run a sandbox as a child process: for the test suite, the benchmark and scripts.

The sandbox is always exercised over real HTTP, in a process of its own, exactly as the
portal meets it. :class:`SandboxProcess` starts ``python -m portal.sandbox`` on a free
loopback port, waits until it answers and stops it again.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

PROJECT_ROOT = Path(__file__).resolve().parents[2]
HEALTH_PATH = "/_sandbox/health"


def free_port() -> int:
    """A TCP port nobody listens on right now (another process may still take it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen | None = None, timeout: float = 20.0) -> None:
    """Poll ``url`` until it answers at all; fail early if ``process`` has died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode} before it came up")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up within {timeout} s")


class SandboxProcess:
    """``python -m portal.sandbox`` on a free loopback port.

    ``admin_token`` becomes the child's ``SANDBOX_ADMIN_TOKEN`` (None: no token, whatever
    this process's environment says), so a caller always knows what the control API wants.
    """

    def __init__(self, state_file: str | os.PathLike | None = None, admin_token: str | None = None) -> None:
        self.state_file = state_file
        self.admin_token = admin_token
        self.port = 0
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> SandboxProcess:
        self.port = free_port()
        command = [sys.executable, "-m", "portal.sandbox", "--host", "127.0.0.1", "--port", str(self.port)]
        if self.state_file is not None:
            command += ["--state", str(self.state_file)]
        env = {k: v for k, v in os.environ.items() if k != "SANDBOX_ADMIN_TOKEN"}
        if self.admin_token:
            env["SANDBOX_ADMIN_TOKEN"] = self.admin_token
        self.process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env)
        try:
            wait_until_up(self.url + HEALTH_PATH, self.process)
        except RuntimeError:
            self.kill()
            raise
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop gracefully (SIGTERM), as a person pressing Ctrl-C would; kill if it lingers."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        self.process = None

    def kill(self) -> None:
        """Stop abruptly (SIGKILL), as a crash would."""
        if self.process is None:
            return
        self.process.kill()
        self.process.wait()
        self.process = None

    def __enter__(self) -> SandboxProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

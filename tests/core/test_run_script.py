"""``./scripts/run`` as a person uses it: quiet output ending with the logins and the URL, and
Ctrl-C stops every process it started, even a worker that no longer answers SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def command_of(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_run_prints_the_logins_last_and_ctrl_c_stops_everything(tmp_path):
    port, sandbox_port = free_port(), free_port()
    # A fresh terminal's environment: nothing an earlier test left in this process's reaches the demo.
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "LANG": os.environ.get("LANG", "C.UTF-8"),
           "PORT": str(port), "SANDBOX_PORT": str(sandbox_port), "STOP_TIMEOUT": "3"}
    env["PORTAL_VAR_DIR"] = str(tmp_path / "var")  # its own demo: never the developer's var/
    log = tmp_path / "run.log"
    with log.open("w") as out:
        # Its own session, as in a terminal: Ctrl-C goes to the script's process group.
        script = subprocess.Popen(["./scripts/run"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while "The portal is running" not in log.read_text():
            assert script.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        time.sleep(2)  # the worker and the scheduler have started and would have logged by now
        started = descendants(script.pid)
        workers = [pid for pid in started if " worker " in command_of(pid) and "celery" in command_of(pid)]
        assert workers, [command_of(pid) for pid in started]
        for pid in workers:
            os.kill(pid, signal.SIGSTOP)  # a worker that cannot answer SIGTERM any more

        os.killpg(script.pid, signal.SIGINT)  # Ctrl-C
        assert script.wait(timeout=60) == 130
        time.sleep(0.5)
        assert [command_of(pid) for pid in started if alive(pid)] == []
    finally:
        if script.poll() is None:
            os.killpg(script.pid, signal.SIGKILL)

    output = log.read_text()
    running = output.index(f"The portal is running at http://127.0.0.1:{port}/")
    assert "admin@portal.example" in output[:running] and "Demo data is ready" in output[:running]
    # Nothing follows the URL in a healthy demo: its processes log warnings and errors only.
    after = output[running : output.index("Stopping...")].splitlines()[1:]
    assert [line for line in after if line.strip()] == [], after
    for noise in ("superuser privileges", "(recovery)", "Editable install", "GET /", " INFO ", "waiting for request budget"):
        assert noise not in output, noise
    assert "ignored SIGTERM" in output  # the stuck worker was killed after STOP_TIMEOUT

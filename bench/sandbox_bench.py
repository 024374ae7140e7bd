"""How much the sandbox adds to a request when no fault is set.

    .venv/bin/python bench/sandbox_bench.py [--requests 2000] [--seconds 5] [--connections 8]

Starts a sandbox process (or uses the one at ``SANDBOX_URL``), creates an account and
times its carrier's simple authenticated GET (Simwood's prepay balance by default):

* latency: ``--requests`` sequential requests on one keep-alive httpx connection
  (median, p95, p99), after a warm-up;
* throughput: ``--connections`` keep-alive connections sending requests back to back for
  ``--seconds`` from one asyncio loop.

The throughput client is a minimal HTTP/1.1 client on asyncio streams rather than httpx:
on a 2-core machine the load generator shares the CPU with the server, and httpx's own
cost per request (several times the sandbox's) would measure the client instead.
Every answer must be 200. Exits 1 if the median is 2 ms or more or the throughput is
below 1,000 requests per second.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from portal.sandbox.probes import Probe, probe_for  # noqa: E402
from portal.sandbox.process import SandboxProcess  # noqa: E402

MEDIAN_LIMIT_MS = 2.0
THROUGHPUT_FLOOR = 1000.0
GET_CARRIERS = ("simwood", "surevoip", "sipwise")  # Simotel answers POST only
# A carrier's own documented rate limit would stop the benchmark, not measure it.
LIFTED_LIMITS = {"surevoip": {"rate_limit_per_hour": 1_000_000_000}}


class UnexpectedAnswer(Exception):
    """The sandbox answered something other than 200: the figures would mean nothing."""


def percentile(sorted_values: list[float], fraction: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * fraction))]


def control_client(sandbox_url: str) -> httpx.Client:
    token = os.environ.get("SANDBOX_ADMIN_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=sandbox_url, headers=headers, timeout=30)


def create_account(control: httpx.Client, carrier: str) -> dict:
    response = control.post("/_sandbox/accounts", json={"carrier": carrier})
    response.raise_for_status()
    account = response.json()
    if carrier in LIFTED_LIMITS:
        control.patch(f"/_sandbox/accounts/{account['id']}", json=LIFTED_LIMITS[carrier]).raise_for_status()
    return account


def sequential_latencies_ms(probe: Probe, requests: int, warmup: int) -> list[float]:
    timings = []
    with httpx.Client(headers=probe.headers, timeout=10) as client:
        for index in range(warmup + requests):
            started = time.perf_counter()
            response = client.request(probe.method, probe.url, content=probe.body)
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise UnexpectedAnswer(f"unexpected {response.status_code}: {response.text[:200]}")
            if index >= warmup:
                timings.append(elapsed * 1000)
    return sorted(timings)


def raw_request(probe: Probe) -> tuple[str, int, bytes]:
    """(host, port, the request's bytes) for a keep-alive HTTP/1.1 connection."""
    url = urlsplit(probe.url)
    target = url.path + (f"?{url.query}" if url.query else "")
    headers = {"Host": url.netloc, **probe.headers, "Content-Length": str(len(probe.body))}
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return url.hostname or "127.0.0.1", url.port or 80, f"{probe.method} {target} HTTP/1.1\r\n{head}\r\n".encode() + probe.body


async def read_response(reader: asyncio.StreamReader) -> int:
    """Read one response off a keep-alive connection; its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    length = next(
        (int(line.split(":", 1)[1]) for line in header_lines if line.lower().startswith("content-length:")), None
    )
    if length is None:
        raise RuntimeError("the benchmark client reads only responses with a Content-Length")
    await reader.readexactly(length)
    return int(status_line.split(" ", 2)[1])


async def throughput(probe: Probe, seconds: float, connections: int) -> tuple[int, float]:
    """(requests answered 200, seconds taken) with ``connections`` clients back to back."""
    host, port, request = raw_request(probe)
    deadline = time.perf_counter() + seconds
    answered = 0

    async def client() -> None:
        nonlocal answered
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < deadline:
                writer.write(request)
                status = await read_response(reader)
                if status != 200:
                    raise UnexpectedAnswer(f"unexpected status {status}")
                answered += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    return answered, time.perf_counter() - started


def server_side_median_ms(control: httpx.Client, account_id: str) -> float | None:
    """The median duration the sandbox itself logged for the account's requests."""
    response = control.get("/_sandbox/requests", params={"account": account_id})
    durations = [entry["duration_ms"] for entry in response.json()["requests"]]
    return statistics.median(durations) if durations else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--carrier", choices=GET_CARRIERS, default="simwood")
    parser.add_argument("--requests", type=int, default=2000, help="sequential requests timed (default 2000)")
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the throughput run (default 5)")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections (default 8)")
    args = parser.parse_args(argv)

    with ExitStack() as stack:
        sandbox_url = os.environ.get("SANDBOX_URL", "").rstrip("/")
        if not sandbox_url:
            sandbox_url = stack.enter_context(SandboxProcess()).url
        control = stack.enter_context(control_client(sandbox_url))
        account = create_account(control, args.carrier)
        probe = probe_for(account)
        print(f"sandbox {sandbox_url}, {args.carrier}: {probe.method} {urlsplit(probe.url).path}")

        try:
            latencies = sequential_latencies_ms(probe, args.requests, args.warmup)
            answered, taken = asyncio.run(throughput(probe, args.seconds, args.connections))
        except UnexpectedAnswer as exc:
            print(f"FAIL: {exc}", file=sys.stderr)
            return 1
        median = statistics.median(latencies)
        print(
            f"sequential: {len(latencies)} requests, median {median:.3f} ms, "
            f"p95 {percentile(latencies, 0.95):.3f} ms, p99 {percentile(latencies, 0.99):.3f} ms"
        )
        rate = answered / taken
        print(f"throughput: {answered} requests in {taken:.2f} s over {args.connections} connections: {rate:.0f} req/s")
        server_median = server_side_median_ms(control, account["id"])
        if server_median is not None:
            print(f"inside the sandbox (request log): median {server_median:.3f} ms per request")

    failures = []
    if median >= MEDIAN_LIMIT_MS:
        failures.append(f"median {median:.3f} ms is not below {MEDIAN_LIMIT_MS} ms")
    if rate < THROUGHPUT_FLOOR:
        failures.append(f"throughput {rate:.0f} req/s is below {THROUGHPUT_FLOOR:.0f} req/s")
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    if not failures:
        print("OK: median below 2 ms and at least 1,000 req/s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

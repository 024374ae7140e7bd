"""``python -m portal.sandbox --host 127.0.0.1 --port 8100 [--state FILE]``."""

from __future__ import annotations

import argparse
import os

import uvicorn

from .app import create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m portal.sandbox",
        description="Emulates the Simwood, SureVoIP, Sipwise C5 and Simotel APIs on one port.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--state", help="SQLite file that keeps the state across restarts")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    app = create_app(state_file=args.state, admin_token=os.environ.get("SANDBOX_ADMIN_TOKEN") or None)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=False)


if __name__ == "__main__":
    main()

"""``python -m portal.sandbox --host 127.0.0.1 --port 8100 [--state FILE]``."""

from __future__ import annotations

import argparse
import logging
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
    # The sandbox's own messages (the open-control-API warning) in uvicorn's style, on stderr.
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s:  %(message)s"))
    sandbox_log = logging.getLogger("portal.sandbox")
    sandbox_log.addHandler(handler)
    level = logging.getLevelName(args.log_level.upper())
    sandbox_log.setLevel(level if isinstance(level, int) else logging.DEBUG)  # uvicorn's "trace" too
    sandbox_log.propagate = False
    app = create_app(state_file=args.state, admin_token=os.environ.get("SANDBOX_ADMIN_TOKEN") or None)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=False)


if __name__ == "__main__":
    main()

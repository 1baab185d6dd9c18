"""Serve the real API (``create_app`` + uvicorn, as ``flexprice api`` does) on a shifted clock.

The end-to-end test replays a past month, so the API's one clock read (``api.deps.now``) must answer
in that month: event timestamps are checked against it, and wallet top-ups and subscriptions are dated
by it. The clock starts at ``--start`` and then advances with real elapsed time, so requests keep the
order they were received in (the latest ingested version of an event id wins, §1). Nothing else is
replaced.

    python -m tests.e2e.shifted_api --port 8123 --start 2025-02-28T01:00:00+00:00
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import uvicorn

from api import deps
from api.app import create_app
from flexprice_pipelines.settings import Settings


def shifted_clock(start: datetime) -> Callable[[], datetime]:
    """A clock that reads ``start`` now and advances with the process's monotonic time."""
    origin = time.monotonic()

    def now() -> datetime:
        return start + timedelta(seconds=time.monotonic() - origin)

    return now


def main() -> None:
    """Parse ``--port`` / ``--start`` and serve until terminated."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--start", type=datetime.fromisoformat, required=True)
    args = parser.parse_args()
    if args.start.tzinfo is None:
        parser.error("--start needs an offset")
    app = create_app(Settings())
    app.dependency_overrides[deps.now] = shifted_clock(args.start)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()

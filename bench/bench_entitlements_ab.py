"""A/B of entitlement-check latency across checkouts of this repository, in alternating runs.

    .venv/bin/python bench/bench_entitlements_ab.py CHECKOUT [CHECKOUT ...] [--runs 5] [--events 1000000]
                                                    [--rate 1000] [--seconds 10] [--workers 2]

Each CHECKOUT is a clone with its own ``.venv`` (``make install``); its own ``bench/bench_entitlements.py``
does the work, run by its own interpreter in its own directory, so each serves its own code:

1. once per checkout: ``seed`` a fresh SQLite catalog with ``--events`` events in the window (as
   ``bench_entitlements.py`` does before each figure; seeding takes a minute or more per million events);
2. ``--runs`` rounds; in each, checkout after checkout: ``uptime``, then a fresh uvicorn (``serve``) on
   that checkout's catalog, one open-loop ``load`` at ``--rate`` for ``--seconds`` (200 warm-up requests
   not measured), stop. Alternating spreads the shared machine's changing load over every checkout.

Printed: one line per run (with the ``uptime`` before it) and the median p50 / p90 / p99 per checkout.
The catalog is reused across a checkout's runs (checks only read it); everything measured is the same
as in ``bench_entitlements.py --freshness 0``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

_SEED = """
import json, sys
sys.path.insert(0, "bench")
import bench_entitlements as b
ids = b.seed(sys.argv[1], int(sys.argv[2]))
print("IDS " + json.dumps(ids), flush=True)
"""

_RUN = """
import json, sys
sys.path.insert(0, "bench")
import bench_entitlements as b
url, home, ids = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
rate, seconds, workers = int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
port = b.free_port()
server = b.serve(url, port, home, workers)
try:
    body = {"customer_id": ids["customer_id"], "feature_id": ids["feature_id"]}
    result = b.load(port, b.check_request(port, ids["key"], body), rate, seconds, 64)
finally:
    b.stop(server)
print("RESULT " + json.dumps(result), flush=True)
"""


def _python(checkout: Path) -> str:
    return str(checkout / ".venv" / "bin" / "python")


def _tagged(output: str, tag: str) -> Any:
    lines = [line for line in output.splitlines() if line.startswith(tag + " ")]
    if not lines:
        raise RuntimeError(f"no {tag} line in:\n{output}")
    return json.loads(lines[-1][len(tag) + 1 :])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("checkouts", nargs="+", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    checkouts = [c.resolve() for c in args.checkouts]
    with tempfile.TemporaryDirectory(prefix="bench-ab-") as tmp:
        seeded: dict[Path, tuple[str, str, str]] = {}
        for index, checkout in enumerate(checkouts):
            home = Path(tmp) / str(index)
            home.mkdir()
            url = f"sqlite:///{home / 'catalog.db'}"
            done = subprocess.run(
                [_python(checkout), "-c", _SEED, url, str(args.events)],
                cwd=checkout,
                capture_output=True,
                text=True,
                check=True,
            )
            seeded[checkout] = (url, str(home), json.dumps(_tagged(done.stdout, "IDS")))
            print(f"seeded {checkout}: {done.stdout.splitlines()[0].strip()}", flush=True)
        results: dict[Path, list[dict[str, Any]]] = {c: [] for c in checkouts}
        for run in range(1, args.runs + 1):
            for checkout in checkouts:
                uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
                url, home, ids = seeded[checkout]
                command = [
                    _python(checkout), "-c", _RUN, url, home, ids,
                    str(args.rate), str(args.seconds), str(args.workers),
                ]  # fmt: skip
                done = subprocess.run(command, cwd=checkout, capture_output=True, text=True, check=True)
                result = _tagged(done.stdout, "RESULT")
                results[checkout].append(result)
                print(f"run {run} {checkout}: {json.dumps(result)}  [uptime: {uptime}]", flush=True)
    print("medians:")
    for checkout, runs in results.items():
        medians = {
            key: round(statistics.median(r[key] for r in runs), 2) for key in ("p50_ms", "p90_ms", "p99_ms")
        }
        p99s = sorted(r["p99_ms"] for r in runs)
        print(f"  {checkout}: {len(runs)} runs, {json.dumps(medians)}, p99 per run {p99s}", flush=True)


if __name__ == "__main__":
    sys.exit(main())

"""In-process per-request profile of ``POST /v1/entitlements/check[/batch]``, figures the machine's load does
not move (run by a checkout's own interpreter in its directory, so old and new code compare alike):

    .venv/bin/python bench/profile_checks.py [--events 20000] [--n 5000] [--batch] [--reload] [--rekey]
                                             [--dump calls.json]

The app is built by ``create_app``, started by its lifespan as uvicorn starts it, and called as an ASGI app
with the scope uvicorn builds, against a catalog seeded by ``bench_entitlements.seed``; 1,000 warm-up checks.
``--reload``: every check re-reads the customer's configuration (config TTL 0); ``--rekey``: every check
resolves its API key (cache TTL 0). ``--dump``: Python calls per request by function (JSON).

Deterministic measures over N in-process ASGI calls (uvicorn-shaped scope), app started by its lifespan:
  - Python function calls per request (cProfile primitive + total calls), top per-function deltas dumped to JSON
  - net GC-tracked objects left per request with gc disabled (gc.get_count()[0] delta / N): cyclic garbage
  - gen-0/1/2 collections per 10k requests with gc enabled (default thresholds, after the app's freeze)
  - tracemalloc peak bytes per request
  - perf_counter_ns distribution of single calls and CPU time per call (indicative: the machine's load moves them)
  - of the process: frozen objects, unfrozen GC-tracked objects, modules loaded, max RSS
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import io
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import MutableMapping
from typing import Any

sys.path.insert(0, "bench")
sys.path.insert(0, ".")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--batch", action="store_true")
    parser.add_argument("--dump", default="")
    parser.add_argument("--reload", action="store_true", help="config_ttl=0: every request reloads the view")
    parser.add_argument("--rekey", action="store_true", help="API-key cache ttl=0: every request resolves")
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="chkprof-")
    url = f"sqlite:///{home}/catalog.db"
    os.environ.update(FLEXPRICE_DATABASE_URL=url, FLEXPRICE_HOME=home, FLEXPRICE_EVENT_BUS="outbox")
    import bench_entitlements as b

    with contextlib.redirect_stdout(io.StringIO()):
        ids = b.seed(url, args.events)
    from api.app import create_app

    app = create_app()
    if args.reload:
        from flexprice_pipelines.usage.service import EntitlementService

        app.state.entitlement_service = EntitlementService(config_ttl=0.0)
    if args.rekey:
        from api.deps import ApiKeyCache
        from flexprice_pipelines.catalog.key_revocations import watch_key_changes

        app.state.api_key_cache = ApiKeyCache(watch_key_changes(url), ttl=0.0)
    if args.batch:
        path = "/v1/entitlements/check/batch"
        payload = json.dumps(
            {"customer_id": ids["customer_id"], "features": [{"feature_id": ids["feature_id"]}] * 3}
        ).encode()
    else:
        path = "/v1/entitlements/check"
        payload = json.dumps({"customer_id": ids["customer_id"], "feature_id": ids["feature_id"]}).encode()
    headers = [
        (b"host", b"127.0.0.1:8000"),
        (b"x-api-key", ids["key"].encode()),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
    ]
    state: dict[str, Any] = {}

    async def run() -> dict[str, Any]:
        # lifespan as uvicorn drives it
        lq: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        await lq.put({"type": "lifespan.startup"})
        started = asyncio.Event()

        async def lrecv() -> dict[str, Any]:
            return await lq.get()

        async def lsend(msg: MutableMapping[str, Any]) -> None:
            if msg["type"] == "lifespan.startup.complete":
                started.set()
            elif msg["type"].endswith("failed"):
                raise RuntimeError(msg)

        lifespan = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": state}
        ltask = asyncio.create_task(app(lifespan, lrecv, lsend))
        await started.wait()

        out: list[int] = []

        async def one() -> None:
            scope = {
                "type": "http",
                "asgi": {"version": "3.0", "spec_version": "2.3"},
                "http_version": "1.1",
                "server": ("127.0.0.1", 8000),
                "client": ("127.0.0.1", 50000),
                "scheme": "http",
                "method": "POST",
                "root_path": "",
                "path": path,
                "raw_path": path.encode(),
                "query_string": b"",
                "headers": headers,
                "state": state.copy(),
            }
            sent = False

            async def receive() -> dict[str, Any]:
                nonlocal sent
                if not sent:
                    sent = True
                    return {"type": "http.request", "body": payload, "more_body": False}
                await asyncio.sleep(3600)
                return {"type": "http.disconnect"}

            async def send(msg: MutableMapping[str, Any]) -> None:
                if msg["type"] == "http.response.start":
                    out.append(msg["status"])

            await app(scope, receive, send)

        for _ in range(1000):  # warm-up (caches, pools, first-call builds)
            await one()
        assert set(out) == {200}, set(out)
        n = args.n
        res: dict[str, Any] = {}

        # 1. call counts
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(n):
            await one()
        prof.disable()
        st = pstats.Stats(prof)
        res["calls_per_req"] = round(st.total_calls / n, 1)  # type: ignore[attr-defined]
        res["prim_calls_per_req"] = round(st.prim_calls / n, 1)  # type: ignore[attr-defined]
        if args.dump:
            st.dump_stats(args.dump + ".prof")
            per = {}
            for (f, line, name), (_, nc, _, _, _) in st.stats.items():  # type: ignore[attr-defined]
                per[f"{f.split('site-packages/')[-1]}:{line}:{name}"] = round(nc / n, 2)
            with open(args.dump, "w") as fh:
                json.dump(per, fh, indent=0, sort_keys=True)

        # 2. net GC-tracked objects per request (gc disabled)
        gc.collect()
        gc.disable()
        c0 = gc.get_count()[0]
        m = min(n, 2000)
        for _ in range(m):
            await one()
        res["gc_net_tracked_per_req"] = round((gc.get_count()[0] - c0) / m, 2)
        res["garbage_collected_per_req"] = round(gc.collect() / m, 2)
        gc.enable()

        # 3. collections per 10k requests, gc enabled
        before = [s["collections"] for s in gc.get_stats()]
        for _ in range(10_000):
            await one()
        after = [s["collections"] for s in gc.get_stats()]
        res["collections_per_10k"] = [a - b_ for a, b_ in zip(after, before, strict=True)]

        # 4. tracemalloc peak per request
        tracemalloc.start()
        peaks = []
        for _ in range(500):
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            await one()
            peaks.append(tracemalloc.get_traced_memory()[1] - base)
        tracemalloc.stop()
        res["tracemalloc_peak_bytes_median"] = int(statistics.median(peaks))

        # 5. timings
        ns = []
        for _ in range(n):
            t = time.perf_counter_ns()
            await one()
            ns.append(time.perf_counter_ns() - t)
        ns.sort()
        res["us_p50"] = round(ns[len(ns) // 2] / 1000, 1)
        res["us_p90"] = round(ns[int(len(ns) * 0.9)] / 1000, 1)
        res["us_p99"] = round(ns[int(len(ns) * 0.99)] / 1000, 1)
        res["us_mean"] = round(statistics.fmean(ns) / 1000, 1)
        cpu0 = time.process_time()
        for _ in range(n):
            await one()
        res["cpu_us_per_req"] = round((time.process_time() - cpu0) / n * 1e6, 1)
        assert set(out) == {200}, set(out)
        await lq.put({"type": "lifespan.shutdown"})
        await ltask
        return res

    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    res = asyncio.run(run())
    res["frozen"] = gc.get_freeze_count()
    res["unfrozen_tracked"] = len(gc.get_objects())
    res["modules"] = len(sys.modules)
    import resource

    res["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    res["load"] = os.getloadavg()
    print(json.dumps(res))


if __name__ == "__main__":
    main()

"""The turn protocol on the DuckDB file, between real processes: waiters are seen, served first, and bounded."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from flexprice_pipelines.warehouse import turns
from flexprice_pipelines.warehouse.duckdb_store import DuckDBWarehouse
from flexprice_pipelines.warehouse.turns import Turns, WarehouseBusy

# Takes the turn on argv[1] (as a run, or as the sink with argv[3] == "yielding"), says when, holds it argv[2] s.
_TAKE_TURN = """
import sys, time
from flexprice_pipelines.warehouse.turns import Turns
print("asking", flush=True)
with Turns(sys.argv[1]).turn(yielding=sys.argv[3] == "yielding"):
    print("turn", time.monotonic(), flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _take_turn(path: Path, seconds: float, mode: str = "run") -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", _TAKE_TURN, str(path), str(seconds), mode], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "asking"
    return process


def _turn_at(process: subprocess.Popen[str]) -> float:
    assert process.stdout is not None
    word, at = process.stdout.readline().split()
    assert word == "turn"
    return float(at)


def _wait_until(condition: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def test_a_waiting_run_is_seen_and_served_when_the_holder_lets_go(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    holder = _take_turn(path, 1.0)
    held_at = _turn_at(holder)
    assert not Turns(path).wanted()
    served: list[float] = []
    waiter = threading.Thread(target=lambda: served.append(_hold_briefly(path)))
    waiter.start()
    _wait_until(lambda: Turns(path).wanted())

    waiter.join(timeout=60)
    assert holder.wait(timeout=30) == 0
    assert served and served[0] >= held_at + 0.9
    assert not Turns(path).wanted()


def _hold_briefly(path: Path) -> float:
    with Turns(path).turn():
        return time.monotonic()


def test_the_sink_lets_a_waiting_run_go_first(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    # Held long enough that the run, a new Python process, is surely waiting before it ends (on a loaded CI
    # machine the run's start-up alone can take over a second, and a run that finds the file free waits for
    # nothing).
    holder = _take_turn(path, 5.0)
    _turn_at(holder)
    run = _take_turn(path, 0.5)
    _wait_until(lambda: Turns(path).wanted())

    # The sink asks after the run, and while the holder still has the file: the run is served first.
    with Turns(path).turn(yielding=True):
        sink_at = time.monotonic()
    assert _turn_at(run) < sink_at
    assert holder.wait(timeout=30) == 0 and run.wait(timeout=30) == 0


def test_one_process_shares_its_turn_between_threads_and_nested_calls(tmp_path: Path) -> None:
    warehouse = DuckDBWarehouse(tmp_path / "w.duckdb")
    warehouse.ensure_schema()
    with warehouse.turn():
        # Nested and concurrent calls of the holder join its turn instead of waiting for themselves.
        rows = []
        worker = threading.Thread(
            target=lambda: rows.append(warehouse.query("SELECT count(*) FROM raw_events"))
        )
        worker.start()
        worker.join(timeout=30)
        assert rows == [[(0,)]]
        assert warehouse.query("SELECT 1") == [(1,)]
        # Another process is kept out until the last holder lets go.
        outsider = _take_turn(tmp_path / "w.duckdb", 0)
        time.sleep(0.3)
        assert outsider.poll() is None
    _turn_at(outsider)
    assert outsider.wait(timeout=30) == 0


def test_a_run_reports_progress_and_gives_up_after_the_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(turns, "PROGRESS_EVERY", 0.1)
    path = tmp_path / "w.duckdb"
    holder = _take_turn(path, 30)
    _turn_at(holder)
    said: list[str] = []
    try:
        busy = pytest.raises(WarehouseBusy, match=rf"stayed busy for 1s \(held by pid {holder.pid} ")
        with busy, Turns(path).turn(timeout=1.0, progress=said.append):
            pass
    finally:
        holder.kill()
        holder.wait()
    assert said and all(f"held by pid {holder.pid}" in line for line in said)
    # The kernel released the dead holder's lock: nothing to clean up.
    with Turns(path).turn(timeout=5):
        pass

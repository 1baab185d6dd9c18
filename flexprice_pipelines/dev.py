"""``flexprice dev``: the API, the sink and Dagster (webserver + daemon) together on 127.0.0.1.

Each child runs in its own session (``setsid``): ``dagster dev`` ignores SIGTERM unless it leads its
own process group (docs/toolchain.md), and a terminal's Ctrl-C must not reach the children before the
supervisor decides how to stop them. The supervisor forwards SIGINT/SIGTERM to every child's group,
waits, and kills what is left; when one child dies on its own, the others are stopped too.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import httpx
import typer

from flexprice_pipelines.catalog import db
from flexprice_pipelines.settings import Settings

_DAGSTER_YAML = Path(__file__).resolve().parents[1] / "dagster_instances" / "embedded" / "dagster.yaml"
STOP_TIMEOUT = 20.0


@dataclass(frozen=True, slots=True)
class Service:
    """One child process: what to run and the URL that answers once it is up (None: no HTTP)."""

    name: str
    argv: list[str]
    ready_url: str | None
    show_url: str | None


def services(host: str, api_port: int, dagster_port: int) -> list[Service]:
    """The three children of ``flexprice dev``, started from this interpreter's environment."""
    cli = [sys.executable, "-m", "flexprice_pipelines.cli"]
    dagster = str(Path(sys.executable).with_name("dagster"))
    api_base = f"http://{host}:{api_port}"
    dagster_base = f"http://{host}:{dagster_port}"
    return [
        Service("api", [*cli, "api", "--host", host, "--port", str(api_port)], f"{api_base}/health", f"{api_base}/docs"),
        Service("sink", [*cli, "sink", "--quiet"], None, None),
        Service(
            "dagster",
            [dagster if Path(dagster).exists() else "dagster", "dev", "-m", "flexprice_pipelines.definitions",
             "-h", host, "-p", str(dagster_port)],
            f"{dagster_base}/server_info",
            dagster_base,
        ),
    ]  # fmt: skip


def dev_environment(settings: Settings, dagster_home: Path) -> dict[str, str]:
    """The children's environment: one ``FLEXPRICE_HOME``, one ``DAGSTER_HOME``, the venv's ``bin`` first."""
    env = dict(os.environ)
    env["FLEXPRICE_HOME"] = str(settings.home.resolve())
    env["DAGSTER_HOME"] = str(dagster_home.resolve())
    # dbt (run by the Dagster code server) is found on PATH.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def prepare_dagster_home(path: Path) -> None:
    """Create ``DAGSTER_HOME`` with the embedded ``dagster.yaml`` unless it already has one."""
    path.mkdir(parents=True, exist_ok=True)
    if not (path / "dagster.yaml").exists() and _DAGSTER_YAML.exists():
        shutil.copy(_DAGSTER_YAML, path / "dagster.yaml")


class Supervisor:
    """Starts the services, and stops all of them on a signal or when one of them exits."""

    def __init__(
        self, chosen: Sequence[Service], env: dict[str, str], *, stop_timeout: float = STOP_TIMEOUT
    ) -> None:
        self.services = list(chosen)
        self.env = env
        self.stop_timeout = stop_timeout
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.stopping = False

    def start(self) -> None:
        """Start every service in its own session."""
        for service in self.services:
            self.children[service.name] = subprocess.Popen(service.argv, env=self.env, start_new_session=True)

    def request_stop(self, _signum: int = 0, _frame: FrameType | None = None) -> None:
        """Signal handler: the main loop stops the children."""
        self.stopping = True

    def wait_ready(self, echo: Callable[[str], None], timeout: float = 180.0) -> bool:
        """Poll each service's ready URL until it answers 200 (or a child dies, or a stop is requested)."""
        pending = {s.name: s.ready_url for s in self.services if s.ready_url}
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as client:
            while pending and not self.stopping and time.monotonic() < deadline:
                if self.exited() is not None:
                    return False
                for name, url in list(pending.items()):
                    try:
                        if client.get(url).status_code == 200:
                            echo(f"{name} ready")
                            del pending[name]
                    except httpx.HTTPError:
                        pass
                time.sleep(0.5)
        return not pending

    def exited(self) -> str | None:
        """The name of a child that has exited, if any."""
        return next((name for name, child in self.children.items() if child.poll() is not None), None)

    def stop(self) -> dict[str, int | None]:
        """SIGTERM every child's process group, wait up to ``stop_timeout``, SIGKILL the rest; exit codes."""
        for child in self.children.values():
            _signal_group(child, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        for child in self.children.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(max(0.0, deadline - time.monotonic()))
        for child in self.children.values():
            if child.poll() is None:
                _signal_group(child, signal.SIGKILL)
                child.wait()
            # Grandchildren (Dagster's code server and daemon) share the child's group.
            _signal_group(child, signal.SIGKILL)
        return {name: child.returncode for name, child in self.children.items()}


def _signal_group(child: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, sig)


def dev(
    api_port: int = typer.Option(8000, "--api-port", min=1, max=65535, help="Port of the REST API."),
    dagster_port: int = typer.Option(
        3000, "--dagster-port", min=1, max=65535, help="Port of the Dagster UI."
    ),
) -> None:
    """Run the API, the sink and Dagster (webserver + daemon) on 127.0.0.1 until Ctrl-C."""
    host = "127.0.0.1"
    settings = Settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    db.migrate(settings.resolved_database_url)
    dagster_home = Path(os.environ.get("DAGSTER_HOME") or settings.home / "dagster")
    prepare_dagster_home(dagster_home)
    chosen = services(host, api_port, dagster_port)
    supervisor = Supervisor(chosen, dev_environment(settings, dagster_home))
    signal.signal(signal.SIGINT, supervisor.request_stop)
    signal.signal(signal.SIGTERM, supervisor.request_stop)
    supervisor.start()
    for service in chosen:
        typer.echo(f"{service.name:<8} pid {supervisor.children[service.name].pid}  {service.show_url or ''}")
    typer.echo(f"FLEXPRICE_HOME={settings.home.resolve()}  DAGSTER_HOME={dagster_home.resolve()}")
    if supervisor.wait_ready(typer.echo):
        typer.echo(
            f"ready: API {chosen[0].show_url}  Dagster {chosen[2].show_url}  (Ctrl-C stops everything)"
        )
    while not supervisor.stopping and (dead := supervisor.exited()) is None:
        time.sleep(0.2)
    if not supervisor.stopping:
        typer.echo(f"{dead} exited; stopping the others", err=True)
    codes = supervisor.stop()
    typer.echo("stopped: " + ", ".join(f"{name} ({code})" for name, code in codes.items()))
    if not supervisor.stopping:
        raise typer.Exit(1)

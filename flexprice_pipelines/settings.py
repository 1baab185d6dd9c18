"""The one settings object (environment prefix ``FLEXPRICE_``).

The embedded default (SQLite catalog, SQLite outbox, DuckDB warehouse, local PDF directory) needs
no configuration at all; production points the same program at PostgreSQL, Kafka, ClickHouse and S3.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_KEYS_FILE = "secret.keys"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FLEXPRICE_", extra="ignore")

    home: Path = Field(default=Path(".flexprice"), description="Data directory of the embedded default.")
    database_url: str | None = Field(
        default=None, description="Catalog database; default sqlite:///<home>/catalog.db."
    )
    warehouse_url: str | None = Field(
        default=None,
        description="duckdb:///path, clickhouse://host:8123/db or chdb:///path; default duckdb:///<home>/warehouse.duckdb.",
    )
    event_bus: str = Field(default="outbox", description="'outbox' (embedded) or 'kafka'.")
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_session_timeout_ms: int = Field(default=45_000, description="Sink consumer-group session timeout.")
    object_store: str | None = Field(
        default=None, description="file:///path or s3://bucket/prefix; default file://<home>/pdfs."
    )
    s3_endpoint_url: str | None = None
    # Integrations are off unless configured (each environment also needs its Stripe connection).
    stripe_enabled: bool = Field(default=False, description="Run the Stripe invoice sync.")
    stripe_api_base: str | None = Field(default=None, description="Stripe API base URL; default Stripe's.")
    hubspot_access_token: str | None = Field(
        default=None, description="HubSpot private-app token; the HubSpot sync is off without one."
    )
    hubspot_host: str = "https://api.hubapi.com"
    webhooks_allow_loopback: bool = Field(
        default=False,
        description=(
            "Development only: let webhook endpoints use loopback (127.0.0.1, ::1, localhost). Private, "
            "link-local and every other non-public destination stay refused."
        ),
    )
    secret_keys: SecretStr | None = Field(
        default=None,
        description=(
            "Comma-separated Fernet keys that encrypt stored secrets (webhook signing secrets, provider "
            "keys); the first encrypts, every one decrypts. Required with a PostgreSQL catalog; the "
            "embedded default reads <home>/secret.keys, which `flexprice init` creates."
        ),
    )
    api_inline_checks: bool | None = Field(
        default=None,
        description=(
            "Answer entitlement checks on the API's event loop instead of a worker thread; default: on for "
            "a SQLite catalog (its reads take microseconds; a thread hop costs more, and its GIL hand-offs "
            "dominate p99 under load), off for PostgreSQL (a slow query must not stall the loop)."
        ),
    )

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home.resolve() / 'catalog.db'}"

    @property
    def secret_keys_file(self) -> Path:
        return self.home.resolve() / SECRET_KEYS_FILE

    @property
    def resolved_secret_keys(self) -> list[str]:
        """The configured Fernet keys, primary first; ``[]`` when none is configured."""
        if self.secret_keys is not None:
            return [k.strip() for k in self.secret_keys.get_secret_value().split(",") if k.strip()]
        # The key file is the embedded default's: production must name its keys explicitly.
        if self.resolved_database_url.startswith("sqlite") and self.secret_keys_file.is_file():
            lines = self.secret_keys_file.read_text().splitlines()
            return [k.strip() for k in lines if k.strip() and not k.startswith("#")]
        return []

    @property
    def resolved_api_inline_checks(self) -> bool:
        if self.api_inline_checks is not None:
            return self.api_inline_checks
        return self.resolved_database_url.startswith("sqlite")

    @property
    def resolved_warehouse_url(self) -> str:
        return self.warehouse_url or f"duckdb:///{self.home.resolve() / 'warehouse.duckdb'}"

    @property
    def resolved_object_store(self) -> str:
        return self.object_store or (self.home.resolve() / "pdfs").as_uri()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings read once from the environment (tests build their own ``Settings`` instead)."""
    return Settings()

# One image for every role (api, sink, usage consumer, Dagster webserver and daemon); the command picks it.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    FLEXPRICE_HOME=/data

WORKDIR /app

# Dependencies first so that code changes do not invalidate the layer.
COPY pyproject.toml README.md ./
RUN mkdir -p flexprice_pipelines api sensors \
    && touch flexprice_pipelines/__init__.py api/__init__.py sensors/__init__.py \
    && pip install . \
    && pip uninstall -y flexprice-pipelines

COPY . .
# Editable install: the pipeline finds the dbt project and the Typst template beside the package in /app.
# The dbt manifest is prepared at build time (`flexprice dbt-prepare`; parsing needs no database): loading the
# definitions only reads it. dbt writes run artifacts to dbt/target.
RUN pip install --no-deps -e . \
    && flexprice dbt-prepare \
    && useradd --system --uid 10001 --home-dir /data flexprice \
    && mkdir -p /data && chown flexprice /data && chown -R flexprice /app/dbt

USER flexprice
VOLUME ["/data"]
EXPOSE 8000
CMD ["flexprice", "--help"]

# syntax=docker/dockerfile:1
# Build stage: a wheel-only virtualenv, so the runtime image carries no compiler.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
COPY pyproject.toml README.md ./
COPY core ./core
COPY db ./db
COPY security ./security
COPY providers ./providers
COPY integrations ./integrations
COPY sync ./sync
COPY graph ./graph
COPY stratograph ./stratograph
RUN /opt/venv/bin/pip install --upgrade pip && /opt/venv/bin/pip install .

# Runtime stage: non-root, read-only code. One image for every process:
#   the API (default command), `stratograph worker` (sync jobs), `stratograph migrate` (once per
#   release, as a one-off job before the new version serves; MIGRATE_ON_START=true does it here
#   instead, for a single-container install).
FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ENVIRONMENT=production \
    MIGRATE_ON_START=false \
    WEB_CONCURRENCY=1
RUN useradd --system --uid 10001 --home-dir /app --create-home stratograph
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
USER stratograph
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"]
# One uvicorn process per container (scale with containers): /metrics then describes the whole
# container, and SIGTERM drains in-flight requests for up to 30 s (stop_grace_period ≥ 35 s).
STOPSIGNAL SIGTERM
CMD ["sh", "-c", "if [ \"$MIGRATE_ON_START\" = true ]; then stratograph migrate || exit 1; fi; exec stratograph serve --host 0.0.0.0 --port 8000 --workers ${WEB_CONCURRENCY} --graceful-timeout 30"]

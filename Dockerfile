# The CallPulse gateway. Build: docker build -t callpulse .  Run it with compose.yaml, or with DATABASE_URL set.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY gateway ./gateway
COPY db ./db
RUN pip install . && useradd --system --uid 10001 --home-dir /app callpulse
USER callpulse

# Listen on every interface inside the container; the port is published by the runtime.
ENV CALLPULSE_HOST=0.0.0.0 \
    CALLPULSE_PORT=8000
EXPOSE 8000

# Liveness: the process answers. (Readiness, /readyz, is for the orchestrator's own probe.)
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]

# SIGTERM (docker stop) shuts the gateway down cleanly: open requests finish, pools close.
STOPSIGNAL SIGTERM
CMD ["callpulse", "serve"]

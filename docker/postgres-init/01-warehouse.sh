#!/bin/bash
# Creates the warehouse database and its owner beside Airflow's metadata database.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v pw="$WAREHOUSE_PASSWORD" <<'SQL'
CREATE ROLE schoolnet LOGIN PASSWORD :'pw';
CREATE DATABASE schoolnet OWNER schoolnet;
SQL

"""The warehouse: registries, pulls, findings, the daily snapshot of every school, deliveries."""

from schoolnet.warehouse.engine import create_warehouse_engine, ensure_schema
from schoolnet.warehouse.merge import EsaDay, merge_day

__all__ = ["EsaDay", "create_warehouse_engine", "ensure_schema", "merge_day"]

"""Development only (emulator, demo data, mail sink, local Airflow).

Production code (the stages, orchestration and the DAGs) never imports it.
"""

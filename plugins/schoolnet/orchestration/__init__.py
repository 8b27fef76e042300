"""What the DAGs call: the pipeline's steps wired for Airflow tasks."""

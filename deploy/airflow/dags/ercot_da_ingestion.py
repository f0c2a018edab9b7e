"""Airflow DAG of carbon254 job `ercot_da_ingestion` (see carbon254.ingest.jobs)."""

from carbon254_dags import make_dag

dag = make_dag("ercot_da_ingestion")

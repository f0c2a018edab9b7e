"""Airflow DAG of carbon254 job `ercot_ordc_ingestion` (see carbon254.ingest.jobs)."""

from carbon254_dags import make_dag

dag = make_dag("ercot_ordc_ingestion")

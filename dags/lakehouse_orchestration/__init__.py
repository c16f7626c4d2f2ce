"""Helpers of the lakehouse DAG (dags/lakehouse_pipeline.py); shipped beside it to MWAA."""

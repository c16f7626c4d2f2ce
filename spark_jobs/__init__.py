"""PySpark jobs that promote the lake bronze -> silver -> gold. Entry point: spark_jobs/main.py."""

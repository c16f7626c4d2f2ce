"""Layer jobs: read with delta_io, transform with spark_jobs.transforms, write with delta_io."""

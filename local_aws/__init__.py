"""Local stand-ins for the AWS services: MariaDB for RDS, the binlog replicator for DMS, the CLI."""

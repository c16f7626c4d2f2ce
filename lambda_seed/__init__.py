"""The seeding Lambda: the source system of the lakehouse.

It creates the `salesdb` schema, loads a deterministic scale-factor data set (`init`), produces one
business period of inserts, updates and deletes at a time (`activity`) for CDC to capture, and
empties the database on request (`reset`). Every call returns a manifest (row counts and content
checksums read back from the database), the ground truth later layers reconcile against.

Modules:
  core        init, activity, reset, manifest: each takes a DB-API (pymysql) connection whose
              current database is the source database; bookkeeping lives in `lakehouse_seed`
  handler     the Lambda entry point `lambda_seed.handler.handler(event, context)`
  events      the event {"mode", "scale", "seed", "period"} and its validation (EventError names
              the field); SeedError for requests that cannot be carried out
  database    connecting (TLS when asked), choosing the database, the DMS replication user and
              RDS binlog retention
  schema, generator, activity, checksum, sql, vocab
              the DDL, the deterministic data set, one period of changes, the manifest's checksums

Lambda environment (terraform/modules/lambda sets it): DB_SECRET_ID (the RDS-managed master
secret, {"username", "password"}), DB_HOST, DB_PORT, DB_NAME, DMS_SECRET_ID (the replication
user's secret, created on init), DB_TLS_CA (CA bundle to verify the server; relative: inside the
package; empty: TLS without certificate checks). Without
DB_SECRET_ID: LAKEHOUSE_MYSQL_HOST, _PORT, _USER, _PASSWORD, _DATABASE. Locally the same core
runs as `lakehouse seed init|activity|reset|manifest`; `make lambda-zip` builds the package.

Only the standard library and pymysql are imported here (boto3, for the secrets, comes with the
Lambda runtime): the Lambda package holds nothing else.
"""

from lambda_seed.core import SeedError, activity, init, manifest, reset

__all__ = ["SeedError", "activity", "init", "manifest", "reset"]

"""The seeding Lambda: the source system of the lakehouse.

It creates the `salesdb` schema, loads a deterministic scale-factor data set (`init`), produces one
business period of inserts, updates and deletes at a time (`activity`) for CDC to capture, and
empties the database on request (`reset`). Every call returns a manifest (row counts and content
checksums read back from the database), the ground truth later layers reconcile against.

Only the standard library and pymysql are imported here: the Lambda package holds nothing else.
"""

from lambda_seed.core import SeedError, activity, init, manifest, reset

__all__ = ["SeedError", "activity", "init", "manifest", "reset"]

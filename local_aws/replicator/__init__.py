"""The local stand-in for AWS DMS: MariaDB binlog -> raw-zone Parquet files, exactly as DMS writes them.

    MariaDB --full load + binlog CDC--> Replicator --> <raw>/salesdb/<table>/LOAD*.parquet, <ts>.parquet
                                                            |
                                 bronze (Spark) reads them; oracle.replay() checks them

Modules: `contract` (file schema, timestamps, change sequences, names), `source` (connection and
CDC prerequisites), `fullload`, `cdc` (binlog -> transactions), `replicator` (orchestration,
batching, checkpoint discipline), `storage` (local folder or S3), `checkpoint`, `faults`
(fault injection for tests) and `oracle` (replays raw files into table state).
"""

from local_aws.replicator.faults import Faults, SimulatedCrash
from local_aws.replicator.replicator import Options, Replicator, RunReport
from local_aws.replicator.source import SourceError, SourceSettings

__all__ = ["Faults", "Options", "Replicator", "RunReport", "SimulatedCrash", "SourceError", "SourceSettings"]

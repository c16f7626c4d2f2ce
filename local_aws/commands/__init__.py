"""Sub-commands of the `lakehouse` CLI; each module exposes `register(subparsers)`."""

"""Pure DataFrame -> DataFrame transforms: no session building, no I/O, no config loading."""

"""The ``eagle`` command line: thin subcommands over the library."""

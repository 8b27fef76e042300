"""The ``schoolnet`` command and its subcommands."""

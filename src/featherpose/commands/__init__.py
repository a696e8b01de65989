"""Sub-commands of the ``featherpose`` CLI, one module each."""

"""Transport-agnostic command layer: Command in, Reply out (see ``dispatcher.CommandLayer``)."""

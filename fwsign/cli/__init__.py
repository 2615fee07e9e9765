"""Command-line interface (thin: arguments in, library calls, exit codes out)."""

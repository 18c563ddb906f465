"""The ``dreamsound`` command line: one module per command group, wired in ``main``."""

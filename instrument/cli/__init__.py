"""The ``dreamsound`` command line: one module per command group, wired in ``main``. The top layer: may import
every other package (it is where ``live`` and ``osc`` meet, in ``live_commands``)."""

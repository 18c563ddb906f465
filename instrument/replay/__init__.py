"""Replay a rehearsal take offline: re-dream its dry channel following its parameter log, at studio quality.

Imports ``instrument.settings``, ``dream``, ``model`` and the base modules; never ``live``, ``osc`` or ``cli``.

- ``take``      find and read a take's audio (parts, cut-short files) and its target sounds
- ``log``       read the parameter log, reporting bad lines by number
- ``timeline``  regions of dream parameters and the output automation (mix, gain, ceiling, freeze)
- ``mixdown``   automation and the offline limiter on the output
- ``replay``    the whole replay: dream the regions, freeze, mix, limit, summarize
"""

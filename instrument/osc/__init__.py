"""The OSC control surface: every parameter playable from Pure Data, Max or any OSC client.

Imports ``instrument.live`` and below; only ``instrument.cli`` imports it.

- ``namespace``  the addresses (built from ``instrument.settings.CONTROLS``), parsing and replies
- ``wire``       building replies Pd and Max accept (only i, f, s; packets < 8 KB)
- ``server``     the UDP server: allow-list, bundles, errors, feedback, status
- ``presets``    numbered parameter sets in a YAML file, saved atomically
- ``discovery``  the namespace advertised with OSCQuery
- ``bridge``     what the server needs from a running engine (class names, capture, status)
- ``service``    the server, its status sender and OSCQuery, started and stopped together
"""

"""The OSC control surface: every parameter playable from Pure Data, Max or any OSC client.

- ``namespace``  the addresses, their argument types, ranges and replies (parsed here)
- ``wire``       building replies Pd and Max accept (only i, f, s; packets < 8 KB)
- ``server``     the UDP server: allow-list, bundles, errors, feedback, status
- ``presets``    numbered parameter sets in a YAML file, saved atomically
- ``discovery``  the namespace advertised with OSCQuery
- ``settings``   the ``osc:`` section of ``config.yaml``
"""

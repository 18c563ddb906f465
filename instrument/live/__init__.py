"""The live engine: audio callback, dream worker, glitch-free output, metrics, controls and rehearsal recording.

Modules, one job each:

- ``settings``   the ``audio:``, ``live:`` and ``record:`` sections of ``config.yaml``.
- ``ringbuffer`` preallocated single-writer ring buffer indexed by absolute frame counts.
- ``output``     grain player (overlap-add / crossfade of dreamed windows) and safety limiter.
- ``callback``   the real-time audio callback (copies, mixes, limits; never waits, never allocates).
- ``worker``     the dream worker thread (newest window -> iterations -> published window).
- ``metrics``    counters and timings written by the callback and the worker.
- ``controls``   the one thread-safe object holding every parameter and exposing the metrics.
- ``recorder``   the rehearsal recording writer thread (WAV + JSON-lines parameter log).
- ``devices``    device lookup, validation and clear errors.
- ``inputfile``  a recorded take loaded to play into the engine as if it were the microphone.
- ``engine``     wires everything together and runs a performance.
- ``cli``        ``dreamsound run`` and ``dreamsound devices``.
"""

from instrument.live import settings as _settings  # noqa: F401  (registers the config sections)

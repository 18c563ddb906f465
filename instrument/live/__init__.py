"""The live engine: audio callback, dream process, glitch-free output, metrics, controls and rehearsal recording.

Two processes: the audio process (everything below but ``dreamproc`` and ``worker``) only moves
samples and never imports TensorFlow; the dream process loads the model and dreams.
Imports ``instrument.config`` and below (settings, dream, model, base); never ``osc``, ``replay`` or ``cli``.

Modules, one job each:

- ``ringbuffer`` preallocated single-writer ring buffer indexed by absolute frame counts.
- ``shm``        the shared memory between the processes: input ring, played ring, window slots.
- ``output``     grain player (overlap-add / crossfade of dreamed windows) and safety limiter.
- ``callback``   the real-time audio callback (copies, mixes, limits; never waits, never allocates).
- ``supervisor`` starts the dream process, relays parameters and windows, restarts it when it dies.
- ``protocol``   the messages between the two processes (frozen dataclasses) and the ``Dreamer`` protocol.
- ``dreamproc``  the dream process: model, compiling, the dream loop, status classification.
- ``worker``     the dream loop (a context buffer continued across hops -> iterations -> newest window published).
- ``metrics``    counters and timings written by the callback and the supervisor.
- ``activity``   what ran when (for naming what an xrun coincided with).
- ``priority``   nice values: the dream process and its background compiling yield to the audio.
- ``controls``   the one thread-safe object holding every parameter and exposing the metrics.
- ``recorder``   the rehearsal recording writer thread (WAV + JSON-lines parameter log), the record
                 folder's checks and the record switch (a take per "on").
- ``devices``    device lookup, validation and clear errors.
- ``stream``     the stream's life: devices planned, opened, watched, reopened, closed; a PortAudio
                 stream or the software clock (no device), behind one interface.
- ``targets``    target sounds captured from the input, and the checks of a parameter set without the model.
- ``inputfile``  a recorded take loaded to play into the engine as if it were the microphone.
- ``engine``     checks what can fail before the audio, wires everything together, runs a performance.

"""

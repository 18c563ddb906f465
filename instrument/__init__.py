"""DreamSound Live: a real-time instrument that lets YAMNet dream on live sound.

Packages and modules, one job each, from the bottom layer up (each imports only those before it;
``tests/test_import_layers.py`` checks it):

- ``instrument.errors``     ``DreamSoundError``, the one-line user error.
- ``instrument.spec``       ``setting(...)``: each parameter described once beside its field, and its checks.
- ``instrument.audiofile``  read, resample and write audio.
- ``instrument.model``      YAMNet in TensorFlow (front end, network with named taps, class names) and
  where its weights come from (hub, h5, tflite, fetch).
- ``instrument.dream``      the DreamSound functions (loss, gradient, modes, spectral filters), the
  compiled iteration step and the offline ``render``.
- ``instrument.settings``   the plain-data sections of ``config.yaml`` and the table of live controls.
- ``instrument.config``     ``Config`` (one typed field per section) and ``load_config``.
- ``instrument.live``       the live audio engine: callback, shared memory, dream process, glitch-free
  output, limiter, metrics, controls, rehearsal recording.
- ``instrument.replay``     a rehearsal take re-dreamed offline, following its parameter log.
- ``instrument.osc``        the OSC control surface for Pure Data and Max (namespace, server, feedback,
  presets, OSCQuery).
- ``instrument.cli``        the ``dreamsound`` command line.

This root module only prepares TensorFlow's environment (``instrument.model.runtime``) before anything
imports it.
"""

from instrument.model.runtime import prepare_tensorflow_environment

# Before anything imports TensorFlow: its oneDNN kernels and log level are fixed at import.
prepare_tensorflow_environment()

__version__ = "0.1.0"

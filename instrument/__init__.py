"""DreamSound Live: a real-time instrument that lets YAMNet dream on live sound.

Packages, one job each:

- ``instrument.model``  YAMNet in TensorFlow (front end, network with named taps,
  class names) and where its weights come from (hub, h5, tflite, fetch).
- ``instrument.dream``  the DreamSound functions (loss, gradient, modes, spectral
  filters), the compiled iteration step and the offline ``render``.
- ``instrument.live``   the live audio engine: callback, ring buffer, dream worker,
  glitch-free output, limiter, metrics, controls, rehearsal recording.
- ``instrument.osc``    the OSC control surface for Pure Data and Max (namespace,
  server, feedback, presets, OSCQuery).
- ``instrument.cli``    the ``dreamsound`` command line.
"""

from instrument.model.runtime import prepare_tensorflow_environment

# Before anything imports TensorFlow: its oneDNN kernels and log level are fixed at import.
prepare_tensorflow_environment()

__version__ = "0.1.0"

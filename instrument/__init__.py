"""DreamSound Live: a real-time instrument that lets YAMNet dream on live sound.

Packages, one job each:

- ``instrument.model``  YAMNet in TensorFlow (front end, network with named taps,
  class names) and where its weights come from (hub, h5, tflite, fetch).
- ``instrument.dream``  the DreamSound functions (loss, gradient, modes, spectral
  filters), the compiled iteration step and the offline ``render``.
- ``instrument.cli``    the ``dreamsound`` command line.
"""

__version__ = "0.1.0"

"""YAMNet in TensorFlow, differentiable from the 16 kHz waveform, and where its weights come from.

Imports only ``instrument.errors``, ``instrument.spec`` and ``instrument.audiofile``.

- ``frontend``  log-mel front end (one 15600-sample window -> one 96 x 64 patch)
- ``network``   MobileNet v1 as in YAMNet, every layer a named tap
- ``layout``    tap names, shapes, class count, sample rate
- ``classes``   the class map and lookups by index, name or part of a name
- ``loader``    which source the weights come from (``ModelSettings``, the ``model:`` section)
- ``runtime``   TensorFlow threads and device
- ``native_log`` TensorFlow's start-up notices kept off the terminal, everything else passed through
- ``weights``   readers for hub, h5 and tflite weights, and ``model fetch``
"""

"""The DreamSound functions: loss on a layer, normalized gradient, the five modes
(``gradients``, ``deepdream``, ``filter``, ``filter_add``, ``target``) with their
hard-cut spectral filters, the compiled iteration steps, and the offline render.
Imports only ``instrument.model`` and the base modules (errors, spec, audiofile).

- ``params``    ``DreamParams``, each field described once; ``class_target`` reads a target class
- ``spectral``  STFT / inverse STFT and the hard-cut mask
- ``objective`` what is maximized on a layer or a class
- ``step``      one iteration of a batch of windows (gradient -> mode -> safe amplitude), compiled
- ``buffer``    one iteration of a whole buffer, windows at jittered offsets, one gradient
- ``render``    the whole signal dreamed as one (regions, chunks), back to the file's rate
- ``chunks``    where a long signal is cut into buffers and how they are crossfaded
- ``listen``    class scores of a signal on a grid the dream did not use
- ``plots``     the paper-style figures
"""

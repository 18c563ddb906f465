"""The live controls the Pd and Max panels show, derived from the settings (``instrument.settings.CONTROLS``).

A new ``setting(..., osc=ADDRESS, live=True)`` gets its widget in both panels with no edit here: a slider for a
number (``float``; ``log=True`` draws it logarithmic), a number box for a whole number (``int``), a toggle for a
switch (``bool``). Mode, layer, target class and target sound have their own widgets in each builder.
"""

from __future__ import annotations

from instrument.settings import CONTROLS
from instrument.spec import Spec

PANEL: dict[str, Spec] = {spec.osc: spec for spec in CONTROLS.values() if spec.osc}  # address -> Spec


def widget_label(address: str) -> str:
    """The widget's label: the declared ``label``, else the address and its unit (``gain dB``)."""
    spec = PANEL[address]
    return spec.label or " ".join(filter(None, (address, spec.unit)))


SLIDERS = tuple(address for address, spec in PANEL.items() if spec.kind == "float")
WHOLE = tuple(address for address, spec in PANEL.items() if spec.kind == "int")
TOGGLES = tuple(address for address, spec in PANEL.items() if spec.kind == "bool")

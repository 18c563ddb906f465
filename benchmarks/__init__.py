"""Speed and soak measurements (``--json``, each against a plain baseline in the same run); may import all of
``instrument``, nothing imports them."""

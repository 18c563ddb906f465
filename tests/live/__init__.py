"""Tests of the live engine (``instrument.live``): units, and real time on a JACK dummy server."""

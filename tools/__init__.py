"""Project tools run by the Makefile and CI (not part of the installed package)."""

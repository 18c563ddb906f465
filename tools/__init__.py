"""Project scripts (platform wheels check, config.yaml writer, the panels' pictures): outside the installed
package; they may import all of ``instrument``, nothing imports them."""

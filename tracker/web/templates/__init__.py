"""Templates and the stylesheet of the web app (a package only so that they ship with it)."""

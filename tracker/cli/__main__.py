"""`python -m tracker.cli`: the same as the `stp-tracker` command."""

from tracker.cli.app import main

main()

"""``python -m epigex``: the command line, for an environment whose scripts are not on PATH."""

from epigex.app.cli.main import main

main()

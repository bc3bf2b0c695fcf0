"""``python -m gaussmix`` runs the command line."""

from .cli.main import main

main()

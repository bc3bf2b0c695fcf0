"""The ``gaussmix`` command line."""

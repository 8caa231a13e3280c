"""``python -m qmsdocs``: the same as the ``qmsdocs`` command."""

from qmsdocs.cli import main

main()

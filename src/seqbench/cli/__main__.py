"""``python -m seqbench.cli ...`` is the ``seqbench`` command."""

from . import main

main()

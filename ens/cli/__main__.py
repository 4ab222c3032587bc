"""``python -m ens.cli``: the ``ens`` command without its console script."""

from ens.cli import main

if __name__ == "__main__":
    main()

"""``python -m uccerts``: the same command as the ``uccerts`` script."""

from uccerts.cli.main import run

if __name__ == "__main__":
    run()

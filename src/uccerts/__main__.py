"""``python -m uccerts``: the same command as the ``uccerts`` script."""

from uccerts.launcher import run

if __name__ == "__main__":
    run()

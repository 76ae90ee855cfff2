"""``python -m safehold.cli``"""

from safehold.cli.entry import main

if __name__ == "__main__":  # spawned workers import this module again; they must not re-run the CLI
    main()

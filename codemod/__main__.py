"""`python -m codemod` runs the gradsafe command line."""

from codemod.cli import main

if __name__ == "__main__":
    main()

"""`python -m gradsafe` runs the gradsafe command line."""

from gradsafe.cli import main

if __name__ == "__main__":
    main()

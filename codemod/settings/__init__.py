"""What a run is configured to do: ``config`` (``[tool.gradsafe]`` merged with the command line),
``selection`` (active rule codes), ``patterns`` (exclusions) and ``suppression`` (inline ignores)."""

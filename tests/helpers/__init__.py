"""Helpers shared by the tests (imported as ``helpers.<module>``; fixtures are registered in
``tests/conftest.py``).  No test module imports another test module."""

"""Setup shared by every test."""

from __future__ import annotations

import importlib.util

import pytest

from gradsafe.run.cache import DIRECTORY_ENV
from helpers import fake_fixes


@pytest.fixture(autouse=True)
def private_result_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets a result cache of its own (``$GRADSAFE_CACHE_DIR``).

    Otherwise a command run from the repository would share ``.gradsafe_cache/`` with every other
    test and every earlier test run, and a test that swaps the analysis for a fake one would leave
    its fake results there for the next.  Tests of the cache's default place unset the variable.
    """
    monkeypatch.setenv(DIRECTORY_ENV, str(tmp_path_factory.mktemp("gradsafe-cache")))


@pytest.fixture
def fake_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine routed to the fake analysis and pass of ``helpers.fake_fixes`` for one test."""
    fake_fixes.install(monkeypatch)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``torch`` are skipped where torch is not installed (the torch-free CI job)."""
    if importlib.util.find_spec("torch") is not None:
        return
    skip = pytest.mark.skip(reason="torch is not installed")
    for item in items:
        if item.get_closest_marker("torch") is not None:
            item.add_marker(skip)

"""Setup shared by every test."""

from __future__ import annotations

import pytest

from gradsafe.run.cache import DIRECTORY_ENV


@pytest.fixture(autouse=True)
def private_result_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets a result cache of its own (``$GRADSAFE_CACHE_DIR``).

    Otherwise a command run from the repository would share ``.gradsafe_cache/`` with every other
    test and every earlier test run, and a test that swaps the analysis for a fake one would leave
    its fake results there for the next.  Tests of the cache's default place unset the variable.
    """
    monkeypatch.setenv(DIRECTORY_ENV, str(tmp_path_factory.mktemp("gradsafe-cache")))

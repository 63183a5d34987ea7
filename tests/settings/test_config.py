"""Configuration: finding pyproject.toml, validating [tool.gradsafe], and command-line overrides."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from gradsafe.settings import config as config_module
from gradsafe.settings.config import DEFAULT_EXCLUDE, ConfigError, Overrides, ValueType, load_settings, validate_section
from gradsafe.rules import Policy, all_rules


def write_config(directory: Path, body: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "pyproject.toml"
    path.write_text(textwrap.dedent(body))
    return path


def settings_for(path: Path, **overrides):
    return load_settings([path], Overrides(**overrides))


def default_codes() -> set[str]:
    return {r.code for r in all_rules() if r.default_enabled and r.policy is Policy.DEFAULT}


def test_no_configuration_gives_the_defaults(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("")
    settings = load_settings([tmp_path / "m.py"], Overrides(), isolated=True)
    assert settings.config_path is None
    assert settings.active == default_codes()
    assert settings.exclude == DEFAULT_EXCLUDE
    assert settings.policy is Policy.DEFAULT


def test_nearest_pyproject_with_a_gradsafe_table_wins(tmp_path: Path) -> None:
    outer = write_config(tmp_path, '[tool.gradsafe]\nignore = ["GS1"]\n')
    write_config(tmp_path / "pkg", '[project]\nname = "pkg"\n')  # no [tool.gradsafe]: skipped
    (tmp_path / "pkg" / "src").mkdir()
    settings = settings_for(tmp_path / "pkg" / "src")
    assert settings.config_path == outer
    assert settings.root == tmp_path
    assert not any(code.startswith("GS1") for code in settings.active)


def test_select_ignore_and_policy_from_file(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        """
        [tool.gradsafe]
        select = ["GS2"]
        extend-select = ["GS403"]
        ignore = ["GS205"]
        policy = "strict"
        """,
    )
    settings = settings_for(tmp_path)
    expected = {r.code for r in all_rules() if r.code.startswith("GS2") and r.code != "GS205"} | {"GS403"}
    assert settings.active == expected
    assert settings.policy is Policy.STRICT


def test_command_line_overrides_the_file(tmp_path: Path) -> None:
    write_config(tmp_path, '[tool.gradsafe]\nselect = ["GS2"]\npolicy = "strict"\n')
    settings = settings_for(tmp_path, select=["GS101"], policy="default")
    assert settings.active == {"GS101"}
    assert settings.policy is Policy.DEFAULT
    # Without --select, the file's selection stays and the command line adds and removes.
    settings = settings_for(tmp_path, extend_select=["GS101"], ignore=["GS201"])
    assert "GS101" in settings.active and "GS201" not in settings.active and "GS202" in settings.active


def test_exclude_replaces_defaults_and_extend_exclude_adds(tmp_path: Path) -> None:
    write_config(tmp_path, '[tool.gradsafe]\nexclude = ["gen/"]\nextend-exclude = ["old/"]\n')
    assert settings_for(tmp_path).exclude == ("gen/", "old/")
    assert settings_for(tmp_path, extend_exclude=["tmp/"]).exclude == ("gen/", "old/", "tmp/")
    assert settings_for(tmp_path, exclude=["x/"]).exclude == ("x/", "old/")


def test_per_file_ignores(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        """
        [tool.gradsafe.per-file-ignores]
        "tests/**" = ["GS2"]
        "__init__.py" = ["ALL"]
        """,
    )
    settings = settings_for(tmp_path)
    in_tests = settings.codes_for(tmp_path / "tests" / "unit" / "test_x.py")
    assert "GS201" not in in_tests and "GS101" in in_tests
    assert settings.codes_for(tmp_path / "pkg" / "__init__.py") == frozenset()
    assert settings.codes_for(tmp_path / "pkg" / "model.py") == settings.active


def test_explicit_config_file_and_isolated(tmp_path: Path) -> None:
    write_config(tmp_path, '[tool.gradsafe]\nignore = ["ALL"]\n')
    other = write_config(tmp_path / "conf", '[tool.gradsafe]\nselect = ["GS101"]\n')
    assert load_settings([tmp_path], Overrides(), config_file=other).active == {"GS101"}
    assert load_settings([tmp_path], Overrides(), isolated=True).active == default_codes()
    assert load_settings([tmp_path], Overrides()).active == frozenset()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            '[tool.gradsafe]\nselct = ["GS1"]\n',
            "pyproject.toml: [tool.gradsafe] unknown key 'selct' (did you mean 'select'?)",
        ),
        (
            "[tool.gradsafe]\nselect = 3\n",
            "pyproject.toml: [tool.gradsafe] 'select' must be a list of strings, got an integer",
        ),
        ('[tool.gradsafe]\nselect = ["GS1", 2]\n', "'select' must be a list of strings, got a list"),
        ('[tool.gradsafe]\npolicy = "lenient"\n', "'policy' must be one of 'default', 'strict', got a string"),
        ('[tool.gradsafe]\nrespect-gitignore = "yes"\n', "'respect-gitignore' must be true or false"),
        ('[tool.gradsafe]\nper-file-ignores = ["x"]\n', "'per-file-ignores' must be a table"),
        ('[tool.gradsafe.per-file-ignores]\n"x.py" = "GS1"\n', "'per-file-ignores' must be a table of"),
        ("[tool.gradsafe]\nverify = 1\n", "[tool.gradsafe] 'verify' must be a table, got an integer"),
        ('[tool.gradsafe]\nselect = ["GS999"]\n', "[tool.gradsafe] 'select': unknown rule selector 'GS999'"),
        (
            '[tool.gradsafe.per-file-ignores]\n"x.py" = ["NOPE"]\n',
            "'per-file-ignores' 'x.py': unknown rule selector 'NOPE'",
        ),
        ("[tool.gradsafe\nselect = 1\n", "pyproject.toml: invalid TOML"),
    ],
)
def test_configuration_errors_name_the_file_and_key(tmp_path: Path, monkeypatch, body: str, message: str) -> None:
    write_config(tmp_path, body)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as caught:
        settings_for(tmp_path)
    assert message in str(caught.value)


def test_verify_section_is_checked_against_the_verification_settings(tmp_path: Path) -> None:
    write_config(tmp_path, '[tool.gradsafe.verify]\nscenarios = ["tests/smoke.py:run"]\ntimeout = 30\n')
    assert settings_for(tmp_path).verify == {"scenarios": ["tests/smoke.py:run"], "timeout": 30}


def test_verify_section_unknown_key_names_the_file_and_the_key(tmp_path: Path) -> None:
    write_config(tmp_path, '[tool.gradsafe.verify]\nscenario = ["tests/smoke.py:run"]\n')
    with pytest.raises(ConfigError, match=r"pyproject.toml: \[tool.gradsafe.verify\] unknown key 'scenario' \(did you mean 'scenarios'\?\)"):
        settings_for(tmp_path)


def test_verify_section_wrong_type_names_the_key(tmp_path: Path) -> None:
    write_config(tmp_path, '[tool.gradsafe.verify]\ntimeout = "soon"\n')
    with pytest.raises(ConfigError, match=r"pyproject.toml: .*timeout"):
        settings_for(tmp_path)


def test_a_section_gains_validation_by_declaring_its_keys(monkeypatch) -> None:
    schema = dict(config_module.SCHEMA)
    schema["tool.gradsafe.verify"] = {"timeout": ValueType("a number", lambda v: isinstance(v, (int, float)))}
    monkeypatch.setattr(config_module, "SCHEMA", schema)
    validate_section({"verify": {"timeout": 3}}, "tool.gradsafe", "f.toml")
    with pytest.raises(
        ConfigError, match=r"f.toml: \[tool.gradsafe.verify\] unknown key 'timout' \(did you mean 'timeout'\?\)"
    ):
        validate_section({"verify": {"timout": 3}}, "tool.gradsafe", "f.toml")


def test_command_line_selector_errors_name_the_option(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--ignore: unknown rule selector 'XX1'"):
        load_settings([tmp_path], Overrides(ignore=["XX1"]), isolated=True)


def test_explicit_config_without_a_gradsafe_table_is_an_error(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[project]\nname = "x"\n')
    with pytest.raises(ConfigError, match=r"no \[tool.gradsafe\] table"):
        load_settings([tmp_path], Overrides(), config_file=path)

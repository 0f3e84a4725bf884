"""Settings precedence: explicit argument > WANDB_* environment > directory settings file > default."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_tracker import settings
from jupyter_tracker.settings import Settings, SettingsError, resolve, write_settings_file


@pytest.fixture
def clean(store_root: Path, tmp_path: Path) -> Path:
    """An empty environment and working directory; returns the directory that holds the settings file."""
    return tmp_path


def test_defaults(clean, monkeypatch):
    monkeypatch.delenv("WANDB_DIR")
    resolved = resolve({}, directory=clean)
    assert resolved.mode == "online"
    assert resolved.project == "uncategorized"
    assert resolved.console == "wrap"
    assert resolved.tags == ()
    assert resolved.resume is None
    assert resolved.root == clean / "jupyter_tracker"  # ./jupyter_tracker under the working directory
    assert not resolved.offline and not resolved.disabled


def test_precedence_argument_over_environment_over_file_over_default(clean, monkeypatch):
    write_settings_file({"mode": "offline", "project": "from-file", "group": "g-file"}, directory=clean)
    monkeypatch.setenv("WANDB_PROJECT", "from-env")
    monkeypatch.setenv("WANDB_RUN_GROUP", "g-env")
    resolved = resolve({"project": "from-arg"}, directory=clean)
    assert resolved.project == "from-arg"  # argument beats environment and file
    assert resolved.group == "g-env"  # environment beats file
    assert resolved.mode == "offline"  # file beats default
    assert resolved.job_type is None  # default


def test_environment_beats_the_file_for_mode(clean, monkeypatch):
    write_settings_file({"mode": "offline"}, directory=clean)
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert resolve({}, directory=clean).mode == "disabled"
    assert resolve({"mode": "online"}, directory=clean).mode == "online"


def test_empty_environment_variables_fall_through(clean, monkeypatch):
    write_settings_file({"project": "from-file"}, directory=clean)
    monkeypatch.setenv("WANDB_PROJECT", "")
    assert resolve({}, directory=clean).project == "from-file"


def test_none_arguments_do_not_override(clean, monkeypatch):
    monkeypatch.setenv("WANDB_PROJECT", "from-env")
    assert resolve({"project": None}, directory=clean).project == "from-env"


def test_settings_file_merges_and_is_read_from_the_working_directory(clean):
    write_settings_file({"mode": "offline"})
    write_settings_file({"project": "p"})
    assert settings.read_settings_file() == {"mode": "offline", "project": "p"}
    assert resolve({}).mode == "offline"


def test_unreadable_settings_file_is_a_clear_error(clean):
    path = settings.settings_file_path(clean)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("this is [not an ini file\n")
    with pytest.raises(SettingsError, match="settings file"):
        resolve({}, directory=clean)


@pytest.mark.parametrize(("given", "mode"), [("offline", "offline"), ("DRYRUN", "dryrun"), (" disabled ", "disabled"),
                                              ("online", "online"), ("run", "online")])
def test_modes(clean, given, mode):
    resolved = resolve({"mode": given}, directory=clean)
    assert resolved.mode == mode
    assert resolved.offline == (mode in ("offline", "dryrun"))
    assert resolved.disabled == (mode == "disabled")


def test_unknown_mode_names_the_option(clean, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "sideways")
    with pytest.raises(SettingsError, match="mode"):
        resolve({}, directory=clean)


@pytest.mark.parametrize(("given", "resume"), [(True, "allow"), (False, None), ("allow", "allow"), ("must", "must"),
                                                ("never", "never"), ("auto", "allow"), ("true", "allow"), (None, None)])
def test_resume_values(clean, given, resume):
    assert resolve({"resume": given}, directory=clean).resume == resume


def test_resume_from_environment(clean, monkeypatch):
    monkeypatch.setenv("WANDB_RESUME", "must")
    assert resolve({}, directory=clean).resume == "must"


def test_bad_resume_names_the_option(clean):
    with pytest.raises(SettingsError, match="resume"):
        resolve({"resume": "sometimes"}, directory=clean)


def test_lists_from_environment_and_arguments(clean, monkeypatch):
    monkeypatch.setenv("WANDB_TAGS", "a, b,,c")
    monkeypatch.setenv("WANDB_IGNORE_GLOBS", "*.pt,*.ckpt")
    resolved = resolve({}, directory=clean)
    assert resolved.tags == ("a", "b", "c")
    assert resolved.ignore_globs == ("*.pt", "*.ckpt")
    assert resolve({"tags": ["x", "y"]}, directory=clean).tags == ("x", "y")


@pytest.mark.parametrize("word", ["true", "TRUE", "1", "yes", "Yes", "on"])
def test_boolean_words(clean, monkeypatch, word):
    monkeypatch.setenv("WANDB_DISABLE_CODE", word)
    assert resolve({}, directory=clean).disable_code is True


def test_bad_boolean_names_the_option(clean, monkeypatch):
    monkeypatch.setenv("WANDB_DISABLE_CODE", "perhaps")
    with pytest.raises(SettingsError, match="disable_code"):
        resolve({}, directory=clean)


def test_numbers(clean, monkeypatch):
    monkeypatch.setenv("JUPYTER_TRACKER_FLUSH_INTERVAL", "0.05")
    assert resolve({}, directory=clean).flush_interval == 0.05
    monkeypatch.setenv("JUPYTER_TRACKER_FLUSH_INTERVAL", "soon")
    with pytest.raises(SettingsError, match="flush_interval"):
        resolve({}, directory=clean)


@pytest.mark.parametrize(("given", "console"), [("wrap", "wrap"), ("OFF", "off"), ("auto", "wrap"), ("redirect", "wrap")])
def test_console_modes(clean, monkeypatch, given, console):
    monkeypatch.setenv("WANDB_CONSOLE", given)
    assert resolve({}, directory=clean).console == console


def test_bad_console_mode(clean):
    with pytest.raises(SettingsError, match="console"):
        resolve({"console": "loud"}, directory=clean)


def test_root_from_wandb_dir_and_from_dir_argument(clean, monkeypatch, tmp_path):
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "env"))
    assert resolve({}, directory=clean).root == tmp_path / "env" / "jupyter_tracker"
    assert resolve({"dir": str(tmp_path / "arg")}, directory=clean).root == tmp_path / "arg" / "jupyter_tracker"
    assert resolve({"dir": tmp_path / "x" / "jupyter_tracker"}, directory=clean).root == tmp_path / "x" / "jupyter_tracker"


def test_every_environment_name_reaches_its_setting(clean, monkeypatch):
    values = {
        "WANDB_PROJECT": "p", "WANDB_ENTITY": "e", "WANDB_NAME": "n", "WANDB_RUN_ID": "abc",
        "WANDB_RUN_GROUP": "g", "WANDB_API_KEY": "k", "WANDB_BASE_URL": "http://localhost:1",
        "WANDB_USERNAME": "u", "WANDB_NOTEBOOK_NAME": "nb.ipynb", "WANDB_NOTES": "notes", "WANDB_JOB_TYPE": "train",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    resolved = resolve({}, directory=clean)
    assert (resolved.project, resolved.entity, resolved.name, resolved.run_id, resolved.group) == ("p", "e", "n", "abc", "g")
    assert (resolved.api_key, resolved.base_url, resolved.username) == ("k", "http://localhost:1", "u")
    assert (resolved.notebook_name, resolved.notes, resolved.job_type) == ("nb.ipynb", "notes", "train")


def test_unknown_arguments_are_kept_as_extra(clean):
    resolved = resolve({"project": "p", "my_option": 3}, directory=clean)
    assert resolved.extra == {"my_option": 3}


def test_settings_are_frozen():
    import dataclasses

    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().mode = "offline"  # type: ignore[misc]


@pytest.mark.parametrize(("word", "silent"), [("true", True), ("1", True), ("YES", True), ("True", True),
                                               ("false", False), ("0", False), ("", False)])
def test_silent_is_read_each_time(monkeypatch, word, silent):
    monkeypatch.setenv("WANDB_SILENT", word)
    assert settings.is_silent() is silent
    monkeypatch.delenv("WANDB_SILENT")
    assert settings.is_silent() is False


def test_parse_bool():
    assert settings.parse_bool(True) is True
    assert settings.parse_bool(None) is False
    assert settings.parse_bool(" No ") is False

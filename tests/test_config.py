"""Configuration precedence: environment over TOML file over defaults."""

from __future__ import annotations

import pytest

from bot.config import DEFAULT_DB, ConfigError, load_config


def test_defaults_without_file_or_env(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config(env={})
    assert cfg.db_path == DEFAULT_DB
    assert cfg.telegram_token is None and cfg.admin_ids == []


def test_toml_then_env(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(
        'db_path = "from-file.db"\nadmin_ids = [1, 2]\n[telegram]\ntoken = "file-token"\n',
        encoding="utf-8",
    )
    cfg = load_config(path, env={})
    assert (cfg.db_path, cfg.telegram_token, cfg.admin_ids) == (
        "from-file.db",
        "file-token",
        [1, 2],
    )
    cfg = load_config(
        path, env={"SANLIANG_DB": "env.db", "TELEGRAM_BOT_TOKEN": "t", "SANLIANG_ADMIN_IDS": "7,8"}
    )
    assert (cfg.db_path, cfg.telegram_token, cfg.admin_ids) == ("env.db", "t", [7, 8])
    assert cfg.section("telegram")["token"] == "file-token"


def test_bad_files_are_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml", env={})
    bad = tmp_path / "bad.toml"
    bad.write_text("db_path = \n", encoding="utf-8")
    with pytest.raises(ConfigError):
        load_config(bad, env={})
    with pytest.raises(ConfigError, match="not a number"):
        load_config(env={"SANLIANG_ADMIN_IDS": "1,abc", "SANLIANG_CONFIG": ""})

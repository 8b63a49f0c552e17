"""The bot token and the webhook secret: from the environment, a file, or a systemd
credential; never in the config's repr; webhook mode refuses to start without a secret."""

from __future__ import annotations

import pytest

from bot.cli import main
from bot.config import Config, ConfigError, load_config

TOKEN = "123456:SECRET-TOKEN-abcdef"


def test_token_sources_in_order(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    token_file = tmp_path / "token"
    token_file.write_text(f"{TOKEN}-file\n", encoding="utf-8")
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "telegram-token").write_text(f"{TOKEN}-cred\n", encoding="utf-8")
    (creds / "telegram-webhook-secret").write_text("s3cret_-\n", encoding="utf-8")
    toml = tmp_path / "s.toml"
    toml.write_text(f'[telegram]\ntoken = "{TOKEN}-toml"\n', encoding="utf-8")

    env = {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BOT_TOKEN_FILE": str(token_file),
        "CREDENTIALS_DIRECTORY": str(creds),
    }
    assert load_config(toml, env=env).telegram_token == TOKEN
    del env["TELEGRAM_BOT_TOKEN"]
    assert load_config(toml, env=env).telegram_token == f"{TOKEN}-file"  # newline stripped
    del env["TELEGRAM_BOT_TOKEN_FILE"]
    cfg = load_config(toml, env=env)
    assert cfg.telegram_token == f"{TOKEN}-cred"
    assert cfg.webhook_secret == "s3cret_-"
    del env["CREDENTIALS_DIRECTORY"]
    assert load_config(toml, env=env).telegram_token == f"{TOKEN}-toml"
    # A credentials directory without our credential is not an error.
    assert load_config(toml, env={"CREDENTIALS_DIRECTORY": str(tmp_path)}).telegram_token == (
        f"{TOKEN}-toml"
    )


def test_unreadable_or_empty_token_file_is_a_clear_error(tmp_path):
    empty = tmp_path / "empty"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="empty"):
        load_config(env={"TELEGRAM_BOT_TOKEN_FILE": str(empty), "SANLIANG_CONFIG": ""})
    with pytest.raises(ConfigError, match="cannot read") as info:
        load_config(env={"TELEGRAM_BOT_TOKEN_FILE": str(tmp_path / "nope")})
    assert TOKEN not in str(info.value)


def test_repr_never_shows_secrets():
    cfg = Config(telegram_token=TOKEN, webhook_secret="hook-secret")
    for shown in (repr(cfg), str(cfg), f"{cfg}"):
        assert TOKEN not in shown and "SECRET" not in shown and "hook-secret" not in shown
    assert "db_path" in repr(cfg)


@pytest.mark.parametrize("secret", [None, "", "has space", "x" * 257, "中文"])
def test_webhook_mode_refuses_to_start_without_a_usable_secret(
    secret, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    for name in (
        "TELEGRAM_WEBHOOK_SECRET",
        "TELEGRAM_WEBHOOK_SECRET_FILE",
        "CREDENTIALS_DIRECTORY",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    args = ["run", "--db", str(tmp_path / "x.db"), "--webhook-url", "https://bot.example.org/tg"]
    if secret is not None:
        args += ["--secret-token", secret]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "webhook mode needs a secret token" in err
    assert TOKEN not in err
    assert not (tmp_path / "x.db").exists()  # refused before anything was opened


def test_the_bot_runs_with_its_token_from_a_systemd_credential(tmp_path):
    """sanliang run as the unit starts it: no token in the environment, only the
    credential; against the Bot API stand-in over real HTTP. The Chinese descriptions
    are set at start-up and /privacy answers; the token never appears in the output."""
    import os
    import signal
    import subprocess
    import sys

    from bot.telegram.standin import StandIn
    from tests.test_telegram_e2e import TOKEN as E2E_TOKEN
    from tests.test_telegram_e2e import Resident, stop, wait_running

    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "telegram-token").write_text(E2E_TOKEN + "\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    for name in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_BOT_TOKEN_FILE", "SANLIANG_CONFIG"):
        env.pop(name, None)
    env.update(NO_PROXY="127.0.0.1,localhost", CREDENTIALS_DIRECTORY=str(creds))
    with StandIn(E2E_TOKEN) as standin:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--db", str(tmp_path / "c.db")]
            + ["--api-url", standin.api_url],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_running(proc, standin.stub)
            Resident(standin).say("/privacy", "谁能看到")
        finally:
            rc, err = stop(proc, signal.SIGTERM)
        assert rc == 0, err
        assert "三亮助手" in standin.stub.bot_texts["description", ""]
        assert "110" in standin.stub.bot_texts["short_description", ""]
        privacy = [c for c in standin.stub.sent("sendMessage") if "谁能看到" in c.params["text"]]
        assert privacy[0].params["parse_mode"] == "HTML"
    assert E2E_TOKEN not in err and E2E_TOKEN.split(":")[1] not in err

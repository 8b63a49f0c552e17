"""Configuration: environment variables over an optional TOML file over defaults.

Order of precedence for every setting: command-line flag (applied by the CLI),
then environment variable, then the TOML file, then the default.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.manifest import MANIFEST

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The folders content is read from, as the manifest declares them (setup.py lists the
# same ones for the wheel; a test keeps the two in step).
CONTENT_FOLDERS = MANIFEST.folders
# Where an installed wheel keeps policy_texts/, intents/ and templates/ (see setup.py).
INSTALLED_CONTENT = Path(__file__).resolve().parent / "_content"
DEFAULT_DB = "sanliang.db"
DEFAULT_CONFIG = "sanliang.toml"


def bundled_content() -> Path:
    """The content that came with the code: inside the installed package (a wheel),
    else the checkout's own folders (a clone, an editable install)."""
    if (INSTALLED_CONTENT / "policy_texts").is_dir():
        return INSTALLED_CONTENT
    return PROJECT_ROOT


class ConfigError(Exception):
    """A configuration file or value that cannot be used."""


@dataclass
class Config:
    db_path: str = DEFAULT_DB
    content_dir: Path = field(default_factory=bundled_content)
    locale: str = "zh-CN"
    # Secrets never appear in the repr (logs, tracebacks, a printed config).
    telegram_token: str | None = field(default=None, repr=False)
    webhook_secret: str | None = field(default=None, repr=False)
    admin_ids: list[int] = field(default_factory=list)
    # Free-form sections for features (staff groups, deadlines, retention ...).
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def policy_dir(self) -> Path:
        return self.content_dir / "policy_texts"

    @property
    def intents_dir(self) -> Path:
        return self.content_dir / "intents"

    @property
    def templates_dir(self) -> Path:
        return self.content_dir / "templates"

    def section(self, name: str) -> dict[str, Any]:
        value = self.extra.get(name, {})
        return value if isinstance(value, dict) else {}


def _int_list(value: Any, where: str) -> list[int]:
    if isinstance(value, str):
        value = [v for v in value.replace(";", ",").split(",") if v.strip()]
    if not isinstance(value, list):
        raise ConfigError(f"{where}: expected a list of Telegram user ids")
    try:
        return [int(str(v).strip()) for v in value]
    except ValueError as exc:
        raise ConfigError(f"{where}: not a number: {exc}") from None


# Names of the files systemd's LoadCredential= puts in $CREDENTIALS_DIRECTORY.
TOKEN_CREDENTIAL = "telegram-token"  # noqa: S105 - a file name, not a secret
WEBHOOK_SECRET_CREDENTIAL = "telegram-webhook-secret"  # noqa: S105 - a file name


def read_secret(env: dict[str, str], name: str, credential: str) -> str | None:
    """A secret from ``$NAME``, else the file named by ``$NAME_FILE``, else the systemd
    credential ``credential`` (in $CREDENTIALS_DIRECTORY); None when none is set."""
    if env.get(name, "").strip():
        return env[name].strip()
    if env.get(f"{name}_FILE"):
        return _read_secret_file(Path(env[f"{name}_FILE"]), f"{name}_FILE")
    if env.get("CREDENTIALS_DIRECTORY"):
        path = Path(env["CREDENTIALS_DIRECTORY"]) / credential
        if path.exists():
            return _read_secret_file(path, f"systemd credential {credential}")
    return None


def _read_secret_file(path: Path, where: str) -> str:
    try:
        value = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: cannot read {path}: {type(exc).__name__}") from None
    if not value:
        raise ConfigError(f"{where}: {path} is empty")
    return value


def load_config(
    path: str | os.PathLike[str] | None = None, env: dict[str, str] | None = None
) -> Config:
    """Build the configuration. ``path`` (or SANLIANG_CONFIG) names a TOML file;
    without either, ``sanliang.toml`` in the working directory is read if present."""
    env = dict(os.environ if env is None else env)
    explicit = path or env.get("SANLIANG_CONFIG")
    file_path = Path(explicit) if explicit else Path(DEFAULT_CONFIG)
    data: dict[str, Any] = {}
    if file_path.exists():
        try:
            with file_path.open("rb") as fh:
                data = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{file_path}: {exc}") from None
    elif explicit:
        raise ConfigError(f"{file_path}: configuration file not found")

    cfg = Config()
    core = {k: v for k, v in data.items() if not isinstance(v, dict)}
    cfg.extra = {k: v for k, v in data.items() if isinstance(v, dict)}
    telegram = cfg.section("telegram")

    cfg.db_path = str(env.get("SANLIANG_DB") or core.get("db_path") or DEFAULT_DB)
    if env.get("SANLIANG_CONTENT_DIR") or core.get("content_dir"):
        cfg.content_dir = Path(env.get("SANLIANG_CONTENT_DIR") or core["content_dir"])
    cfg.locale = str(env.get("SANLIANG_LOCALE") or core.get("locale") or "zh-CN")
    cfg.telegram_token = (
        read_secret(env, "TELEGRAM_BOT_TOKEN", TOKEN_CREDENTIAL) or telegram.get("token") or None
    )
    cfg.webhook_secret = read_secret(env, "TELEGRAM_WEBHOOK_SECRET", WEBHOOK_SECRET_CREDENTIAL)
    if env.get("SANLIANG_ADMIN_IDS"):
        cfg.admin_ids = _int_list(env["SANLIANG_ADMIN_IDS"], "SANLIANG_ADMIN_IDS")
    elif "admin_ids" in core:
        cfg.admin_ids = _int_list(core["admin_ids"], f"{file_path}: admin_ids")
    return cfg


def config_from(args: Any) -> Config:
    """The configuration for a CLI command: ``--config FILE`` (or the environment and
    sanliang.toml), then ``--db`` over the database path."""
    cfg = load_config(getattr(args, "config", None))
    if getattr(args, "db", None):
        cfg.db_path = args.db
    return cfg

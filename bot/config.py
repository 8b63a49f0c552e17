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

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = "sanliang.db"
DEFAULT_CONFIG = "sanliang.toml"


class ConfigError(Exception):
    """A configuration file or value that cannot be used."""


@dataclass
class Config:
    db_path: str = DEFAULT_DB
    content_dir: Path = PROJECT_ROOT
    locale: str = "zh-CN"
    telegram_token: str | None = None
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
    cfg.telegram_token = env.get("TELEGRAM_BOT_TOKEN") or telegram.get("token") or None
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

"""What the web channel adds to the engine in every process (whatever channel runs):
/forget also erases the resident's channel identities and stored web conversation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.web.channel import forget_web_identity

if TYPE_CHECKING:
    from bot.dialog.engine import Engine


def install(engine: Engine) -> None:
    if forget_web_identity not in engine.hooks.forget:
        engine.hooks.forget.append(forget_web_identity)

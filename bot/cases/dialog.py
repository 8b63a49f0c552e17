"""The residents' side of 亮渠道 as a feature: channels, the help form, progress
and /forget.

Payload prefixes: ``ch`` channels, ``hc`` help request, ``pg`` progress, ``fg`` forget.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.cases.channels_flow import ChannelsFlow
from bot.cases.forget import ForgetFlow
from bot.cases.help import HelpFlow
from bot.cases.privacy import install as install_privacy
from bot.cases.progress import ProgressFlow

if TYPE_CHECKING:
    from bot.dialog.engine import Engine


def install(engine: Engine) -> None:
    engine.add_flow(ChannelsFlow(engine), menu_item="channels")
    engine.add_flow(HelpFlow(engine), menu_item="help")
    engine.add_flow(ProgressFlow(engine), menu_item="progress")
    forget = engine.add_flow(ForgetFlow(engine))
    engine.add_command("forget", forget.start)
    install_privacy(engine)

"""What an installed wheel needs: nothing in bot/ reads files relative to the checkout.
(deploy/wheel-check.sh, run by make test, proves the installed copy works end to end.)"""

from __future__ import annotations

from bot.config import INSTALLED_CONTENT, PROJECT_ROOT, bundled_content


def test_only_config_knows_where_the_checkout_is():
    users = [
        str(p.relative_to(PROJECT_ROOT))
        for p in (PROJECT_ROOT / "bot").rglob("*.py")
        if "PROJECT_ROOT" in p.read_text(encoding="utf-8")
    ]
    # Everything else asks bot.config.bundled_content(), which finds the installed copy.
    assert users == ["bot/config.py"]


def test_a_checkout_uses_its_own_content():
    assert not INSTALLED_CONTENT.exists()  # a build never writes into the source tree
    assert bundled_content() == PROJECT_ROOT

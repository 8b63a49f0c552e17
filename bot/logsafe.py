"""Keep personal data out of the logs when the log level is DEBUG.

Our own log lines carry no personal data. Some libraries, at DEBUG, log what they
carry: python-telegram-bot every Bot API call with its parameters and result (message
texts, shared phone numbers), aiosqlite every statement with its arguments (the
conversation state, a request's phone and description), httpcore/httpx the requests.
``SANLIANG_LOG_LEVEL=DEBUG`` is for debugging the assistant, so these loggers are held
at INFO or above whatever the root level is.
"""

from __future__ import annotations

import logging

# Loggers whose DEBUG (and, for httpx, INFO: the URL holds the bot token) output
# carries message contents, SQL arguments or secrets.
CHATTY_LOGGERS = {
    "telegram": logging.INFO,
    "aiosqlite": logging.INFO,
    "httpcore": logging.INFO,
    "httpx": logging.WARNING,
}


def quiet_chatty_loggers() -> None:
    """Raise the chatty libraries' loggers to their floor (never lower a level an
    operator set higher)."""
    for name, floor in CHATTY_LOGGERS.items():
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or logger.level < floor:
            logger.setLevel(floor)

"""The Telegram channel: translates updates to engine events and replies to Bot API calls."""

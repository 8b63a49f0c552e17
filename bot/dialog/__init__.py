"""The channel-agnostic dialog engine (never imports telegram)."""

from bot.dialog.events import Button, Contact, Event, Location, Reply

__all__ = ["Button", "Contact", "Event", "Location", "Reply"]

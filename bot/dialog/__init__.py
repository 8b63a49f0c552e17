"""The channel-agnostic dialog engine (never imports telegram)."""

from bot.dialog.events import Button, Contact, Document, Event, Location, Reply

__all__ = ["Button", "Contact", "Document", "Event", "Location", "Reply"]

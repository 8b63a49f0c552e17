"""What a channel hands the engine (Event) and what it gets back (Reply).

Nothing here knows about Telegram or terminals.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_PAYLOAD_BYTES = 64  # Telegram's callback_data limit
MAX_REPLY_CHARS = 4096  # Telegram's message length limit
MAX_CAPTION_CHARS = 1024  # Telegram's limit for a file's caption


@dataclass(frozen=True)
class Contact:
    phone: str
    user_id: int | None = None  # whose contact it is, when the channel knows


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float


@dataclass(frozen=True)
class Document:
    """A file the user sent (admins upload content files this way)."""

    file_name: str
    data: bytes
    # The size the channel announced; set without ``data`` when the file was too big to fetch.
    size: int | None = None


@dataclass(frozen=True)
class Photo:
    """A photo the user sent: the channel's reference to it (the file stays with the
    channel) and its size in bytes, when the channel says."""

    file_id: str
    size: int | None = None


@dataclass(frozen=True)
class Attachment:
    """A file the assistant sends (a report); the reply's text is its caption."""

    file_name: str
    data: bytes = field(repr=False)
    mime: str = "application/octet-stream"


@dataclass(frozen=True)
class Event:
    user_id: int
    chat_id: int
    text: str | None = None
    payload: str | None = None  # a pressed button's payload
    contact: Contact | None = None
    location: Location | None = None
    document: Document | None = None
    update_id: int | None = None  # for de-duplicating redelivered updates
    is_group: bool = False  # sent in a group chat: never show personal data there
    user_name: str | None = None  # the channel's display name, never stored
    # What came instead of text: "voice", "audio", "sticker", "photo", "video", "other"
    # (the engine says kindly what it can read); None for text and the kinds above.
    media: str | None = None
    # A photo (its largest size); flows that take photos read it (Flow.on_photo).
    photo: Photo | None = None


@dataclass(frozen=True)
class Button:
    label: str
    payload: str

    def __post_init__(self) -> None:
        if len(self.payload.encode("utf-8")) > MAX_PAYLOAD_BYTES:
            raise ValueError(f"button payload over {MAX_PAYLOAD_BYTES} bytes: {self.payload!r}")


@dataclass
class Reply:
    text: str
    buttons: list[list[Button]] = field(default_factory=list)
    # May replace the message whose button was pressed (channels that can edit do).
    edit: bool = False
    # Ask the channel to offer "share my phone number" / "share my location".
    request_contact: bool = False
    request_location: bool = False
    # The step waits for a typed number (the terminal then letters its buttons a, b, c
    # so that typing "2" means the number 2, not the second button).
    expects_number: bool = False
    # Deliver to another chat than the event's (staff notifications); None = reply in place.
    chat_id: int | None = None
    # The case a message is about (a notice to its resident: a failed delivery is told
    # to the worker and noted in the case's history).
    case_id: int | None = None
    # The group whose button caused this private reply: when the private chat cannot
    # be reached, a note without personal data goes there instead.
    group_chat: int | None = None
    # Edit this earlier message of the chat (the outbox's edits of a case card).
    edit_message_id: int | None = None
    # The template the text was rendered from ("area/name"); taken from the text when it
    # is a bot.render.Rendered. Tests assert a reply by it rather than by its wording.
    template: str | None = None
    # A file sent with the text as its caption (channels without files show the text).
    document: Attachment | None = None

    def __post_init__(self) -> None:
        if self.template is None:
            self.template = getattr(self.text, "template", None)

    def payloads(self) -> list[str]:
        return [b.payload for row in self.buttons for b in row]

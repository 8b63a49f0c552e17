-- Who is who across channels. Every channel's own id for a person (Telegram's integer
-- user id, the web channel's anonymous device id, later WeChat's openid) is stored as
-- text beside the channel's name and mapped to one internal user id, the id every
-- other table uses. Telegram users keep their Telegram id as internal id (so admin ids
-- in the configuration and all existing rows stay valid); every other channel's ids
-- are allocated from 10^16 up, above any Telegram user id (at most 52 bits), so the
-- two can never collide.
CREATE TABLE channel_identities (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    channel     TEXT NOT NULL,                 -- telegram | web | ...
    external_id TEXT NOT NULL,                 -- the channel's id, as text
    created_at  REAL NOT NULL,
    seen_at     REAL NOT NULL,
    UNIQUE (channel, external_id)
);
-- Allocated ids start above every Telegram id (explicit smaller ids leave this alone).
INSERT INTO sqlite_sequence (name, seq) VALUES ('channel_identities', 10000000000000000);

-- Everyone the store already knows is a Telegram user whose internal id is their
-- Telegram id: their conversations, requests, questions, roles and subscriptions stay.
INSERT OR IGNORE INTO channel_identities (id, channel, external_id, created_at, seen_at)
SELECT uid, 'telegram', CAST(uid AS TEXT), strftime('%s', 'now'), strftime('%s', 'now')
FROM (
    SELECT user_id AS uid FROM conversations
    UNION SELECT user_id FROM cases WHERE user_id IS NOT NULL
    UNION SELECT user_id FROM kb_questions WHERE user_id IS NOT NULL
    UNION SELECT user_id FROM staff_members
    UNION SELECT user_id FROM announcement_subscribers
)
WHERE uid > 0 AND uid < 10000000000000000;

-- The web channel's conversation as the resident's page shows it: what they sent,
-- what the assistant answered, and messages outside their turn (a worker's reply, a
-- status change, an announcement), which wait here until the page has shown them.
-- Personal data: erased with /forget, and older rows dropped after the retention.
CREATE TABLE web_messages (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('user', 'bot', 'notice')),
    body       TEXT NOT NULL,                  -- user: plain text; bot/notice: Telegram HTML
    buttons    TEXT NOT NULL DEFAULT '[]',     -- JSON [[[label, payload], ...], ...]
    extra      TEXT NOT NULL DEFAULT '{}',     -- JSON: request_location, expects_number ...
    created_at REAL NOT NULL,
    shown_at   REAL                            -- notices: when an open page showed it
);
CREATE INDEX web_messages_user ON web_messages (user_id, id);
CREATE INDEX web_messages_unshown ON web_messages (shown_at) WHERE shown_at IS NULL;
CREATE INDEX web_messages_created ON web_messages (created_at);

-- Small settings the web channel keeps (the cookie signing key when none is configured).
CREATE TABLE web_settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

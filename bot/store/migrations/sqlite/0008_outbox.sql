-- Messages sent outside the sender's own turn (staff cards and alerts, notices to
-- residents, reminders, digests, announcements), written in the same transaction as
-- the change that causes them and delivered by the outbox sender (bot/outbox.py).
-- A row is delivered at most once: it is marked 'sending' (committed) before the
-- channel is called, and a row found 'sending' at start-up is not sent again but
-- marked 'unknown' and reported.
CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY,
    channel      TEXT NOT NULL DEFAULT 'telegram',
    recipient    INTEGER NOT NULL,              -- chat or user id in that channel
    kind         TEXT NOT NULL,                 -- case_post, case_urgent, resident, staff, reminder, digest, announcement, report, failure
    body         TEXT NOT NULL,                 -- the Reply as JSON
    priority     INTEGER NOT NULL DEFAULT 1,    -- 0 first (urgent), 1 normal, 2 bulk
    dedup        TEXT UNIQUE,                   -- the same message is never queued twice
    case_id      INTEGER,
    broadcast_id INTEGER,
    user_id      INTEGER,                       -- the resident it concerns (for /forget)
    cause        INTEGER,                       -- told of a permanent failure; NULL = the admins
    status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN (
                     'pending', 'sending', 'sent', 'failed', 'unknown', 'cancelled')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_at      REAL NOT NULL,
    error        TEXT,                          -- blocked | chat_not_found | rejected | gave_up | interrupted
    message_id   INTEGER,                       -- the channel's id of the sent message
    created_at   REAL NOT NULL,
    done_at      REAL
);
CREATE INDEX outbox_due ON outbox (status, priority, next_at);
CREATE INDEX outbox_broadcast ON outbox (broadcast_id, status);
CREATE INDEX outbox_case ON outbox (case_id);
CREATE INDEX outbox_user ON outbox (user_id);

-- An announcement run is its outbox rows (one per recipient); the admin may stop it.
ALTER TABLE broadcasts ADD COLUMN chat_id INTEGER;      -- where the admin hears of it
ALTER TABLE broadcasts ADD COLUMN stopped_at REAL;
ALTER TABLE broadcasts ADD COLUMN reported INTEGER NOT NULL DEFAULT 0;  -- progress steps told

-- The inbox: an update is stored here before it is confirmed to Telegram (the next
-- getUpdates offset, or the webhook's HTTP 200), handled from here, and deleted once
-- its turn committed and its replies were delivered. A process that dies leaves the
-- row: at start-up it is handled again, or, when its turn had committed, its stored
-- replies are delivered (the turn never runs twice).
CREATE TABLE inbox (
    update_id   INTEGER PRIMARY KEY,
    raw         TEXT NOT NULL,              -- the update's JSON (personal: deleted when done)
    received_at REAL NOT NULL
);

-- The replies of a committed turn, kept with its update id until they are delivered.
ALTER TABLE processed_updates ADD COLUMN replies TEXT;

DROP TRIGGER turn_saves_insert;
DROP VIEW turn_saves;
-- ``outbox``: the turn's messages to other chats (notices to residents, to staff),
-- queued in the same statement as the turn's state: [[recipient, reply JSON], ...].
CREATE VIEW turn_saves (user_id, state, update_id, saved_at, keep, replies, outbox) AS
    SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL WHERE 0;

CREATE TRIGGER turn_saves_insert INSTEAD OF INSERT ON turn_saves
BEGIN
    DELETE FROM conversations
        WHERE NOT NEW.keep AND NEW.state IS NULL AND user_id = NEW.user_id;
    INSERT INTO conversations (user_id, state, updated_at)
        SELECT NEW.user_id, NEW.state, NEW.saved_at
        WHERE NOT NEW.keep AND NEW.state IS NOT NULL
        ON CONFLICT (user_id) DO UPDATE
            SET state = excluded.state, updated_at = excluded.updated_at;
    INSERT OR IGNORE INTO processed_updates (update_id, seen_at, replies)
        SELECT NEW.update_id, NEW.saved_at, NEW.replies WHERE NEW.update_id IS NOT NULL;
    INSERT INTO outbox (recipient, kind, body, cause, next_at, created_at)
        SELECT json_extract(value, '$[0]'), 'notice', json_extract(value, '$[1]'),
               NEW.user_id, NEW.saved_at, NEW.saved_at
        FROM json_each(COALESCE(NEW.outbox, '[]'));
END;

-- One statement marks updates done: the inbox row goes, the stored replies too.
CREATE VIEW updates_done (update_id) AS SELECT NULL WHERE 0;

CREATE TRIGGER updates_done_insert INSTEAD OF INSERT ON updates_done
BEGIN
    DELETE FROM inbox WHERE update_id = NEW.update_id;
    UPDATE processed_updates SET replies = NULL
        WHERE update_id = NEW.update_id AND replies IS NOT NULL;
END;

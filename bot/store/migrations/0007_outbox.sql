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

-- Conversation state per user and the ids of updates already handled.
CREATE TABLE conversations (
    user_id    INTEGER PRIMARY KEY,
    state      TEXT NOT NULL,
    updated_at REAL NOT NULL
);

CREATE TABLE processed_updates (
    update_id INTEGER PRIMARY KEY,
    seen_at   REAL NOT NULL
);
CREATE INDEX processed_updates_seen_at ON processed_updates (seen_at);

-- PostgreSQL twin of sqlite/0001_core.sql: BIGINT ids (identity columns), DOUBLE PRECISION times.
-- Conversation state per user and the ids of updates already handled.
CREATE TABLE conversations (
    user_id    BIGINT PRIMARY KEY,
    state      TEXT NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);

CREATE TABLE processed_updates (
    update_id BIGINT PRIMARY KEY,
    seen_at   DOUBLE PRECISION NOT NULL
);
CREATE INDEX processed_updates_seen_at ON processed_updates (seen_at);

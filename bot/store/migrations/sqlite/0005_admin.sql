-- Admin work: published content versions, uploads waiting for confirmation,
-- announcement subscriptions and broadcast runs.

-- Every text of a content file that was published through the assistant (upload,
-- rollback, gap example), numbered per file. Version 1 of a file changed for the
-- first time is the text it had before (author_id NULL, kind 'original').
CREATE TABLE content_versions (
    id         INTEGER PRIMARY KEY,
    path       TEXT NOT NULL,                 -- relative to the content root
    version    INTEGER NOT NULL,
    text       TEXT NOT NULL,
    author_id  INTEGER,                       -- admin user id; NULL for the shipped text
    kind       TEXT NOT NULL CHECK (kind IN ('original', 'external', 'upload', 'rollback', 'example')),
    created_at REAL NOT NULL,
    UNIQUE (path, version)
);

-- An upload (or rollback, or example) validated and previewed, waiting for 发布 / 取消.
CREATE TABLE content_pending (
    id         TEXT PRIMARY KEY,              -- random token carried by the buttons
    admin_id   INTEGER NOT NULL,
    path       TEXT NOT NULL,
    text       TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('upload', 'rollback', 'example')),
    created_at REAL NOT NULL
);
CREATE INDEX content_pending_created ON content_pending (created_at);

-- Residents who opted in to announcements. region NULL = every announcement.
CREATE TABLE announcement_subscribers (
    user_id    INTEGER PRIMARY KEY,
    chat_id    INTEGER NOT NULL,
    region     TEXT,
    subscribed INTEGER NOT NULL DEFAULT 1,
    blocked    INTEGER NOT NULL DEFAULT 0,    -- the resident blocked the assistant (403)
    updated_at REAL NOT NULL
);
CREATE INDEX announcement_subscribers_active ON announcement_subscribers (subscribed, blocked, region);

-- One announcement run with its counts.
CREATE TABLE broadcasts (
    id          INTEGER PRIMARY KEY,
    token       TEXT NOT NULL UNIQUE,         -- the confirmed draft: one run per draft
    admin_id    INTEGER NOT NULL,
    region      TEXT,                         -- NULL = all subscribers
    text        TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'failed')),
    total       INTEGER NOT NULL DEFAULT 0,
    sent        INTEGER NOT NULL DEFAULT 0,
    blocked     INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0,
    created_at  REAL NOT NULL,
    finished_at REAL
);

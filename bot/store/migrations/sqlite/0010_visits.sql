-- Home visits (走访): the household roster, visit campaigns and their tasks, the
-- visit records, the actions found needs turn into (also the 一人一策 plan items),
-- and the links from a household to its help requests. Personal data (names, ID
-- tails, addresses, phones, notes, what a visit found) lives in households and
-- visits only; it is erased by the retention purge (bot/visits/jobs.py).

CREATE TABLE households (
    id          INTEGER PRIMARY KEY,
    hkey        TEXT NOT NULL UNIQUE,          -- 市州|区县|乡镇街道|户主姓名|身份证后四位
    head_name   TEXT NOT NULL,                 -- 户主姓名 (personal)
    id_tail     TEXT NOT NULL,                 -- 身份证后四位 (personal)
    city        TEXT NOT NULL,
    district    TEXT NOT NULL,
    township    TEXT NOT NULL,
    village     TEXT NOT NULL,
    address     TEXT NOT NULL DEFAULT '',      -- personal
    phone       TEXT NOT NULL DEFAULT '',      -- personal
    categories  TEXT NOT NULL,                 -- 类别, joined with 、
    size        INTEGER NOT NULL,
    note        TEXT NOT NULL DEFAULT '',      -- 备注 (personal)
    plan        INTEGER NOT NULL DEFAULT 0,    -- 1: an 一人一策 plan was opened
    source      TEXT NOT NULL DEFAULT 'roster',  -- roster | resident (asked for a visit)
    user_id     BIGINT,                        -- the resident who asked for a visit
    imported_at REAL NOT NULL,
    updated_at  REAL NOT NULL
);
CREATE INDEX households_area ON households (city, district, township, village);
CREATE INDEX households_user ON households (user_id);

CREATE TABLE visit_campaigns (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    start_date TEXT NOT NULL,                  -- ISO dates
    deadline   TEXT NOT NULL,
    created_by BIGINT,
    created_at REAL NOT NULL,
    closed_at  REAL
);

CREATE TABLE visit_campaign_areas (
    campaign_id INTEGER NOT NULL REFERENCES visit_campaigns (id) ON DELETE CASCADE,
    city        TEXT NOT NULL,
    district    TEXT NOT NULL DEFAULT '',      -- '': the whole 市州
    PRIMARY KEY (campaign_id, city, district)
);

-- One household to visit in one campaign, and the worker it is assigned to.
CREATE TABLE visit_tasks (
    id           INTEGER PRIMARY KEY,
    campaign_id  INTEGER NOT NULL REFERENCES visit_campaigns (id) ON DELETE CASCADE,
    household_id INTEGER NOT NULL REFERENCES households (id) ON DELETE CASCADE,
    assignee_id  BIGINT,                       -- NULL: nobody covers the area yet
    status       TEXT NOT NULL DEFAULT 'todo' CHECK (status IN ('todo', 'started', 'done')),
    created_at   REAL NOT NULL,
    done_at      REAL,
    UNIQUE (campaign_id, household_id)
);
CREATE INDEX visit_tasks_assignee ON visit_tasks (assignee_id, status);
CREATE INDEX visit_tasks_household ON visit_tasks (household_id);

-- The visit record: every answer is saved as it is given (``answers``, JSON), so a
-- visit can be finished later; ``finished_at`` once submitted.
CREATE TABLE visits (
    id          INTEGER PRIMARY KEY,
    task_id     INTEGER NOT NULL UNIQUE REFERENCES visit_tasks (id) ON DELETE CASCADE,
    author_id   BIGINT NOT NULL,
    answers     TEXT NOT NULL DEFAULT '{}',    -- personal (what the visit found)
    met         TEXT,                          -- self | family | nobody
    flags       TEXT NOT NULL DEFAULT '',      -- risk flags once submitted: not_met,no_heating,hazard
    latitude    REAL,
    longitude   REAL,
    started_at  REAL NOT NULL,
    updated_at  REAL NOT NULL,
    finished_at REAL
);

CREATE TABLE visit_photos (
    id        INTEGER PRIMARY KEY,
    visit_id  INTEGER NOT NULL REFERENCES visits (id) ON DELETE CASCADE,
    file_id   TEXT NOT NULL,                   -- the channel's reference; the file stays there
    size      INTEGER,
    added_at  REAL NOT NULL
);

-- What a 不够 or 隐患 becomes, and the items of an 一人一策 plan (kind 'plan').
CREATE TABLE visit_actions (
    id           INTEGER PRIMARY KEY,
    household_id INTEGER NOT NULL REFERENCES households (id) ON DELETE CASCADE,
    visit_id     INTEGER REFERENCES visits (id) ON DELETE SET NULL,
    kind         TEXT NOT NULL,                -- clothes | heating | food | hazard_* | plan
    need         TEXT NOT NULL DEFAULT '',     -- plan items: what is needed (personal)
    measure      TEXT NOT NULL DEFAULT '',     -- plan items: how it is met
    owner_id     BIGINT,
    due_date     TEXT NOT NULL,                -- ISO date, the last working day
    status       TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'cancelled')),
    created_by   BIGINT,
    created_at   REAL NOT NULL,
    done_at      REAL,
    done_by      BIGINT
);
CREATE INDEX visit_actions_household ON visit_actions (household_id, status);
CREATE INDEX visit_actions_open ON visit_actions (status, due_date);

-- A household's help requests (linked by a worker, or made from the visit).
CREATE TABLE household_cases (
    household_id INTEGER NOT NULL REFERENCES households (id) ON DELETE CASCADE,
    case_id      INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    linked_by    BIGINT,
    linked_at    REAL NOT NULL,
    PRIMARY KEY (household_id, case_id)
);

-- Several worker processes on one database (PostgreSQL): which process claimed an
-- outbox row it is sending, and which one stored an update in the inbox. At start-up
-- a worker recovers only the rows of processes that are gone, never those another
-- live worker is busy with. (SQLite: one process; the columns are filled, not needed.)
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE inbox ADD COLUMN worker TEXT;

-- PostgreSQL twin of sqlite/0006_turn_saves.sql: one statement saves a turn.
-- Each row inserted into the view `turn_saves` runs the trigger function below inside
-- that single INSERT statement, so a turn's state and its update id are written
-- together or not at all, and one statement can save the turns of several users.
--   state NULL, keep 0: the user starts afresh (their row is deleted);
--   keep 1: the state is left as it is, only the update id is recorded;
--   update_id NULL: no update id to record.
CREATE VIEW turn_saves (user_id, state, update_id, saved_at, keep) AS
    SELECT NULL::bigint, NULL::text, NULL::bigint, NULL::double precision, NULL::bigint
    WHERE false;

CREATE FUNCTION turn_saves_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.keep = 0 AND NEW.state IS NULL THEN
        DELETE FROM conversations WHERE user_id = NEW.user_id;
    END IF;
    IF NEW.keep = 0 AND NEW.state IS NOT NULL THEN
        INSERT INTO conversations (user_id, state, updated_at)
            VALUES (NEW.user_id, NEW.state, NEW.saved_at)
            ON CONFLICT (user_id) DO UPDATE
                SET state = excluded.state, updated_at = excluded.updated_at;
    END IF;
    IF NEW.update_id IS NOT NULL THEN
        INSERT INTO processed_updates (update_id, seen_at)
            VALUES (NEW.update_id, NEW.saved_at) ON CONFLICT DO NOTHING;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER turn_saves_insert INSTEAD OF INSERT ON turn_saves
    FOR EACH ROW EXECUTE FUNCTION turn_saves_insert();

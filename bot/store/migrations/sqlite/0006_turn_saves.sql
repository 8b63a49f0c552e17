-- One statement saves a turn: the user's state and the id of the update it handled.
-- Each row inserted into the view `turn_saves` runs the trigger below inside that
-- single INSERT statement, so a turn's state and its update id are written together
-- or not at all, and one statement can save the turns of several users at once.
--   state NULL, keep 0: the user starts afresh (their row is deleted);
--   keep 1: the state is left as it is (the turn changed nothing), only the update
--           id is recorded;
--   update_id NULL: no update id to record.
CREATE VIEW turn_saves (user_id, state, update_id, saved_at, keep) AS
    SELECT NULL, NULL, NULL, NULL, NULL WHERE 0;

CREATE TRIGGER turn_saves_insert INSTEAD OF INSERT ON turn_saves
BEGIN
    DELETE FROM conversations
        WHERE NOT NEW.keep AND NEW.state IS NULL AND user_id = NEW.user_id;
    INSERT INTO conversations (user_id, state, updated_at)
        SELECT NEW.user_id, NEW.state, NEW.saved_at
        WHERE NOT NEW.keep AND NEW.state IS NOT NULL
        ON CONFLICT (user_id) DO UPDATE
            SET state = excluded.state, updated_at = excluded.updated_at;
    INSERT OR IGNORE INTO processed_updates (update_id, seen_at)
        SELECT NEW.update_id, NEW.saved_at WHERE NEW.update_id IS NOT NULL;
END;

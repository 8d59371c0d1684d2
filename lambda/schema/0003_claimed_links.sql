-- Claimed links are healed. An event stored on its last receive without its link keeps
-- the claim in claimed_previous_event_id; when the event it claims is stored later, the
-- claim becomes the link. A statement that stores events links every stored row that
-- claims one of them, and every row it stores whose claimed event is stored by now (an
-- event and its claimant stored at the same time by two consumers), unless the link
-- would close a cycle: then the claim stays. The trigger runs as the writer, which
-- needs UPDATE of (previous_event_id, claimed_previous_event_id) and nothing more.
CREATE INDEX idx_events_claimed_prev ON events (claimed_previous_event_id)
  WHERE claimed_previous_event_id IS NOT NULL;

CREATE FUNCTION events_link_claims() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Most statements store no claimed event and no claim: two index look-ups a row find that.
  IF NOT EXISTS (SELECT 1 FROM stored s JOIN events c ON c.claimed_previous_event_id = s.event_id WHERE c.claimed_previous_event_id IS NOT NULL)
    AND NOT EXISTS (SELECT 1 FROM stored s WHERE s.claimed_previous_event_id IS NOT NULL) THEN
    RETURN NULL;
  END IF;
  WITH RECURSIVE claim (event_id, target) AS (
    SELECT c.event_id, c.claimed_previous_event_id
    FROM stored s JOIN events c ON c.claimed_previous_event_id = s.event_id
    WHERE c.claimed_previous_event_id IS NOT NULL
    UNION
    SELECT s.event_id, s.claimed_previous_event_id
    FROM stored s JOIN events t ON t.event_id = s.claimed_previous_event_id
    WHERE s.claimed_previous_event_id IS NOT NULL
  ), ancestor (claimant, event_id, previous_event_id) AS (
    -- The claimed event and its predecessors: the link closes a cycle when they include the claimant.
    SELECT claim.event_id, e.event_id, e.previous_event_id FROM claim JOIN events e ON e.event_id = claim.target
    UNION
    SELECT a.claimant, e.event_id, e.previous_event_id FROM ancestor a JOIN events e ON e.event_id = a.previous_event_id
  )
  UPDATE events e SET previous_event_id = claim.target, claimed_previous_event_id = NULL
  FROM claim
  WHERE e.event_id = claim.event_id
    AND NOT EXISTS (SELECT 1 FROM ancestor a WHERE a.claimant = claim.event_id AND a.event_id = claim.event_id);
  RETURN NULL;
END $$;

CREATE TRIGGER events_link_claims AFTER INSERT ON events
  REFERENCING NEW TABLE AS stored FOR EACH STATEMENT EXECUTE FUNCTION events_link_claims();

-- The claims, in one small table outside the partitions: event_claims holds one row for
-- each stored event whose link is a claim (claimed_previous_event_id), so that finding
-- the claims on a batch's events costs the same however many partitions events has.
--
-- Why: a claim names its event by id only, and events is partitioned on occurred_at, so
-- looking claims up on events itself (through idx_events_claimed_prev) plans and probes
-- every partition. Measured on 9 partitions (one run, EXPLAIN ANALYZE, median of 30): that
-- look-up took 0.9 ms to plan for a batch of 10 events, more than the INSERT that stores
-- them (0.7 ms), and 4.6 ms for 1,000; with a partition a day and no retention it would grow
-- by the day. The look-up now reads event_claims, whose index it plans once.
--
-- The column stays the record, on the event's own row; event_claims follows it, kept by
-- row triggers on events, whatever writes it: the consumer's INSERT and COPY, the
-- healing UPDATE, events_drop_partitions' UPDATE, and the moves of events_create_partitions.
-- Each fires only for a row that has or had a claim (its WHEN clause), so storing an event
-- without one costs a null test. (A statement trigger with a transition table, 0003's, was
-- dropped by 0004 for its cost on every statement.) The functions are SECURITY DEFINER, so
-- the writer needs no privilege on event_claims beyond SELECT, to look claims up.
-- Dropping a partition fires no trigger: the maintenance, which drops them, deletes the
-- claims whose row is gone in the same transaction (lambda/lib/partitions.ts).
CREATE TABLE event_claims (
  -- The event the claimant names as its predecessor.
  claimed_event_id UUID NOT NULL,
  -- The claimant, and its occurred_at, which finds its row in its partition.
  event_id         UUID NOT NULL,
  occurred_at      TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (claimed_event_id, event_id, occurred_at)
);
-- The healing looks claims up by claimant too.
CREATE INDEX idx_event_claims_claimant ON event_claims (event_id);

INSERT INTO event_claims SELECT claimed_previous_event_id, event_id, occurred_at FROM events
WHERE claimed_previous_event_id IS NOT NULL;

CREATE FUNCTION event_claims_follow() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.claimed_previous_event_id IS NOT NULL THEN
    DELETE FROM event_claims
    WHERE claimed_event_id = OLD.claimed_previous_event_id AND event_id = OLD.event_id AND occurred_at = OLD.occurred_at;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.claimed_previous_event_id IS NOT NULL THEN
    INSERT INTO event_claims VALUES (NEW.claimed_previous_event_id, NEW.event_id, NEW.occurred_at) ON CONFLICT DO NOTHING;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER event_claims_insert AFTER INSERT ON events
  FOR EACH ROW WHEN (NEW.claimed_previous_event_id IS NOT NULL) EXECUTE FUNCTION event_claims_follow();
CREATE TRIGGER event_claims_update AFTER UPDATE OF claimed_previous_event_id ON events
  FOR EACH ROW WHEN (OLD.claimed_previous_event_id IS DISTINCT FROM NEW.claimed_previous_event_id) EXECUTE FUNCTION event_claims_follow();
CREATE TRIGGER event_claims_delete AFTER DELETE ON events
  FOR EACH ROW WHEN (OLD.claimed_previous_event_id IS NOT NULL) EXECUTE FUNCTION event_claims_follow();

-- Claimed links are healed by the consumer, not by a trigger. The statement trigger of
-- 0003 ran on every statement that stored events, COPY included, and a statement of 10
-- rows paid it in full: measured with and without it in one run, it cost the consumer
-- at batch 10 about a quarter of its events/s, and COPY into the table half. Now the
-- consumer, after a batch's events are stored (committed), runs one statement that links
-- the stored rows claiming any of them, and the claims it just stored whose claimed event
-- is stored by now (HEAL_CLAIMS in lambda/lib/events-table.ts), through the partial index
-- idx_events_claimed_prev, which 0003 made and which stays. The writer still needs UPDATE
-- of (previous_event_id, claimed_previous_event_id) and nothing more.
DROP TRIGGER events_link_claims ON events;
DROP FUNCTION events_link_claims();

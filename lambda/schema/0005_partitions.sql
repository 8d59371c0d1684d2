-- Partitions: new events land in a small partition of their day, whose indexes stay in
-- memory, so the cost of storing an event does not grow with the events stored before.
--
-- The design: RANGE partitions on occurred_at, one a day (UTC), named events_YYYYMMDD;
-- the primary key is (event_id, occurred_at). Chosen over RANGE partitions on event_id
-- (whose UUIDv7 prefix is time), which would keep the key and the self-referencing FK
-- as they were, because:
--   - the contract accepts any UUID. A v4 id (older producers, other languages, and every
--     row stored before) has a random prefix: ~99.999 % of them would fall outside every
--     day's range into one default partition that grows forever and that retention cannot
--     drop, and the rest would land in arbitrary days, including days whose partition does
--     not exist yet, which then cannot be created until those rows are moved (and moving a
--     row fires the FK's ON DELETE SET NULL on its links). On occurred_at, every id lands
--     in its day, whatever its version;
--   - the README's queries filter by client and time (occurred_at): they prune to the
--     partitions of their time range. On event_id, every partition would be searched;
--   - retention means "events that occurred more than N days ago": a partition of
--     occurred_at is exactly that.
-- Storing costs the same in both: either way a batch lands in today's small partition
-- (measured: see the README's Performance section).
--
-- Its costs, and how each promise is kept:
--   - Stored once: a redelivered event is the same message, with the same occurred_at,
--     so it meets its own row in (event_id, occurred_at) wherever and whenever it comes
--     back (ON CONFLICT DO NOTHING; COPY refuses, the batch takes the INSERT). The key no
--     longer stops two different messages that reuse one eventId with different
--     occurredAt values: both are stored.
--   - Links: a foreign key must reference a unique key, and on a partitioned table every
--     unique key includes occurred_at, so fk_events_previous goes. The consumer already
--     links an event only to a predecessor it found stored or that its batch stores first
--     (otherwise it waits, or on its last receive keeps a claim); claims are healed as
--     before (0004). What the FK's ON DELETE SET NULL did, the maintenance does before it
--     drops a partition: it turns every link into it into a claim
--     (events_drop_partitions).
--   - The seed's columns and indexes, per partition: each index below is created on the
--     parent and so on every partition, and the partial index of claims too.
--   - A row whose day has no partition (an occurred_at beyond the days made ahead) goes to
--     events_default; creating its day's partition later moves it there.
--
-- The upgrade (this migration, one transaction): today's table becomes the partition
-- events_legacy, bounded above by the start of tomorrow (UTC); its rows stay where they
-- are, with their indexes, which become the partition's. Its rows dated from tomorrow on
-- (a producer's clock ahead) move to events_default first. The two costs grow with the
-- table: the unique index (event_id, occurred_at) it builds, and the scan that proves
-- the bound. For a large table both can be done beforehand, online and resumably (see
-- "Upgrading a large events table" in the README): the migration then reuses the index
-- events_legacy_key and the validated constraint events_legacy_bound.
ALTER TABLE events DROP CONSTRAINT fk_events_previous;
ALTER TABLE events RENAME TO events_legacy;
ALTER INDEX events_pkey RENAME TO events_legacy_event_id;
ALTER INDEX idx_events_client_time RENAME TO events_legacy_client_time;
ALTER INDEX idx_events_user_time RENAME TO events_legacy_user_time;
ALTER INDEX idx_events_type_time RENAME TO events_legacy_type_time;
ALTER INDEX idx_events_campaign_time RENAME TO events_legacy_campaign_time;
ALTER INDEX idx_events_prev RENAME TO events_legacy_prev;
ALTER INDEX idx_events_metadata_gin RENAME TO events_legacy_metadata_gin;
ALTER INDEX idx_events_claimed_prev RENAME TO events_legacy_claimed_prev;

-- The same columns, in the same order, with their types, NOT NULLs and defaults.
CREATE TABLE events (
  LIKE events_legacy INCLUDING DEFAULTS,
  CONSTRAINT events_pkey PRIMARY KEY (event_id, occurred_at)
) PARTITION BY RANGE (occurred_at);

CREATE INDEX idx_events_client_time ON events (client_id, occurred_at);
CREATE INDEX idx_events_user_time ON events (user_id, occurred_at);
CREATE INDEX idx_events_type_time ON events (event_type, occurred_at);
CREATE INDEX idx_events_campaign_time ON events (campaign_id, occurred_at);
CREATE INDEX idx_events_prev ON events (previous_event_id);
CREATE INDEX idx_events_metadata_gin ON events USING GIN (metadata);
CREATE INDEX idx_events_claimed_prev ON events (claimed_previous_event_id)
  WHERE claimed_previous_event_id IS NOT NULL;

CREATE TABLE events_default PARTITION OF events DEFAULT;

DO $$
DECLARE
  bound TIMESTAMPTZ;
BEGIN
  -- The bound a large table's preparation validated, or the start of tomorrow.
  SELECT (regexp_match(pg_get_constraintdef(oid), '''([^'']+)'''))[1]::timestamptz INTO bound
  FROM pg_constraint WHERE conrelid = 'events_legacy'::regclass AND conname = 'events_legacy_bound' AND convalidated;
  IF bound IS NULL THEN
    bound := date_trunc('day', now(), 'UTC') + interval '1 day';
    ALTER TABLE events_legacy DROP CONSTRAINT IF EXISTS events_legacy_bound;
    INSERT INTO events SELECT * FROM events_legacy WHERE occurred_at >= bound;
    DELETE FROM events_legacy WHERE occurred_at >= bound;
    EXECUTE format('ALTER TABLE events_legacy ADD CONSTRAINT events_legacy_bound CHECK (occurred_at < %L)', bound);
  END IF;
  IF to_regclass('events_legacy_key') IS NULL THEN
    CREATE UNIQUE INDEX events_legacy_key ON events_legacy (event_id, occurred_at);
  END IF;
  ALTER TABLE events_legacy DROP CONSTRAINT events_legacy_event_id;
  ALTER TABLE events_legacy ADD CONSTRAINT events_legacy_pkey PRIMARY KEY USING INDEX events_legacy_key;
  EXECUTE format('ALTER TABLE events ATTACH PARTITION events_legacy FOR VALUES FROM (MINVALUE) TO (%L)', bound);
END $$;

-- The partitions' life, for the maintenance (lambda/lib/partitions.ts calls these; the
-- migration, the maintenance function, the local pipeline and the tests run the same
-- code). Each takes the same transaction-level advisory lock, so runs at the same time
-- queue and the later one finds the work done: both are idempotent.

-- The upper bound of each range partition of events (the default partition has none).
CREATE FUNCTION events_partitions() RETURNS TABLE (partition REGCLASS, upper_bound TIMESTAMPTZ)
LANGUAGE sql STABLE AS $$
  SELECT c.oid::regclass, (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
  WHERE i.inhparent = 'events'::regclass AND NOT c.relpartbound IS NULL
    AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
$$;

-- Creates the partition of each day (UTC) after the last partition, up to `days_ahead`
-- days after the day of `at`; rows of such a day waiting in events_default
-- move into it. Returns how many it created.
CREATE FUNCTION events_create_partitions(days_ahead INTEGER, at TIMESTAMPTZ DEFAULT now())
RETURNS INTEGER LANGUAGE plpgsql AS $$
DECLARE
  day TIMESTAMPTZ;
  last_day TIMESTAMPTZ := date_trunc('day', at, 'UTC') + make_interval(days => days_ahead);
  name TEXT;
  created INTEGER := 0;
BEGIN
  PERFORM pg_advisory_xact_lock(7744051118445851764);
  -- From the end of the last partition, so the days stay contiguous.
  SELECT coalesce(max(upper_bound), date_trunc('day', at, 'UTC')) INTO day FROM events_partitions();
  WHILE day <= last_day LOOP
    name := 'events_' || to_char(day AT TIME ZONE 'UTC', 'YYYYMMDD');
    CREATE TEMP TABLE events_moving (LIKE events) ON COMMIT DROP;
    WITH moved AS (DELETE FROM events_default WHERE occurred_at >= day AND occurred_at < day + interval '1 day' RETURNING *)
    INSERT INTO events_moving SELECT * FROM moved;
    -- Made apart and attached, so the parent is locked only in SHARE UPDATE EXCLUSIVE mode:
    -- the consumers go on storing meanwhile.
    EXECUTE format('CREATE TABLE %I (LIKE events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name);
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (occurred_at >= %L AND occurred_at < %L)', name, name || '_bound', day, day + interval '1 day');
    EXECUTE format('ALTER TABLE events ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', name, day, day + interval '1 day');
    INSERT INTO events SELECT * FROM events_moving;
    DROP TABLE events_moving;
    created := created + 1;
    day := day + interval '1 day';
  END LOOP;
  RETURN created;
END $$;

-- Drops every partition whose events all occurred before `at` - `retention`. Before it
-- drops one, every link into it from an event it does not hold becomes a claim, so no
-- link points at a missing row; nothing else is deleted or changed. Returns the names
-- of the partitions it dropped.
CREATE FUNCTION events_drop_partitions(retention INTERVAL, at TIMESTAMPTZ DEFAULT now())
RETURNS SETOF TEXT LANGUAGE plpgsql AS $$
DECLARE
  p TEXT;
BEGIN
  PERFORM pg_advisory_xact_lock(7744051118445851764);
  FOR p IN SELECT partition::text FROM events_partitions() WHERE upper_bound <= at - retention ORDER BY upper_bound LOOP
    -- Locked first, so no event is stored into it, nor read from it, while its links turn into claims.
    EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', p);
    EXECUTE format('UPDATE events e SET claimed_previous_event_id = e.previous_event_id, previous_event_id = NULL
      FROM %s d WHERE e.previous_event_id = d.event_id AND e.tableoid <> %L::regclass', p, p);
    EXECUTE format('DROP TABLE %s', p);
    RETURN NEXT p;
  END LOOP;
END $$;

-- The days ahead, from the first deploy on: the maintenance keeps them coming.
SELECT events_create_partitions(7);

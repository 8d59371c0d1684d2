-- event_chain(id): the chain that leads to an event, walking back from it one
-- predecessor at a time. Row 0 is the event itself; row n is the event that row n-1
-- follows. A link is followed through previous_event_id (resolved) or, where the
-- consumer stored the event without its link, through claimed_previous_event_id
-- (resolved = false). A claimed predecessor that is not stored ends the chain with a
-- row whose stored is false and whose other columns are NULL.
--
-- A corrupt chain cannot run forever: the walk stops at an event it has already
-- visited (a self-link or a cycle inserted by hand) and after max_depth links.
-- An id that is not stored gives no rows.
CREATE FUNCTION event_chain(start_event_id UUID, max_depth INTEGER DEFAULT 10000)
RETURNS TABLE (
  depth             INTEGER,
  event_id          UUID,
  stored            BOOLEAN,
  resolved          BOOLEAN,
  client_id         VARCHAR(128),
  entity_type       VARCHAR(48),
  event_type        VARCHAR(48),
  occurred_at       TIMESTAMPTZ,
  previous_event_id UUID
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  WITH RECURSIVE chain (depth, event_id, resolved) AS (
    SELECT 0, e.event_id, TRUE FROM events e WHERE e.event_id = start_event_id
    UNION ALL
    SELECT c.depth + 1, COALESCE(e.previous_event_id, e.claimed_previous_event_id), e.previous_event_id IS NOT NULL
    FROM chain c
    JOIN events e ON e.event_id = c.event_id
    WHERE c.depth < max_depth
      AND COALESCE(e.previous_event_id, e.claimed_previous_event_id) IS NOT NULL
  ) CYCLE event_id SET is_cycle USING visited
  SELECT c.depth, c.event_id, e.event_id IS NOT NULL, c.resolved,
         e.client_id, e.entity_type, e.event_type, e.occurred_at,
         COALESCE(e.previous_event_id, e.claimed_previous_event_id)
  FROM chain c
  LEFT JOIN events e ON e.event_id = c.event_id
  WHERE NOT c.is_cycle
  ORDER BY c.depth
$$;

-- Reading a chain is for anyone who may read events (functions run with the caller's rights).
GRANT EXECUTE ON FUNCTION event_chain(UUID, INTEGER) TO PUBLIC;

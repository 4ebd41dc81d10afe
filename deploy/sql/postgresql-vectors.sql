-- Vector storage schema for PostgreSQL (cluster mode): points, index snapshots and the collection catalogue.
--
-- Every shard of every collection lives in the same three tables, keyed by (collection, shard), so a shard
-- reactivated on another silo reads its points back from here. Vectors are stored as raw little-endian float32
-- bytes (dimension * 4), payloads as the caller's UTF-8 JSON bytes unchanged (bytea, so they come back byte for
-- byte; an empty payload is an empty bytea).
--
-- Idempotent: CREATE ... IF NOT EXISTS and guarded ALTERs, so it can be applied on every start. It runs in one
-- transaction; the advisory lock makes silos that apply it at the same time wait for each other instead of
-- failing on concurrent catalog updates.
--
-- This file is embedded in Agents.Grains (VectorSchema.Script) and applied by `Agents.Silo --init-schema`.
--
-- Apply: psql "$CONN" -v ON_ERROR_STOP=1 -f deploy/sql/postgresql-vectors.sql

BEGIN;

-- Arbitrary constant for everything that applies this script (transaction-scoped; released by COMMIT).
DO $$ BEGIN PERFORM pg_advisory_xact_lock(7262021460002); END $$;

-- One row per collection: its schema, so collections survive restarts of the whole cluster.
CREATE TABLE IF NOT EXISTS agents_vector_collections
(
    name            text        NOT NULL,
    dimension       integer     NOT NULL CHECK (dimension BETWEEN 1 AND 4096),
    metric          text        NOT NULL,
    shards          integer     NOT NULL CHECK (shards >= 1),
    index_kind      text        NOT NULL,
    m               integer     NOT NULL,
    ef_construction integer     NOT NULL,
    ef              integer     NOT NULL,
    quantize        boolean     NOT NULL,
    created_at      timestamptz NOT NULL,

    CONSTRAINT pk_agents_vector_collections PRIMARY KEY (name)
);

-- Payload fields a collection indexes for keyword search (added after the first release of this table).
ALTER TABLE agents_vector_collections ADD COLUMN IF NOT EXISTS text_fields text[] NOT NULL DEFAULT '{}';

-- One row per live point. Upserts arrive by binary COPY into a temporary table and INSERT ... ON CONFLICT from it.
CREATE TABLE IF NOT EXISTS agents_vector_points
(
    collection text    NOT NULL,
    shard      integer NOT NULL,
    id         text    NOT NULL,
    vector     bytea   NOT NULL,
    payload    bytea   NOT NULL,

    CONSTRAINT pk_agents_vector_points PRIMARY KEY (collection, shard, id)
);

-- The last index snapshot (e.g. an HNSW graph, opaque here) of each shard, so reactivation need not rebuild it.
CREATE TABLE IF NOT EXISTS agents_vector_snapshots
(
    collection     text        NOT NULL,
    shard          integer     NOT NULL,
    snapshot       bytea       NOT NULL,
    points_covered bigint      NOT NULL,
    saved_at       timestamptz NOT NULL DEFAULT now(),

    CONSTRAINT pk_agents_vector_snapshots PRIMARY KEY (collection, shard)
);

-- Float32 vectors and index graphs hardly compress: storage EXTERNAL moves large values out of line without
-- spending CPU on pglz. Guarded, so a re-run takes no ACCESS EXCLUSIVE lock on tables already set.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_attribute
               WHERE attrelid = 'agents_vector_points'::regclass AND attname = 'vector' AND attstorage <> 'e') THEN
        ALTER TABLE agents_vector_points ALTER COLUMN vector SET STORAGE EXTERNAL;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_attribute
               WHERE attrelid = 'agents_vector_snapshots'::regclass AND attname = 'snapshot' AND attstorage <> 'e') THEN
        ALTER TABLE agents_vector_snapshots ALTER COLUMN snapshot SET STORAGE EXTERNAL;
    END IF;
END $$;

COMMIT;

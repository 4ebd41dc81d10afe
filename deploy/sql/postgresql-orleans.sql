-- Orleans 10.4.x ADO.NET schema for PostgreSQL (clustering + grain persistence).
--
-- The Microsoft.Orleans.*.AdoNet packages ship no SQL. At start-up the providers run
-- "SELECT QueryKey, QueryText FROM OrleansQuery" and afterwards execute only the query
-- texts found there, binding their own parameters (@DeploymentId, @GrainIdHash, ...).
-- This script creates the tables those queries use and (re)writes the query rows.
--
-- Idempotent: every object is created with IF NOT EXISTS / OR REPLACE and every query
-- row is upserted, so the script can be applied on every deployment. It runs in one
-- transaction; the advisory lock makes silos/jobs that apply it at the same time wait
-- for each other instead of failing on concurrent catalog updates.
--
-- Identifiers are unquoted on purpose: PostgreSQL folds them to lower case and the
-- providers look result columns up by name case-insensitively (Npgsql GetOrdinal).
--
-- Requires PostgreSQL 15+ (UNIQUE ... NULLS NOT DISTINCT on OrleansStorage).
--
-- Apply: psql "$CONN" -v ON_ERROR_STOP=1 -f deploy/sql/postgresql-orleans.sql

BEGIN;

-- Arbitrary constant shared by everything that applies this script. Transaction-scoped:
-- released by the COMMIT at the end. (DO block only to keep psql output quiet.)
DO $$ BEGIN PERFORM pg_advisory_xact_lock(7262021460001); END $$;

-------------------------------------------------------------------------------
-- Query catalogue
-------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey  varchar(64) NOT NULL,
    QueryText text        NOT NULL,

    CONSTRAINT PK_OrleansQuery PRIMARY KEY (QueryKey)
);

-------------------------------------------------------------------------------
-- Clustering (membership)
-------------------------------------------------------------------------------

-- One row per cluster (DeploymentId = ClusterOptions.ClusterId). Version is the
-- table-wide etag: every membership insert/update must present the version it read
-- and bumps it by one, which is how Orleans detects concurrent membership changes.
CREATE TABLE IF NOT EXISTS OrleansMembershipVersionTable
(
    DeploymentId varchar(150)   NOT NULL,
    Timestamp    timestamptz(3) NOT NULL DEFAULT now(),
    Version      integer        NOT NULL DEFAULT 0,

    CONSTRAINT PK_OrleansMembershipVersionTable PRIMARY KEY (DeploymentId)
);

-- One row per silo incarnation (Address, Port, Generation).
-- Status is Orleans' SiloStatus enum: 3 = Active, 6 = Dead.
-- timestamptz, because the provider binds UTC DateTimes and reads them back as UTC.
-- ProxyPort/SiloName are NOT NULL: the provider reads them with non-null conversions.
CREATE TABLE IF NOT EXISTS OrleansMembershipTable
(
    DeploymentId varchar(150)   NOT NULL,
    Address      varchar(45)    NOT NULL,
    Port         integer        NOT NULL,
    Generation   integer        NOT NULL,
    SiloName     varchar(150)   NOT NULL,
    HostName     varchar(150)   NOT NULL,
    Status       integer        NOT NULL,
    ProxyPort    integer        NOT NULL DEFAULT 0,
    SuspectTimes text           NULL,
    StartTime    timestamptz(3) NOT NULL,
    IAmAliveTime timestamptz(3) NOT NULL,

    CONSTRAINT PK_OrleansMembershipTable PRIMARY KEY (DeploymentId, Address, Port, Generation),
    CONSTRAINT FK_OrleansMembershipTable_Version FOREIGN KEY (DeploymentId)
        REFERENCES OrleansMembershipVersionTable (DeploymentId)
);

-- Insert a silo row, conditional on the table version still being p_version.
-- Returns true only if both the row was inserted and the version was bumped.
CREATE OR REPLACE FUNCTION orleans_membership_insert(
    p_deployment_id  text,
    p_address        text,
    p_port           integer,
    p_generation     integer,
    p_silo_name      text,
    p_host_name      text,
    p_status         integer,
    p_proxy_port     integer,
    p_start_time     timestamptz,
    p_i_am_alive     timestamptz,
    p_version        integer)
RETURNS boolean
LANGUAGE plpgsql
AS $fn$
BEGIN
    -- Lock the version row first. All membership writers go through this lock, so once
    -- we hold it nobody else can change the version or the rows until we commit.
    -- Under READ COMMITTED a writer that waited here re-checks Version after the
    -- other transaction commits and then finds no row (its etag is stale).
    PERFORM 1
      FROM OrleansMembershipVersionTable
     WHERE DeploymentId = p_deployment_id
       AND Version = p_version
       FOR UPDATE;
    IF NOT FOUND THEN
        RETURN false;
    END IF;

    INSERT INTO OrleansMembershipTable
        (DeploymentId, Address, Port, Generation, SiloName, HostName,
         Status, ProxyPort, StartTime, IAmAliveTime)
    VALUES
        (p_deployment_id, p_address, p_port, p_generation, p_silo_name, p_host_name,
         p_status, p_proxy_port, p_start_time, p_i_am_alive)
    ON CONFLICT (DeploymentId, Address, Port, Generation) DO NOTHING;
    IF NOT FOUND THEN
        -- Row already exists: report failure and leave the version untouched.
        RETURN false;
    END IF;

    UPDATE OrleansMembershipVersionTable
       SET Version = Version + 1,
           Timestamp = now()
     WHERE DeploymentId = p_deployment_id;
    RETURN true;
END
$fn$;

-- Update a silo row (status, suspicions, liveness), conditional on the table version.
CREATE OR REPLACE FUNCTION orleans_membership_update(
    p_deployment_id  text,
    p_address        text,
    p_port           integer,
    p_generation     integer,
    p_status         integer,
    p_suspect_times  text,
    p_i_am_alive     timestamptz,
    p_version        integer)
RETURNS boolean
LANGUAGE plpgsql
AS $fn$
BEGIN
    -- Same locking scheme as orleans_membership_insert.
    PERFORM 1
      FROM OrleansMembershipVersionTable
     WHERE DeploymentId = p_deployment_id
       AND Version = p_version
       FOR UPDATE;
    IF NOT FOUND THEN
        RETURN false;
    END IF;

    UPDATE OrleansMembershipTable
       SET Status = p_status,
           SuspectTimes = p_suspect_times,
           -- Never move the heartbeat backwards (a delayed write could carry an old value).
           IAmAliveTime = GREATEST(IAmAliveTime, p_i_am_alive)
     WHERE DeploymentId = p_deployment_id
       AND Address = p_address
       AND Port = p_port
       AND Generation = p_generation;
    IF NOT FOUND THEN
        RETURN false;
    END IF;

    UPDATE OrleansMembershipVersionTable
       SET Version = Version + 1,
           Timestamp = now()
     WHERE DeploymentId = p_deployment_id;
    RETURN true;
END
$fn$;

-------------------------------------------------------------------------------
-- Grain persistence
-------------------------------------------------------------------------------

-- One row per (ServiceId, grain type, grain id, key extension).
-- Version is the grain state's etag; NULL/absent means "never written".
CREATE TABLE IF NOT EXISTS OrleansStorage
(
    GrainIdHash            integer      NOT NULL,
    GrainIdN0              bigint       NOT NULL,
    GrainIdN1              bigint       NOT NULL,
    GrainTypeHash          integer      NOT NULL,
    GrainTypeString        varchar(512) NOT NULL,
    GrainIdExtensionString varchar(512) NULL,
    ServiceId              varchar(150) NOT NULL,
    PayloadBinary          bytea        NULL,
    ModifiedOn             timestamptz  NOT NULL DEFAULT now(),
    Version                integer      NULL
);

-- Lookup index: leads with the two hash columns every query filters on. It is also
-- unique over the full grain key, so two activations racing to create the first
-- row cannot both succeed (the loser gets an etag conflict instead of a duplicate).
-- NULLS NOT DISTINCT: a NULL key extension is a real value here.
CREATE UNIQUE INDEX IF NOT EXISTS IX_OrleansStorage_GrainKey
    ON OrleansStorage (GrainIdHash, GrainTypeHash, GrainIdN0, GrainIdN1,
                       ServiceId, GrainTypeString, GrainIdExtensionString)
    NULLS NOT DISTINCT;

-- Write grain state. p_version is the etag the grain holds (NULL = first write).
-- Returns the new version, or NULL if the etag did not match (the provider turns
-- NULL into an InconsistentStateException).
CREATE OR REPLACE FUNCTION orleans_storage_write(
    p_grain_id_hash   integer,
    p_grain_id_n0     bigint,
    p_grain_id_n1     bigint,
    p_grain_type_hash integer,
    p_grain_type      text,
    p_key_extension   text,
    p_service_id      text,
    p_version         integer,
    p_payload         bytea)
RETURNS integer
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_new integer;
BEGIN
    IF p_version IS NULL THEN
        INSERT INTO OrleansStorage
            (GrainIdHash, GrainIdN0, GrainIdN1, GrainTypeHash, GrainTypeString,
             GrainIdExtensionString, ServiceId, PayloadBinary, ModifiedOn, Version)
        VALUES
            (p_grain_id_hash, p_grain_id_n0, p_grain_id_n1, p_grain_type_hash, p_grain_type,
             p_key_extension, p_service_id, p_payload, now(), 1)
        ON CONFLICT DO NOTHING  -- a row exists already: the caller's etag is stale
        RETURNING Version INTO v_new;
    ELSE
        UPDATE OrleansStorage
           SET PayloadBinary = p_payload,
               ModifiedOn = now(),
               Version = Version + 1
         WHERE GrainIdHash = p_grain_id_hash
           AND GrainTypeHash = p_grain_type_hash
           AND GrainIdN0 = p_grain_id_n0
           AND GrainIdN1 = p_grain_id_n1
           AND ServiceId = p_service_id
           AND GrainTypeString = p_grain_type
           AND GrainIdExtensionString IS NOT DISTINCT FROM p_key_extension
           AND Version = p_version
        RETURNING Version INTO v_new;
    END IF;
    RETURN v_new;  -- NULL when nothing was written
END
$fn$;

-------------------------------------------------------------------------------
-- Query rows read by the providers
-------------------------------------------------------------------------------
-- Dollar-quoted texts so the SQL inside needs no quote doubling.
-- Bool-returning queries must yield exactly one row with one column.

INSERT INTO OrleansQuery (QueryKey, QueryText)
VALUES
-- Clustering ------------------------------------------------------------------
(
    'InsertMembershipVersionKey',
    -- true if this call created the cluster's version row
    $q$WITH created AS (
    INSERT INTO OrleansMembershipVersionTable (DeploymentId)
    VALUES (@DeploymentId)
    ON CONFLICT (DeploymentId) DO NOTHING
    RETURNING 1
)
SELECT count(*) > 0 AS Created FROM created;$q$
),
(
    'InsertMembershipKey',
    $q$SELECT orleans_membership_insert(@DeploymentId, @Address, @Port, @Generation, @SiloName, @HostName, @Status, @ProxyPort, @StartTime, @IAmAliveTime, @Version) AS Inserted;$q$
),
(
    'UpdateMembershipKey',
    $q$SELECT orleans_membership_update(@DeploymentId, @Address, @Port, @Generation, @Status, @SuspectTimes, @IAmAliveTime, @Version) AS Updated;$q$
),
(
    'UpdateIAmAlivetimeKey',
    -- Heartbeat only; does not touch the table version. Never moves backwards.
    $q$UPDATE OrleansMembershipTable
   SET IAmAliveTime = GREATEST(IAmAliveTime, @IAmAliveTime)
 WHERE DeploymentId = @DeploymentId
   AND Address = @Address
   AND Port = @Port
   AND Generation = @Generation;$q$
),
(
    'MembershipReadRowKey',
    -- Driven from the version table so one row (carrying Version) comes back even
    -- when the silo has no row yet; the provider reads Version from the first row.
    $q$SELECT v.DeploymentId, m.Address, m.Port, m.Generation, m.SiloName, m.HostName,
       m.Status, m.ProxyPort, m.SuspectTimes, m.StartTime, m.IAmAliveTime, v.Version
  FROM OrleansMembershipVersionTable v
  LEFT JOIN OrleansMembershipTable m
         ON m.DeploymentId = v.DeploymentId
        AND m.Address = @Address
        AND m.Port = @Port
        AND m.Generation = @Generation
 WHERE v.DeploymentId = @DeploymentId;$q$
),
(
    'MembershipReadAllKey',
    $q$SELECT v.DeploymentId, m.Address, m.Port, m.Generation, m.SiloName, m.HostName,
       m.Status, m.ProxyPort, m.SuspectTimes, m.StartTime, m.IAmAliveTime, v.Version
  FROM OrleansMembershipVersionTable v
  LEFT JOIN OrleansMembershipTable m
         ON m.DeploymentId = v.DeploymentId
 WHERE v.DeploymentId = @DeploymentId;$q$
),
(
    'GatewaysQueryKey',
    -- Used by clients; @Status is always Active (3).
    $q$SELECT Address, ProxyPort, Generation
  FROM OrleansMembershipTable
 WHERE DeploymentId = @DeploymentId
   AND Status = @Status
   AND ProxyPort > 0;$q$
),
(
    'DeleteMembershipTableEntriesKey',
    $q$DELETE FROM OrleansMembershipTable WHERE DeploymentId = @DeploymentId;
DELETE FROM OrleansMembershipVersionTable WHERE DeploymentId = @DeploymentId;$q$
),
(
    'CleanupDefunctSiloEntriesKey',
    -- Required key, but 10.4 only runs it when CleanupDefunctSiloEntryKey is absent.
    -- Bulk variant: Dead rows that neither started nor heartbeated since the cutoff.
    $q$DELETE FROM OrleansMembershipTable
 WHERE DeploymentId = @DeploymentId
   AND Status = 6
   AND IAmAliveTime < @IAmAliveTime
   AND StartTime < @IAmAliveTime;$q$
),
(
    'CleanupDefunctSiloEntryKey',
    -- Optional key (10.4+): the provider picks expired Dead rows itself and deletes
    -- each one only if it still has exactly the values it saw (compare-and-delete).
    $q$DELETE FROM OrleansMembershipTable
 WHERE DeploymentId = @DeploymentId
   AND Address = @Address
   AND Port = @Port
   AND Generation = @Generation
   AND Status = 6
   AND StartTime = @StartTime
   AND IAmAliveTime = @IAmAliveTime
   AND COALESCE(SuspectTimes, '') = COALESCE(@SuspectTimes, '');$q$
),
-- Persistence -----------------------------------------------------------------
(
    'ReadFromStorageKey',
    -- No row => grain state never written. PayloadBinary NULL => cleared state.
    $q$SELECT PayloadBinary, Version
  FROM OrleansStorage
 WHERE GrainIdHash = @GrainIdHash
   AND GrainTypeHash = @GrainTypeHash
   AND GrainIdN0 = @GrainIdN0
   AND GrainIdN1 = @GrainIdN1
   AND ServiceId = @ServiceId
   AND GrainTypeString = @GrainTypeString
   AND GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString;$q$
),
(
    'WriteToStorageKey',
    $q$SELECT orleans_storage_write(@GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash, @GrainTypeString, @GrainIdExtensionString, @ServiceId, @GrainStateVersion, @PayloadBinary) AS NewGrainStateVersion;$q$
),
(
    'ClearStorageKey',
    -- Keeps the row (and bumps its version) so the etag sequence continues.
    -- No row returned => etag mismatch => InconsistentStateException.
    $q$UPDATE OrleansStorage
   SET PayloadBinary = NULL,
       ModifiedOn = now(),
       Version = Version + 1
 WHERE GrainIdHash = @GrainIdHash
   AND GrainTypeHash = @GrainTypeHash
   AND GrainIdN0 = @GrainIdN0
   AND GrainIdN1 = @GrainIdN1
   AND ServiceId = @ServiceId
   AND GrainTypeString = @GrainTypeString
   AND GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString
   AND Version = @GrainStateVersion
RETURNING Version AS NewGrainStateVersion;$q$
),
(
    'DeleteStorageKey',
    -- Optional key, used only with AdoNetGrainStorageOptions.DeleteStateOnClear = true.
    -- Must return a value different from the old etag, hence Version + 1.
    $q$DELETE FROM OrleansStorage
 WHERE GrainIdHash = @GrainIdHash
   AND GrainTypeHash = @GrainTypeHash
   AND GrainIdN0 = @GrainIdN0
   AND GrainIdN1 = @GrainIdN1
   AND ServiceId = @ServiceId
   AND GrainTypeString = @GrainTypeString
   AND GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString
   AND Version = @GrainStateVersion
RETURNING Version + 1 AS NewGrainStateVersion;$q$
)
ON CONFLICT (QueryKey) DO UPDATE
    SET QueryText = EXCLUDED.QueryText;

COMMIT;

-- The source of each sample, and hourly rollups that outlive raw samples.
-- Times are ns since the Unix epoch, UTC; energy integer uJ; CPU time us.

-- source of a sample: 'collector' (this node's carbonledger-collector,
-- RAPL or the power model as method records), 'kepler' (pod energy taken
-- from a Kepler exporter by the collector) or 'prometheus' (increases of
-- a collector's counters imported from a Prometheus server). Merged
-- samples keep the source of the database they came from.
ALTER TABLE sample ADD COLUMN source TEXT NOT NULL DEFAULT 'collector'
    CHECK (source IN ('collector', 'kepler', 'prometheus'));

-- One row per node and clock hour (UTC start), summed over the samples
-- that overlap the hour, split pro rata by time like the daily report.
-- system is energy - idle - pods. peak_w is the highest interval power.
CREATE TABLE rollup_node_hour (
    node_id          INTEGER NOT NULL REFERENCES node (node_id),
    hour_start_ns    INTEGER NOT NULL,
    energy_uj        INTEGER NOT NULL,
    idle_uj          INTEGER NOT NULL,
    pods_uj          INTEGER NOT NULL,
    measured_uj      INTEGER NOT NULL,
    estimated_uj     INTEGER NOT NULL,
    sampled_ns       INTEGER NOT NULL,
    gap_ns           INTEGER NOT NULL,
    intervals        INTEGER NOT NULL,
    gaps             INTEGER NOT NULL,
    scaled_intervals INTEGER NOT NULL,
    measured_n       INTEGER NOT NULL,
    estimated_n      INTEGER NOT NULL,
    peak_w           REAL NOT NULL,
    model_idle_w     REAL,
    model_max_w      REAL,
    PRIMARY KEY (node_id, hour_start_ns)
) WITHOUT ROWID;

-- One row per pod and clock hour in which it appeared. first_ns and
-- last_ns bound its appearance within the hour; run_ns is the time of the
-- intervals with energy it appeared in.
CREATE TABLE rollup_pod_hour (
    pod_id        INTEGER NOT NULL REFERENCES pod (pod_id),
    hour_start_ns INTEGER NOT NULL,
    energy_uj     INTEGER NOT NULL,
    cpu_us        INTEGER NOT NULL,
    run_ns        INTEGER NOT NULL,
    first_ns      INTEGER NOT NULL,
    last_ns       INTEGER NOT NULL,
    peak_w        REAL NOT NULL,
    measured_n    INTEGER NOT NULL,
    estimated_n   INTEGER NOT NULL,
    PRIMARY KEY (pod_id, hour_start_ns)
) WITHOUT ROWID;

-- KST days whose rollup rows are written. max_sample_id is the highest
-- sample_id that existed when the day was rolled up: retention deletes
-- only samples at or below it, so a sample merged or imported later is
-- kept until the day is rolled up again. raw_deleted = 1 once retention
-- deleted samples of the day: its rollup is then only added to, by the
-- samples above max_sample_id, never computed again from what is left.
CREATE TABLE rollup_day (
    day_start_ns  INTEGER PRIMARY KEY,
    max_sample_id INTEGER NOT NULL,
    rolled_ns     INTEGER NOT NULL,
    raw_deleted   INTEGER NOT NULL DEFAULT 0 CHECK (raw_deleted IN (0, 1))
);

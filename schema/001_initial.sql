-- Samples written by the collector, facility meter readings and the
-- ledger of signed reports. Times are ns since the Unix epoch, UTC.
-- Energy is integer microjoules (uJ), CPU time integer microseconds (us).

CREATE TABLE node (
    node_id INTEGER PRIMARY KEY,
    name    TEXT NOT NULL UNIQUE
);

-- A RAPL zone of a node. counted = 1 when its energy is part of the node's
-- energy: psys when present, otherwise package and dram; core and uncore
-- lie inside package and are stored for inspection only.
CREATE TABLE zone (
    zone_id             INTEGER PRIMARY KEY,
    node_id             INTEGER NOT NULL REFERENCES node (node_id),
    path                TEXT NOT NULL,
    name                TEXT NOT NULL,
    max_energy_range_uj INTEGER NOT NULL,
    counted             INTEGER NOT NULL CHECK (counted IN (0, 1)),
    UNIQUE (node_id, path, name)
);

-- One reading of a node. status 'baseline' is a first reading with no
-- interval before it; 'ok' closes the interval [start_ns, end_ns) with
-- known energy; 'gap' closes an interval whose energy is unknown (reason
-- in gap_reason). method says where the energy came from: 'measured'
-- (RAPL) or 'estimated' (the power model).
CREATE TABLE sample (
    sample_id        INTEGER PRIMARY KEY,
    node_id          INTEGER NOT NULL REFERENCES node (node_id),
    boot_id          TEXT NOT NULL,
    start_ns         INTEGER,
    end_ns           INTEGER NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('baseline', 'ok', 'gap')),
    method           TEXT NOT NULL CHECK (method IN ('measured', 'estimated')),
    gap_reason       TEXT,
    -- Cumulative /proc/stat counters in clock ticks, so deltas can be
    -- recomputed: total of all eight states, and idle + iowait.
    cpu_total_ticks  INTEGER NOT NULL,
    cpu_idle_ticks   INTEGER NOT NULL,
    clock_ticks_hz   INTEGER NOT NULL,
    -- Interval values; NULL for a baseline.
    cpu_total_us     INTEGER,
    cpu_idle_us      INTEGER,
    pods_cpu_us      INTEGER,
    energy_uj        INTEGER,
    idle_uj          INTEGER,
    system_uj        INTEGER,
    pods_uj          INTEGER,
    -- 1 when the pods' CPU time exceeded the node's busy time and the pods
    -- were scaled down to it (system energy is then 0).
    pods_scaled      INTEGER NOT NULL DEFAULT 0,
    -- Power model parameters in W for estimated samples.
    model_idle_w     REAL,
    model_max_w      REAL
);
CREATE INDEX sample_node_end ON sample (node_id, end_ns);
CREATE INDEX sample_end ON sample (end_ns);

-- Raw counter of each zone at each reading, and the wrap-corrected delta
-- of the interval it closes (NULL for a baseline or an unknown delta).
CREATE TABLE zone_sample (
    sample_id INTEGER NOT NULL REFERENCES sample (sample_id),
    zone_id   INTEGER NOT NULL REFERENCES zone (zone_id),
    energy_uj INTEGER NOT NULL,
    delta_uj  INTEGER,
    PRIMARY KEY (sample_id, zone_id)
) WITHOUT ROWID;

CREATE TABLE pod (
    pod_id    INTEGER PRIMARY KEY,
    node_id   INTEGER NOT NULL REFERENCES node (node_id),
    uid       TEXT NOT NULL,
    namespace TEXT,
    name      TEXT,
    UNIQUE (node_id, uid)
);

-- One row per pod and reading: the cumulative CPU usage of the pod-level
-- cgroup, the CPU time of the interval and the energy attributed to it
-- (summed over zones). 200 pods at 5 s make 3.5 million rows a day, so
-- the row is four integers keyed by (sample_id, pod_id).
CREATE TABLE pod_sample (
    sample_id    INTEGER NOT NULL,
    pod_id       INTEGER NOT NULL,
    cpu_usage_us INTEGER NOT NULL,
    cpu_us       INTEGER,
    energy_uj    INTEGER,
    PRIMARY KEY (sample_id, pod_id)
) WITHOUT ROWID;

-- Facility meter data: energy within [start_ns, end_ns), in kWh. it_kwh is
-- metered at the UPS or PDU output.
CREATE TABLE meter (
    meter_id     INTEGER PRIMARY KEY,
    start_ns     INTEGER NOT NULL,
    end_ns       INTEGER NOT NULL,
    facility_kwh REAL NOT NULL,
    it_kwh       REAL NOT NULL,
    source       TEXT NOT NULL,
    imported_ns  INTEGER NOT NULL,
    UNIQUE (start_ns, end_ns)
);

-- Each signed report, chained: entry_sha256 is the SHA-256 of the previous
-- entry's hash and this entry's fields, so a removed or edited entry shows.
CREATE TABLE report_ledger (
    entry_id      INTEGER PRIMARY KEY,
    created_ns    INTEGER NOT NULL,
    period_start  INTEGER NOT NULL,
    period_end    INTEGER NOT NULL,
    file_name     TEXT NOT NULL,
    file_sha256   TEXT NOT NULL,
    prev_sha256   TEXT NOT NULL,
    entry_sha256  TEXT NOT NULL
);

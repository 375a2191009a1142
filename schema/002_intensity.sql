-- Hourly grid carbon intensity from its sources, the log of every HTTP
-- call made to fetch it, and the quota blocks the sources imposed. Times
-- are ns since the Unix epoch, UTC; intensity is gCO2eq/kWh.

-- One hour of one zone from one source. hour_ns is the UTC start of the
-- hour. g_per_kwh is NULL exactly when quality is 'missing' (the source
-- answered but had no usable value; 0 is stored as missing too).
-- basis: 'generation' (average of a generation mix), 'consumption'
-- (includes grid losses, such as the official GIR factor) or 'marginal'
-- (WattTime MOER); values of different bases are never added together.
-- quality: 'measured' (computed from values the source reported),
-- 'estimated' (the source marks the value as its estimate or forecast),
-- 'declared' (a published or configured factor, not a value of that
-- hour), 'fallback' (filled from another source) or 'missing'.
-- factor_set names the emission factors behind the value: 'lifecycle' or
-- 'direct' for KPX and Electricity Maps, the notice for GIR, the signal
-- for WattTime. response_sha256 is the SHA-256 (hex) of the raw response
-- body or file the value came from. forecast = 1 marks a forecast value,
-- which a later fetch replaces once the hour has passed.
CREATE TABLE intensity_hour (
    zone            TEXT NOT NULL,
    hour_ns         INTEGER NOT NULL,
    source          TEXT NOT NULL,
    g_per_kwh       REAL CHECK (g_per_kwh IS NULL OR g_per_kwh > 0),
    basis           TEXT NOT NULL
                    CHECK (basis IN ('generation', 'consumption', 'marginal')),
    factor_set      TEXT NOT NULL,
    quality         TEXT NOT NULL
                    CHECK (quality IN ('measured', 'estimated', 'declared',
                                       'fallback', 'missing')),
    fetched_ns      INTEGER NOT NULL,
    response_sha256 TEXT NOT NULL,
    detail          TEXT NOT NULL DEFAULT '',
    forecast        INTEGER NOT NULL DEFAULT 0 CHECK (forecast IN (0, 1)),
    PRIMARY KEY (zone, hour_ns, source),
    CHECK ((g_per_kwh IS NULL) = (quality = 'missing'))
) WITHOUT ROWID;
CREATE INDEX intensity_hour_source ON intensity_hour (source, zone, hour_ns);

-- One HTTP request (each retry is its own row). url has every key, token
-- and password replaced by REDACTED. http_status is NULL when no response
-- arrived (connection failure, timeout). result_code is the source's own
-- code (KPX resultCode or returnReasonCode), NULL when it has none.
-- bytes is the size of the response body received, latency_ms the time
-- from the request to the end of the response or the failure.
-- outcome: 'ok', 'no_data' (the source has no rows), 'transient' (worth a
-- retry), 'permanent' (a retry cannot help), 'quota' (daily quota
-- exhausted) or 'invalid' (the body could not be parsed).
CREATE TABLE api_call (
    call_id     INTEGER PRIMARY KEY,
    called_ns   INTEGER NOT NULL,
    source      TEXT NOT NULL,
    url         TEXT NOT NULL,
    http_status INTEGER,
    result_code TEXT,
    bytes       INTEGER NOT NULL,
    latency_ms  INTEGER NOT NULL,
    attempt     INTEGER NOT NULL,
    outcome     TEXT NOT NULL
                CHECK (outcome IN ('ok', 'no_data', 'transient', 'permanent',
                                   'quota', 'invalid')),
    message     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX api_call_source_time ON api_call (source, called_ns);

-- A source that refused further calls until blocked_until_ns: KPX result
-- code 22 (daily quota exceeded) blocks until the next midnight KST.
CREATE TABLE api_quota (
    source           TEXT PRIMARY KEY,
    blocked_until_ns INTEGER NOT NULL,
    result_code      TEXT NOT NULL,
    recorded_ns      INTEGER NOT NULL,
    message          TEXT NOT NULL DEFAULT ''
);

/*
 * Hourly grid carbon intensity: fetching it from its sources into the
 * database, and reading it back for reports.
 *
 * Hours are keyed by zone, UTC hour start and source. Generation-side
 * hourly values (KPX, Electricity Maps), the consumption-side official
 * factor (GIR) and marginal rates (WattTime) are different quantities, so
 * every stored hour carries its basis, and no caller may add values of
 * different bases together.
 */
#ifndef CL_INTENSITY_H
#define CL_INTENSITY_H

#include "err.h"

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

enum cl_intensity_basis {
        CL_BASIS_GENERATION,  /* average of the generation mix */
        CL_BASIS_CONSUMPTION, /* includes grid losses (official factors) */
        CL_BASIS_MARGINAL,    /* marginal operating rate (WattTime MOER) */
};

enum cl_intensity_quality {
        CL_QUALITY_MEASURED,  /* computed from reported values */
        CL_QUALITY_ESTIMATED, /* the source marks it as its estimate */
        CL_QUALITY_FALLBACK,  /* filled from another source */
        CL_QUALITY_MISSING,   /* the source had no usable value */
        /* A published or configured factor, not a value of that hour: the
         * GIR official factor and, by default, static files. */
        CL_QUALITY_DECLARED,
};

/*
 * The largest intensity stored, gCO2eq/kWh. No grid's average exceeds
 * about 1000, because coal is about 820 to 1000 over its life cycle. A
 * coal unit on the margin emits about 1000 too (a WattTime MOER of about
 * 2200 lb/MWh), so the bound leaves room for the dirtiest hours of every
 * basis. A file source rejects larger values; an API source stores the
 * hour as missing.
 */
#define CL_INTENSITY_MAX_G_PER_KWH 2000.0

/* One stored hour. */
struct cl_intensity_hour {
        int64_t hour_ns;  /* UTC start of the hour */
        int has_value;    /* 0 when missing */
        double g_per_kwh; /* gCO2eq/kWh */
        enum cl_intensity_basis basis;
        enum cl_intensity_quality quality;
        char source[24];     /* "kpx", "electricitymaps", ... */
        char factor_set[48]; /* "lifecycle", "direct", notice, ... */
        int64_t fetched_ns;
        char response_sha256[65]; /* of the raw response or file */
        int forecast;             /* 1 for a forecast value */
        char detail[128];         /* how the value was made, or why missing */
};

/* Fetch settings. A NULL URL takes the source's default. */
struct cl_intensity_config {
        const char *template_dir; /* kpx-fuels.json, emission-factors.json */
        const char *kpx_url;      /* portal gateway base URL */
        const char *kpx_legacy_url;
        const char *electricitymaps_url;
        const char *watttime_url;
        const char *static_path; /* CSV or JSON for source "static" */
        const char *factor_set;  /* KPX: "lifecycle" (default), "direct" */
        const char *ca_bundle;   /* NULL: the system's CA store */
        int insecure;            /* disable TLS verification (logged) */
        long connect_timeout_ms; /* 0: default */
        long total_timeout_ms;   /* 0: default */
        int max_attempts;        /* 0: default */
        const char *key_file;    /* NULL: keys from the environment */
        long backoff_base_ms;    /* first retry delay; 0: 1000 ms */
        int max_calls_per_day;   /* per source and KST day; 0: 80 */
        int64_t now_ns;          /* the current time; 0 reads the clock */
};

/* Outcome of one fetch, for the caller's log line and report. */
struct cl_fetch_summary {
        int hours_requested;
        int hours_already_stored;
        int hours_stored;  /* new hours with a value */
        int hours_missing; /* new hours stored as missing */
        int calls;         /* HTTP requests made */
        int quota_blocked; /* 1 when a quota stopped the fetch */
        char message[256]; /* last problem, "" when none */
};

/* Returns "generation", "consumption" or "marginal". */
const char *cl_intensity_basis_name(enum cl_intensity_basis basis);

/*
 * Returns "measured", "estimated", "fallback", "missing" or "declared".
 */
const char *cl_intensity_quality_name(enum cl_intensity_quality quality);

/*
 * Fetches the hours [from_ns, to_ns) of zone from source ("kpx", "gir",
 * "electricitymaps", "watttime", "static") into db, skipping hours already
 * stored from that source, and records every HTTP call in api_call. A
 * source failure that leaves hours without data stores nothing for them
 * (so a later run fetches them again) and returns CL_ENET with a message;
 * hours the source reported as empty are stored as missing. Fails with
 * CL_EINVAL for an unknown source or zone.
 */
cl_err cl_intensity_fetch(sqlite3 *db, const struct cl_intensity_config *cfg,
                          const char *source, const char *zone, int64_t from_ns,
                          int64_t to_ns,
                          struct cl_fetch_summary *summary) CL_MUST_CHECK;

/*
 * Reads the stored hours of source and zone from from_ns for n_hours
 * hours into hours[0..n_hours): hours[i].hour_ns = from_ns + i hours, and
 * has_value 0 where nothing usable is stored (quality CL_QUALITY_MISSING,
 * with an empty factor_set and detail "not stored" when no row exists).
 * from_ns must be the start of a UTC hour (CL_EINVAL otherwise).
 */
cl_err cl_intensity_load(sqlite3 *db, const char *source, const char *zone,
                         int64_t from_ns, size_t n_hours,
                         struct cl_intensity_hour *hours) CL_MUST_CHECK;

/* Returns the UTC start (ns) of the hour that contains t_ns. */
int64_t cl_intensity_hour_start(int64_t t_ns);

/* Returns the first midnight KST (as UTC ns) strictly after now_ns. */
int64_t cl_next_kst_midnight_ns(int64_t now_ns);

/*
 * Missing hours (a source answered with no data) are fetched again only
 * when stored at least this long ago, so a source that publishes late is
 * asked again by a later run without spending a call on every run.
 */
#define CL_MISSING_RETRY_NS (INT64_C(6) * 3600 * INT64_C(1000000000))

/*
 * Self-imposed limit of HTTP requests per source and KST day, well inside
 * the about 100 calls a day of a KPX development key.
 */
#define CL_DEFAULT_MAX_CALLS_PER_DAY 80

#endif

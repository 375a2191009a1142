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
};

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
        char response_sha256[65]; /* of the raw response, "" for files */
};

/* Where and how to fetch. Any NULL URL takes the source's default. */
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
};

/* What one fetch did, for the caller's log line and report. */
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

/* Returns "measured", "estimated", "fallback" or "missing". */
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
 * has_value 0 where nothing usable is stored.
 */
cl_err cl_intensity_load(sqlite3 *db, const char *source, const char *zone,
                         int64_t from_ns, size_t n_hours,
                         struct cl_intensity_hour *hours) CL_MUST_CHECK;

#endif

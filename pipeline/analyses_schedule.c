/*
 * calculate_optimal_schedule: the start hour between the earliest start
 * and the deadline whose window of the job's duration has the lowest mean
 * grid intensity. Over stored hours a window must lie inside the data; a
 * 24-hour typical day repeats across midnight. Ties go to the earliest
 * start, and the saving is against starting at the earliest start.
 */
#include "analyses_internal.h"

#include "timeutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Without a deadline, stored hours are read this far ahead. */
#define DEFAULT_HORIZON_HOURS 48
/* Candidate windows listed in a result. */
#define MAX_LISTED 168

struct job {
        int64_t duration_h;
        const char *zone;
        int64_t earliest_ns; /* on an hour boundary */
        int has_deadline;
        int64_t deadline_ns;
};

static cl_err
read_job(const struct cl_analysis_env *env, json_object *args, struct job *j)
{
        const char *earliest = cl_an_str(args, "earliest_start", NULL);
        const char *deadline = cl_an_str(args, "deadline", NULL);
        int64_t t;
        cl_err rc;

        memset(j, 0, sizeof(*j));
        j->zone = cl_an_str(args, "zone", "KR");
        if (!cl_an_int(args, "duration_hours", &j->duration_h))
                return cl_fail(CL_EINVAL, "%s is required",
                               CL_AN_ARG(env, "duration_hours"));
        if (j->duration_h < 1)
                return cl_fail(CL_EINVAL, "%s must be at least 1, got %lld",
                               CL_AN_ARG(env, "duration_hours"),
                               (long long)j->duration_h);
        t = env->now_ns;
        if (earliest != NULL) {
                rc = cl_parse_iso8601(earliest, &t);
                if (rc != CL_OK)
                        return rc;
        }
        /* Round up to the next full hour: intensity data is hourly. */
        j->earliest_ns =
            (t + CL_NS_PER_HOUR - 1) / CL_NS_PER_HOUR * CL_NS_PER_HOUR;
        if (deadline != NULL) {
                rc = cl_parse_iso8601(deadline, &j->deadline_ns);
                if (rc != CL_OK)
                        return rc;
                j->has_deadline = 1;
                if (j->deadline_ns <= j->earliest_ns)
                        return cl_fail(CL_EINVAL,
                                       "%s %s is not after the earliest "
                                       "start",
                                       CL_AN_ARG(env, "deadline"), deadline);
                if ((j->deadline_ns - j->earliest_ns) / CL_NS_PER_HOUR <
                    j->duration_h)
                        return cl_fail(
                            CL_EINVAL,
                            "a %lld-hour job cannot end by %s "
                            "when it starts at the earliest "
                            "start: the window is %lld hours",
                            (long long)j->duration_h, deadline,
                            (long long)((j->deadline_ns - j->earliest_ns) /
                                        CL_NS_PER_HOUR));
        }
        return CL_OK;
}

/* Returns the longest run of consecutive hours with a value. */
static size_t
longest_run(const struct cl_an_hourly *h)
{
        size_t best = 0, run = 0;

        for (size_t i = 0; i < h->n; i++) {
                run = h->has[i] ? run + 1 : 0;
                if (run > best)
                        best = run;
        }
        return best;
}

/*
 * Sets the index of the first start and the number of starts. Fails when
 * the duration is longer than the data.
 */
static cl_err
plan_starts(const struct job *j, const struct cl_an_hourly *h, size_t *first,
            size_t *n_starts)
{
        size_t duration = (size_t)j->duration_h, hours;

        if (h->cyclic) {
                if (duration > h->n)
                        return cl_fail(CL_EINVAL,
                                       "duration of %zu hours is longer "
                                       "than the %zu-hour profile",
                                       duration, h->n);
                *first = (size_t)cl_an_kst_hour(j->earliest_ns);
                hours = j->has_deadline
                            ? (size_t)((j->deadline_ns - j->earliest_ns) /
                                       CL_NS_PER_HOUR)
                            : h->n + duration - 1;
                *n_starts = hours - duration + 1;
                return CL_OK;
        }
        if (longest_run(h) < duration)
                return cl_fail(CL_EINVAL,
                               "duration of %zu hours is longer than the "
                               "stored data: at most %zu consecutive hours "
                               "have a value in the range",
                               duration, longest_run(h));
        *first = 0;
        *n_starts = h->n - duration + 1;
        return CL_OK;
}

static json_object *
window_json(const struct job *j, size_t offset, double mean)
{
        json_object *o = json_object_new_object();
        int64_t start = j->earliest_ns + (int64_t)offset * CL_NS_PER_HOUR;
        int64_t end = start + j->duration_h * CL_NS_PER_HOUR;
        char kst[32];

        cl_an_put_time(o, "start", start);
        cl_an_put_str(o, "start_kst", cl_format_kst(start, kst, sizeof(kst)));
        cl_an_put_time(o, "end", end);
        cl_an_put_str(o, "end_kst", cl_format_kst(end, kst, sizeof(kst)));
        cl_an_put_num(o, "mean_intensity_g_per_kwh", mean);
        return o;
}

static json_object *
candidates_json(const struct job *j, const struct cl_an_hourly *h, size_t first,
                size_t n_starts)
{
        json_object *list = json_object_new_array();

        for (size_t k = 0; k < n_starts && k < MAX_LISTED; k++) {
                struct cl_window w, unused;

                if (cl_best_window(h->values, h->has, h->n, h->cyclic,
                                   first + k, 1, (size_t)j->duration_h, &w,
                                   &unused) != CL_OK)
                        continue;
                json_object_array_add(list, window_json(j, k, w.mean));
        }
        cl_clear_error();
        return list;
}

static json_object *
job_json(const struct job *j, const struct cl_an_hourly *h)
{
        json_object *o = json_object_new_object();
        json_object *data = json_object_new_object();

        cl_an_put_int(o, "duration_hours", j->duration_h);
        cl_an_put_str(o, "zone", j->zone);
        cl_an_put_time(o, "earliest_start", j->earliest_ns);
        if (j->has_deadline)
                cl_an_put_time(o, "deadline", j->deadline_ns);
        else
                cl_an_put_null(o, "deadline");
        cl_an_put_str(data, "source", h->source);
        cl_an_put_str(data, "method", h->method);
        cl_an_put_str(data, "shape",
                      h->cyclic ? "24-hour typical day repeating across "
                                  "midnight"
                                : "stored hours; windows stay inside them");
        json_object_object_add(o, "intensity_data", data);
        return o;
}

cl_err
cl_an_schedule(const struct cl_analysis_env *env, json_object *args,
               json_object **out)
{
        struct cl_window best, now;
        struct cl_an_hourly h = {0};
        struct cl_an_period p;
        size_t first = 0, n_starts = 0;
        struct job j;
        json_object *r;
        int64_t to_ns;
        cl_err rc;

        rc = read_job(env, args, &j);
        if (rc != CL_OK)
                return rc;
        to_ns = j.has_deadline
                    ? j.deadline_ns
                    : j.earliest_ns + DEFAULT_HORIZON_HOURS * CL_NS_PER_HOUR;
        rc = cl_an_hourly_load(env, args, j.zone, j.earliest_ns, to_ns, &h);
        if (rc == CL_OK)
                rc = plan_starts(&j, &h, &first, &n_starts);
        if (rc == CL_OK)
                rc =
                    cl_best_window(h.values, h.has, h.n, h.cyclic, first,
                                   n_starts, (size_t)j.duration_h, &best, &now);
        if (rc != CL_OK)
                goto out;
        p.start_ns = j.earliest_ns;
        p.end_ns =
            j.earliest_ns +
            (int64_t)(n_starts - 1 + (size_t)j.duration_h) * CL_NS_PER_HOUR;
        r = cl_an_result_new("calculate_optimal_schedule", env, args, &p);
        json_object_object_add(r, "job", job_json(&j, &h));
        json_object_object_add(r, "best",
                               window_json(&j, best.start - first, best.mean));
        if (isnan(now.mean)) {
                cl_an_put_null(r, "start_now");
                cl_an_put_null(r, "saving_g_per_kwh");
                cl_an_put_null(r, "saving_percent");
                cl_an_put_str(r, "saving_note",
                              "the window at the earliest start has hours "
                              "without data, so no saving is computed");
        } else {
                json_object_object_add(r, "start_now",
                                       window_json(&j, 0, now.mean));
                cl_an_put_num(r, "saving_g_per_kwh", now.mean - best.mean);
                if (now.mean > 0)
                        cl_an_put_num(r, "saving_percent",
                                      100.0 * (now.mean - best.mean) /
                                          now.mean);
                else
                        cl_an_put_null(r, "saving_percent");
        }
        cl_an_put_str(r, "rule",
                      "lowest mean intensity over the whole duration; ties "
                      "go to the earliest start");
        cl_an_put_str(r, "method",
                      "estimated: a mean of the hourly intensity data named "
                      "in job.intensity_data");
        json_object_object_add(r, "candidates",
                               candidates_json(&j, &h, first, n_starts));
        *out = r;
out:
        cl_an_hourly_free(&h);
        return rc;
}

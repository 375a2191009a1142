/*
 * One pass over the period's samples joined with their pod rows, ordered by
 * sample, so memory grows with the number of pods and nodes, not with the
 * number of samples.
 */
#include "aggregate.h"

#include "db.h"
#include "rollup.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Running sums of one pod; index = pod_id. */
struct pod_acc {
        int present;
        int64_t node_id;
        int64_t energy_uj;
        int64_t cpu_us;
        int64_t run_ns;
        int64_t first_ns, last_ns;
        double peak_w;
        int measured, estimated;
        int64_t *hour_uj; /* n_hours entries once present */
};

struct node_acc {
        int64_t node_id;
        struct cl_node_report *report;
        int measured, estimated;
};

/* Fields of the sample a row belongs to. */
struct sample_part {
        int64_t sample_id;
        size_t node; /* index into the node accumulators */
        int64_t start_ns, end_ns;
        int64_t lo, hi; /* overlap with the period */
        int ok;
        int measured;
};

int64_t
cl_pro_rata(int64_t value, int64_t part_ns, int64_t whole_ns)
{
        if (part_ns >= whole_ns)
                return value;
        return (int64_t)((__int128)value * part_ns / whole_ns);
}

static cl_err
load_nodes(sqlite3 *db, struct cl_report_model *m, struct node_acc **accs)
{
        sqlite3_stmt *st = NULL;
        size_t cap = 0;
        cl_err rc;

        rc = cl_db_prepare(db,
                           "SELECT n.node_id, n.name FROM node n WHERE "
                           "EXISTS (SELECT 1 FROM sample s WHERE s.node_id "
                           "= n.node_id AND s.end_ns > ?1 AND "
                           "(s.start_ns < ?2 OR (s.start_ns IS NULL AND "
                           "s.end_ns < ?2))) ORDER BY n.name",
                           &st);
        if (rc != CL_OK)
                return rc;
        sqlite3_bind_int64(st, 1, m->period_start_ns);
        sqlite3_bind_int64(st, 2, m->period_end_ns);
        while (sqlite3_step(st) == SQLITE_ROW) {
                if (m->n_nodes == cap) {
                        size_t ncap = cap ? cap * 2 : 4;
                        void *a = realloc(m->nodes, ncap * sizeof(*m->nodes));
                        void *b;

                        if (a == NULL) {
                                rc = cl_fail(CL_ENOMEM, "nodes");
                                break;
                        }
                        m->nodes = a;
                        b = realloc(*accs, ncap * sizeof(**accs));
                        if (b == NULL) {
                                rc = cl_fail(CL_ENOMEM, "nodes");
                                break;
                        }
                        *accs = b;
                        cap = ncap;
                }
                memset(&m->nodes[m->n_nodes], 0, sizeof(m->nodes[0]));
                m->nodes[m->n_nodes].hour_uj =
                    calloc(m->n_hours + 1, sizeof(int64_t));
                if (m->nodes[m->n_nodes].hour_uj == NULL) {
                        rc = cl_fail(CL_ENOMEM, "node hours");
                        break;
                }
                snprintf(m->nodes[m->n_nodes].name, sizeof(m->nodes[0].name),
                         "%s", (const char *)sqlite3_column_text(st, 1));
                (*accs)[m->n_nodes].node_id = sqlite3_column_int64(st, 0);
                (*accs)[m->n_nodes].measured = 0;
                (*accs)[m->n_nodes].estimated = 0;
                m->n_nodes++;
        }
        sqlite3_finalize(st);
        for (size_t i = 0; i < m->n_nodes; i++)
                (*accs)[i].report = &m->nodes[i];
        return rc;
}

static size_t
node_index(const struct node_acc *accs, size_t n, int64_t node_id)
{
        for (size_t i = 0; i < n; i++)
                if (accs[i].node_id == node_id)
                        return i;
        return n;
}

/*
 * Splits value (of an interval of dur_ns) over the clock hours of
 * [lo, hi), adding each hour's pro-rata part to hour_uj (when not NULL)
 * and returning the sum of the parts, so that the hours of a figure always
 * add up to its total. hours, when not NULL, receives each hour's part and
 * covered time too.
 */
static int64_t
split_hours(const struct cl_report_model *m, int64_t lo, int64_t hi,
            int64_t value, int64_t dur_ns, int64_t *hour_uj,
            struct cl_hour_report *hours)
{
        int64_t sum = 0;

        for (int64_t t = lo; t < hi;) {
                int64_t hour = (t - m->period_start_ns) / CL_NS_PER_HOUR;
                int64_t hour_end =
                    m->period_start_ns + (hour + 1) * CL_NS_PER_HOUR;
                int64_t seg_end = hour_end < hi ? hour_end : hi;
                int64_t piece = cl_pro_rata(value, seg_end - t, dur_ns);

                sum += piece;
                if (hour >= 0 && hour < (int64_t)m->n_hours) {
                        if (hour_uj != NULL)
                                hour_uj[hour] += piece;
                        if (hours != NULL) {
                                hours[hour].energy_uj += piece;
                                hours[hour].sampled_ns += seg_end - t;
                        }
                }
                t = seg_end;
        }
        return sum;
}

/* Adds a sample's node energy to its node and to the hours it spans. */
static void
add_sample(struct cl_report_model *m, struct node_acc *acc,
           const struct sample_part *s, sqlite3_stmt *st)
{
        struct cl_node_report *n = acc->report;
        int64_t dur = s->end_ns - s->start_ns, part = s->hi - s->lo;
        int64_t energy = sqlite3_column_int64(st, 6);
        int64_t e_part, idle_part;

        if (!s->ok) {
                n->gaps++;
                n->gap_ns += part;
                return;
        }
        e_part =
            split_hours(m, s->lo, s->hi, energy, dur, n->hour_uj, m->hours);
        idle_part = split_hours(m, s->lo, s->hi, sqlite3_column_int64(st, 7),
                                dur, NULL, NULL);
        n->intervals++;
        n->sampled_ns += part;
        n->energy_uj += e_part;
        n->idle_uj += idle_part;
        /* system is completed in finish_nodes: energy - idle - pods. */
        if (s->measured) {
                n->measured_uj += e_part;
                acc->measured++;
        } else {
                n->estimated_uj += e_part;
                acc->estimated++;
                n->model_idle_w = sqlite3_column_double(st, 9);
                n->model_max_w = sqlite3_column_double(st, 10);
        }
        if (sqlite3_column_int(st, 8))
                n->scaled_intervals++;
        if (dur > 0 && (double)energy / 1e6 / ((double)dur / 1e9) > n->peak_w)
                n->peak_w = (double)energy / 1e6 / ((double)dur / 1e9);
}

static cl_err
add_pod_row(struct cl_report_model *m, struct pod_acc *p, int64_t node_id,
            const struct sample_part *s, sqlite3_stmt *st)
{
        int64_t dur = s->end_ns - s->start_ns, part = s->hi - s->lo;
        int64_t energy;

        if (!p->present) {
                p->present = 1;
                p->node_id = node_id;
                p->first_ns = s->lo;
                p->hour_uj = calloc(m->n_hours + 1, sizeof(*p->hour_uj));
                if (p->hour_uj == NULL)
                        return cl_fail(CL_ENOMEM, "pod hours");
        }
        p->last_ns = s->hi;
        if (!s->ok || sqlite3_column_type(st, 13) == SQLITE_NULL)
                return CL_OK;
        energy = sqlite3_column_int64(st, 13);
        p->energy_uj +=
            split_hours(m, s->lo, s->hi, energy, dur, p->hour_uj, NULL);
        p->cpu_us += cl_pro_rata(sqlite3_column_int64(st, 12), part, dur);
        p->run_ns += part;
        if (s->measured)
                p->measured++;
        else
                p->estimated++;
        if (dur > 0 && (double)energy / 1e6 / ((double)dur / 1e9) > p->peak_w)
                p->peak_w = (double)energy / 1e6 / ((double)dur / 1e9);
        return CL_OK;
}

static cl_err
grow_pods(struct pod_acc **pods, size_t *cap, int64_t pod_id)
{
        size_t ncap = *cap ? *cap : 256;
        struct pod_acc *grown;

        while ((size_t)pod_id >= ncap)
                ncap *= 2;
        grown = realloc(*pods, ncap * sizeof(**pods));
        if (grown == NULL)
                return cl_fail(CL_ENOMEM, "pod sums");
        memset(grown + *cap, 0, (ncap - *cap) * sizeof(*grown));
        *pods = grown;
        *cap = ncap;
        return CL_OK;
}

static const char scan_sql[] =
    "SELECT s.sample_id, s.node_id, s.start_ns, s.end_ns, s.status, "
    "s.method, s.energy_uj, s.idle_uj, s.pods_scaled, s.model_idle_w, "
    "s.model_max_w, p.pod_id, p.cpu_us, p.energy_uj "
    "FROM sample s LEFT JOIN pod_sample p ON p.sample_id = s.sample_id "
    "WHERE s.end_ns > ?1 AND s.start_ns < ?2 AND s.status != 'baseline' "
    "ORDER BY s.sample_id";

static cl_err
scan_samples(sqlite3 *db, struct cl_report_model *m, struct node_acc *nodes,
             struct pod_acc **pods, size_t *pods_cap)
{
        struct sample_part s = {.sample_id = -1};
        sqlite3_stmt *st = NULL;
        cl_err rc;
        int step;

        rc = cl_db_prepare(db, scan_sql, &st);
        if (rc != CL_OK)
                return rc;
        sqlite3_bind_int64(st, 1, m->period_start_ns);
        sqlite3_bind_int64(st, 2, m->period_end_ns);
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
                int64_t sample_id = sqlite3_column_int64(st, 0);

                if (sample_id != s.sample_id) {
                        s.sample_id = sample_id;
                        s.node = node_index(nodes, m->n_nodes,
                                            sqlite3_column_int64(st, 1));
                        s.start_ns = sqlite3_column_int64(st, 2);
                        s.end_ns = sqlite3_column_int64(st, 3);
                        s.lo = s.start_ns > m->period_start_ns
                                   ? s.start_ns
                                   : m->period_start_ns;
                        s.hi = s.end_ns < m->period_end_ns ? s.end_ns
                                                           : m->period_end_ns;
                        s.ok = strcmp((const char *)sqlite3_column_text(st, 4),
                                      "ok") == 0;
                        s.measured =
                            strcmp((const char *)sqlite3_column_text(st, 5),
                                   "measured") == 0;
                        if (s.node == m->n_nodes || s.hi <= s.lo)
                                continue;
                        m->has_samples = 1;
                        add_sample(m, &nodes[s.node], &s, st);
                }
                if (s.node == m->n_nodes || s.hi <= s.lo ||
                    sqlite3_column_type(st, 11) == SQLITE_NULL)
                        continue;
                {
                        int64_t pod_id = sqlite3_column_int64(st, 11);

                        if (pod_id < 0)
                                continue;
                        if ((size_t)pod_id >= *pods_cap) {
                                rc = grow_pods(pods, pods_cap, pod_id);
                                if (rc != CL_OK)
                                        break;
                        }
                        rc = add_pod_row(m, &(*pods)[pod_id],
                                         nodes[s.node].node_id, &s, st);
                        if (rc != CL_OK)
                                break;
                }
        }
        if (rc == CL_OK && step != SQLITE_DONE)
                rc = cl_db_fail(db, "read samples");
        sqlite3_finalize(st);
        return rc;
}

enum cl_method
cl_method_of(int64_t measured, int64_t estimated, enum cl_method when_measured)
{
        if (measured > 0 && estimated > 0)
                return CL_METHOD_MIXED;
        if (measured > 0)
                return when_measured;
        if (estimated > 0)
                return CL_METHOD_ESTIMATED;
        return CL_METHOD_NONE;
}

static cl_err
build_workloads(sqlite3 *db, struct cl_report_model *m,
                const struct node_acc *nodes, struct pod_acc *pods,
                size_t pods_cap)
{
        sqlite3_stmt *st = NULL;
        size_t count = 0;
        cl_err rc;

        for (size_t i = 0; i < pods_cap; i++)
                count += (size_t)pods[i].present;
        m->workloads = calloc(count + 1, sizeof(*m->workloads));
        if (m->workloads == NULL)
                return cl_fail(CL_ENOMEM, "workloads");
        rc = cl_db_prepare(db,
                           "SELECT p.pod_id, n.name, p.uid, p.namespace, "
                           "p.name FROM pod p JOIN node n USING (node_id) "
                           "ORDER BY n.name, p.namespace, p.name, p.uid",
                           &st);
        if (rc != CL_OK)
                return rc;
        while (sqlite3_step(st) == SQLITE_ROW) {
                int64_t id = sqlite3_column_int64(st, 0);
                struct cl_workload_report *w;
                struct pod_acc *p;
                const char *ns, *name;

                if (id < 0 || (size_t)id >= pods_cap || !pods[id].present)
                        continue;
                p = &pods[id];
                w = &m->workloads[m->n_workloads++];
                ns = (const char *)sqlite3_column_text(st, 3);
                name = (const char *)sqlite3_column_text(st, 4);
                snprintf(w->node, sizeof(w->node), "%s",
                         (const char *)sqlite3_column_text(st, 1));
                snprintf(w->pod_uid, sizeof(w->pod_uid), "%s",
                         (const char *)sqlite3_column_text(st, 2));
                snprintf(w->namespace_, sizeof(w->namespace_), "%s",
                         ns != NULL ? ns : "");
                snprintf(w->pod, sizeof(w->pod), "%s",
                         name != NULL ? name : w->pod_uid);
                w->energy_uj = p->energy_uj;
                w->cpu_s = (double)p->cpu_us / 1e6;
                w->run_s = (double)p->run_ns / 1e9;
                w->span_s = (double)(p->last_ns - p->first_ns) / 1e9;
                w->coverage = w->span_s > 0 ? w->run_s / w->span_s : 0.0;
                w->mean_w =
                    w->run_s > 0 ? (double)p->energy_uj / 1e6 / w->run_s : 0.0;
                w->peak_w = p->peak_w;
                w->method = cl_method_of(p->measured, p->estimated,
                                         CL_METHOD_ATTRIBUTED);
                /* The workload takes over the pod's hour array. */
                w->hour_uj = p->hour_uj;
                p->hour_uj = NULL;
                (void)nodes;
        }
        sqlite3_finalize(st);
        return CL_OK;
}

static void
finish_nodes(struct cl_report_model *m, const struct node_acc *nodes)
{
        int64_t period = m->period_end_ns - m->period_start_ns;
        int64_t measured = 0;

        for (size_t i = 0; i < m->n_nodes; i++) {
                struct cl_node_report *n = &m->nodes[i];

                n->pods_uj = 0;
                for (size_t w = 0; w < m->n_workloads; w++)
                        if (strcmp(m->workloads[w].node, n->name) == 0)
                                n->pods_uj += m->workloads[w].energy_uj;
                n->system_uj = n->energy_uj - n->idle_uj - n->pods_uj;
                n->method = cl_method_of(nodes[i].measured, nodes[i].estimated,
                                         CL_METHOD_MEASURED);
                n->coverage = (double)n->sampled_ns / (double)period;
                n->mean_w = n->sampled_ns > 0
                                ? (double)n->energy_uj / 1e6 /
                                      ((double)n->sampled_ns / 1e9)
                                : 0.0;
                m->energy_uj += n->energy_uj;
                measured += n->measured_uj;
        }
        m->measured_share =
            m->energy_uj > 0 ? (double)measured / (double)m->energy_uj : 0.0;
}

cl_err
cl_aggregate_period(sqlite3 *db, struct cl_report_model *m)
{
        struct node_acc *nodes = NULL;
        struct pod_acc *pods = NULL;
        size_t pods_cap = 0;
        cl_err rc;

        /* Whole KST days that are all rolled up come from the rollups. */
        if (cl_rollup_covers(db, m->period_start_ns, m->period_end_ns))
                return cl_rollup_aggregate(db, m);
        m->n_hours = (size_t)((m->period_end_ns - m->period_start_ns +
                               CL_NS_PER_HOUR - 1) /
                              CL_NS_PER_HOUR);
        free(m->hours);
        m->hours = calloc(m->n_hours + 1, sizeof(*m->hours));
        if (m->hours == NULL)
                return cl_fail(CL_ENOMEM, "%zu hours", m->n_hours);
        for (size_t h = 0; h < m->n_hours; h++) {
                memset(&m->hours[h], 0, sizeof(m->hours[h]));
                m->hours[h].start_ns =
                    m->period_start_ns + (int64_t)h * CL_NS_PER_HOUR;
        }
        rc = load_nodes(db, m, &nodes);
        if (rc == CL_OK)
                rc = grow_pods(&pods, &pods_cap, 0);
        if (rc == CL_OK)
                rc = scan_samples(db, m, nodes, &pods, &pods_cap);
        if (rc == CL_OK)
                rc = build_workloads(db, m, nodes, pods, pods_cap);
        if (rc == CL_OK)
                finish_nodes(m, nodes);
        free(nodes);
        for (size_t i = 0; i < pods_cap; i++)
                free(pods[i].hour_uj);
        free(pods);
        return rc;
}

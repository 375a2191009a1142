/*
 * Ingest benchmark: writes CYCLES intervals of PODS pod rows through the
 * collector's store (one transaction per interval, as the collector
 * does) and prints rows per second of wall time. Usage:
 * bench_ingest DB PODS CYCLES
 */
#include "db.h"
#include "store.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
main(int argc, char **argv)
{
        struct cl_rapl rapl = {NULL, 0, 0};
        struct cl_store *store = NULL;
        struct cl_pod_row *rows;
        char(*uids)[CL_POD_UID_LEN + 1];
        sqlite3 *db = NULL;
        long pods, cycles;
        int64_t t0, t1;

        if (argc != 4)
                return 2;
        pods = strtol(argv[2], NULL, 10);
        cycles = strtol(argv[3], NULL, 10);
        rows = calloc((size_t)pods, sizeof(*rows));
        uids = calloc((size_t)pods, sizeof(*uids));
        if (rows == NULL || uids == NULL || pods < 1 || cycles < 1)
                return 1;
        for (long i = 0; i < pods; i++) {
                snprintf(uids[i], sizeof(uids[i]),
                         "00000000-0000-4000-8000-%012ld", i);
                rows[i].uid = uids[i];
                rows[i].has_delta = 1;
        }
        if (cl_db_open(argv[1], CL_DB_CREATE, &db) != CL_OK ||
            cl_store_open(db, "bench", &rapl, &store) != CL_OK) {
                fprintf(stderr, "bench_ingest: %s\n", cl_last_error());
                return 1;
        }
        t0 = cl_monotonic_ns();
        for (long c = 0; c < cycles; c++) {
                struct cl_sample_row row;

                memset(&row, 0, sizeof(row));
                row.boot_id = "bench";
                row.start_ns = INT64_C(1773100800000000000) + c * 5000000000;
                row.end_ns = row.start_ns + 5000000000;
                row.status = c == 0 ? "baseline" : "ok";
                row.method = "measured";
                row.clock_ticks_hz = 100;
                row.has_interval = c > 0;
                row.has_energy = c > 0;
                row.energy_uj = 500000000;
                for (long i = 0; i < pods; i++) {
                        rows[i].usage_us = (uint64_t)(c * 1000 + i);
                        rows[i].cpu_us = 1000;
                        rows[i].energy_uj = 2000000;
                }
                row.pods = rows;
                row.n_pods = (size_t)pods;
                if (cl_store_write(store, &row, NULL, 0) != CL_OK) {
                        fprintf(stderr, "bench_ingest: %s\n", cl_last_error());
                        return 1;
                }
        }
        t1 = cl_monotonic_ns();
        printf("%.0f\n", (double)(pods * cycles) / ((double)(t1 - t0) / 1e9));
        cl_store_close(store);
        cl_db_close(db);
        free(rows);
        free(uids);
        return 0;
}

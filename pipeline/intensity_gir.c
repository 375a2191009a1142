/*
 * Source "gir": the official Korean consumption-side emission factor of
 * the Greenhouse Gas Inventory and Research Center, from the versioned
 * table templates/emission-factors.json (read by cl_factor_select, the
 * same lookup the nightly run uses). Every hour gets the factor whose
 * reporting years include the hour's KST year, with basis consumption.
 * Its quality is "declared", the word the policy and the reports use for
 * it, because it is a published multi-year average and not a value
 * measured for that hour. The factor set is the notice,
 * and the response hash is the SHA-256 of the table file, so a stored hour
 * names the exact table it came from.
 */
#include "intensity_source.h"

#include "fsutil.h"
#include "log.h"
#include "policy.h"
#include "timeutil.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
kst_year(int64_t t_ns)
{
        int64_t kst = t_ns + CL_KST_OFFSET_NS;
        int64_t days = kst / CL_NS_PER_DAY - (kst % CL_NS_PER_DAY < 0);
        int y, m, d;

        cl_civil_from_days(days, &y, &m, &d);
        return y;
}

cl_err
cl_source_gir_fetch(struct cl_source_ctx *ctx)
{
        struct cl_source_batch batch = {0};
        struct cl_emission_factor f;
        char path[PATH_MAX], sha[65];
        char *text = NULL;
        int year = 0;
        size_t len;
        cl_err rc;

        rc = cl_path_join(path, sizeof(path), ctx->template_dir,
                          "emission-factors.json");
        if (rc != CL_OK)
                return rc;
        rc = cl_read_file(path, 1u << 20, &text, &len);
        if (rc != CL_OK)
                return rc;
        cl_sha256_hex(text, len, sha);
        free(text);
        memset(&f, 0, sizeof(f));
        for (size_t i = 0; rc == CL_OK && i < ctx->n_needed; i++) {
                struct cl_source_hour h;

                if (kst_year(ctx->needed[i]) != year) {
                        year = kst_year(ctx->needed[i]);
                        rc = cl_factor_select(ctx->template_dir, year, "", &f);
                        if (rc != CL_OK)
                                break;
                }
                memset(&h, 0, sizeof(h));
                h.hour_ns = ctx->needed[i];
                h.has_value = 1;
                /* tCO2eq/MWh = kgCO2eq/kWh; x 1000 gives gCO2eq/kWh. */
                h.g_per_kwh = f.t_per_mwh * 1000.0;
                h.quality = CL_QUALITY_DECLARED;
                snprintf(h.factor_set, sizeof(h.factor_set), "%s", f.notice);
                snprintf(h.detail, sizeof(h.detail),
                         "GIR %s (%s): %.4f tCO2eq/MWh%s", f.notice,
                         f.statistics, f.t_per_mwh,
                         f.confirmed ? "" : ", not confirmed at the source");
                rc = cl_batch_add(&batch, &h);
        }
        if (rc == CL_OK && ctx->n_needed > 0)
                rc = cl_source_store(
                    ctx, ctx->needed[0],
                    ctx->needed[ctx->n_needed - 1] + CL_NS_PER_HOUR, &batch,
                    CL_BASIS_CONSUMPTION, sha, "", "", 0);
        if (rc != CL_OK)
                cl_source_note(ctx, "gir: %s", cl_last_error());
        cl_batch_free(&batch);
        return rc;
}

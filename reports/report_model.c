/*
 * Names of the model's enumerations, as used in every output format.
 */
#include "report_model.h"

#include <stdlib.h>
#include <string.h>

const char *
cl_method_name(enum cl_method method)
{
        switch (method) {
        case CL_METHOD_MEASURED:
                return "measured";
        case CL_METHOD_ATTRIBUTED:
                return "attributed";
        case CL_METHOD_ESTIMATED:
                return "estimated";
        case CL_METHOD_DECLARED:
                return "declared";
        case CL_METHOD_MIXED:
                return "mixed";
        case CL_METHOD_NONE:
                return "none";
        }
        return "none";
}

const char *
cl_status_name(enum cl_status status)
{
        switch (status) {
        case CL_STATUS_COMPLIANT:
                return "COMPLIANT";
        case CL_STATUS_NON_COMPLIANT:
                return "NON_COMPLIANT";
        case CL_STATUS_NOT_ASSESSED:
                return "NOT_ASSESSED";
        case CL_STATUS_INSUFFICIENT_DATA:
                return "INSUFFICIENT_DATA";
        }
        return "NOT_ASSESSED";
}

void
cl_report_model_free(struct cl_report_model *m)
{
        for (size_t i = 0; m->nodes != NULL && i < m->n_nodes; i++)
                free(m->nodes[i].hour_uj);
        for (size_t i = 0; m->workloads != NULL && i < m->n_workloads; i++)
                free(m->workloads[i].hour_uj);
        free(m->nodes);
        free(m->workloads);
        free(m->hours);
        memset(m, 0, sizeof(*m));
}

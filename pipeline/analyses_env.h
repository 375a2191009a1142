/*
 * Opening what the analyses read, for the query and mcp commands: the
 * database read-only, the policy and, when given, the kubelet pod list.
 */
#ifndef CL_ANALYSES_ENV_H
#define CL_ANALYSES_ENV_H

#include "analyses.h"

struct cl_analysis_inputs {
        const char *db_path;      /* required */
        const char *policy_path;  /* NULL: the template's defaults */
        const char *template_dir; /* required */
        const char *kubelet_pods; /* kubelet /pods JSON file, or NULL */
};

/* An opened environment; env points into the other fields. */
struct cl_analysis_session {
        struct cl_analysis_env env;
        struct cl_policy policy;
        struct cl_kubelet_pods kubelet;
        sqlite3 *db;
        int have_policy;
        int have_kubelet;
};

/*
 * Opens the database with CL_DB_READONLY, loads the policy and the pod
 * list, and fills s->env (now_ns from the clock). Fails with the code and
 * message of the failing step; s is then already closed.
 */
cl_err cl_analysis_session_open(const struct cl_analysis_inputs *in,
                                struct cl_analysis_session *s) CL_MUST_CHECK;

/* Closes what cl_analysis_session_open opened. */
void cl_analysis_session_close(struct cl_analysis_session *s);

/* Returns $CARBONLEDGER_TEMPLATES when set, else the build's folder. */
const char *cl_default_template_dir(void);

#endif

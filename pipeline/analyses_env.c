/*
 * The environment of the analyses for the query and mcp commands (see
 * analyses_env.h).
 */
#include "analyses_env.h"

#include "db.h"
#include "timeutil.h"

#include <stdlib.h>
#include <string.h>

const char *
cl_default_template_dir(void)
{
        const char *env = getenv("CARBONLEDGER_TEMPLATES");

        return env != NULL && env[0] != '\0' ? env : CL_TEMPLATE_DIR;
}

cl_err
cl_analysis_session_open(const struct cl_analysis_inputs *in,
                         struct cl_analysis_session *s)
{
        cl_err rc;

        memset(s, 0, sizeof(*s));
        rc = cl_policy_load(in->template_dir, in->policy_path, &s->policy);
        if (rc != CL_OK)
                goto out;
        s->have_policy = 1;
        if (in->kubelet_pods != NULL) {
                rc = cl_kubelet_pods_load(in->kubelet_pods, &s->kubelet);
                if (rc != CL_OK)
                        goto out;
                s->have_kubelet = 1;
        }
        rc = cl_db_open(in->db_path, CL_DB_READONLY, &s->db);
        if (rc != CL_OK)
                goto out;
        s->env.db = s->db;
        s->env.db_path = in->db_path;
        s->env.policy = &s->policy;
        s->env.template_dir = in->template_dir;
        s->env.kubelet = s->have_kubelet ? &s->kubelet : NULL;
        s->env.now_ns = cl_now_ns();
out:
        if (rc != CL_OK)
                cl_analysis_session_close(s);
        return rc;
}

void
cl_analysis_session_close(struct cl_analysis_session *s)
{
        cl_db_close(s->db);
        s->db = NULL;
        if (s->have_kubelet)
                cl_kubelet_pods_free(&s->kubelet);
        if (s->have_policy)
                cl_policy_free(&s->policy);
        s->have_kubelet = 0;
        s->have_policy = 0;
}

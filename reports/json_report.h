/*
 * The report model as a json-c document, shared by the JSON report file
 * and the query commands.
 */
#ifndef CL_JSON_REPORT_H
#define CL_JSON_REPORT_H

#include "report_model.h"

#include <json-c/json.h>

/* Returns a new document for m (release with json_object_put), or NULL
   when out of memory. */
json_object *cl_report_to_json(const struct cl_report_model *m);

/* Returns a new JSON object for one check. */
json_object *cl_check_to_json(const struct cl_check *c);

#endif

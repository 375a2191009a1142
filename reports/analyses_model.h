/*
 * The analyses part of the report model: for each analysis a section of
 * labelled rows, already reduced to what the PDF page, the XLSX sheet and
 * the JSON report show. The pipeline fills it (analyses_report.c) and the
 * renderers only read it. A section whose analysis could not run on the
 * day's data has no rows, and message gives the reason.
 */
#ifndef CL_ANALYSES_MODEL_H
#define CL_ANALYSES_MODEL_H

#include <json-c/json.h>
#include <stddef.h>

/* One figure: a number in unit, or a text when has_number is 0. */
struct cl_analysis_row {
        char item[160];
        int has_number;
        double number;
        char text[320];
        char unit[32];   /* "kWh", "W", "%", "gCO2eq", "" for text */
        char method[24]; /* measured, attributed, estimated, declared, ... */
};

struct cl_analysis_section {
        char analysis[48];   /* "get_power_hotspots", ... */
        char title[96];      /* English heading */
        char arguments[256]; /* the arguments it ran with, as JSON */
        int ok;              /* 0: message gives the reason for no rows */
        char message[512];
        struct cl_analysis_row *rows;
        size_t n_rows;
};

struct cl_analyses_report {
        struct cl_analysis_section *sections;
        size_t n_sections;
};

/* Returns a new JSON array of the sections (json_object_put), or NULL. */
json_object *cl_analyses_to_json(const struct cl_analyses_report *a);

/* Frees a and its sections; NULL is allowed. */
void cl_analyses_report_free(struct cl_analyses_report *a);

#endif

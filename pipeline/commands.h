/*
 * Entry points of the carbonledger commands that live in their own files.
 * Each takes argv from the command word on (argv[0] is the command) and
 * returns the process exit status: 0 success, 1 failure, 2 invalid usage.
 */
#ifndef CL_COMMANDS_H
#define CL_COMMANDS_H

/* carbonledger query NAME [options] [--json]: one analysis (cmd_query.c). */
int cl_cmd_query(int argc, char **argv);

/* carbonledger mcp --db PATH [--listen ADDR:PORT]: the MCP server (mcp.c). */
int cl_cmd_mcp(int argc, char **argv);

/*
 * carbonledger intensity fetch|show --db PATH [options]: hourly carbon
 * intensity from its sources (cmd_intensity.c).
 */
int cl_cmd_intensity(int argc, char **argv);

/*
 * carbonledger import prometheus --db PATH --url URL --from START --to END
 * [--step SECONDS]: every node's counters from Prometheus
 * (cmd_import_prometheus.c); argv[0] is "prometheus".
 */
int cl_cmd_import_prometheus(int argc, char **argv);

/* carbonledger merge --into PATH NODE.db...: copied node databases
   (cmd_merge.c). */
int cl_cmd_merge(int argc, char **argv);

#endif

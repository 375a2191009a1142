/* The schema migrations, generated from schema/NNN_*.sql in order. */
#ifndef CL_MIGRATIONS_H
#define CL_MIGRATIONS_H

/* cl_migrations[i] takes a database from user_version i to i + 1. */
extern const char *const cl_migrations[];
extern const int cl_migration_count;

#endif

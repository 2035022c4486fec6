/*
 * cli_audit.h — `evchain audit`: verify every entry of the log against its
 * latest signed checkpoint, then report the compliance findings of
 * lib/audit.h (see cli_audit.c).
 */
#ifndef EVC_CLI_AUDIT_H
#define EVC_CLI_AUDIT_H

#include "client.h"

/* argv[0] is "audit". Exit status: 0 the audit ran (with or without
 * findings), 1 a verification or connection failure (no finding is
 * printed), 2 usage. */
int cli_audit(int argc, char **argv, const evc_profile *p);

#endif

/*
 * cli_monitor.h — `evchain monitor`: follow the log from a saved position and
 * verify every new entry (see cli_monitor.c).
 */
#ifndef EVC_CLI_MONITOR_H
#define EVC_CLI_MONITOR_H

#include "client.h"

/* argv[0] is "monitor". Exit status: 0 verified / up to date, 1 alarm (or
 * one pending), 2 usage, 3 operational failure. */
int cli_monitor(int argc, char **argv, const evc_profile *p);

#endif

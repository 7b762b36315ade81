/*
 * chronon: what the clock runs on, how fast it is, and whether it is right
 * on this machine.  This file only dispatches to the subcommands; each
 * lives in its own cmd_<name>.c.
 */
#include "tool.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *what;
} commands[] = {
	{ "status", chronon__cmd_status, "the counter, its frequency, mode and the kernel's clock state" },
	{ "bench", chronon__cmd_bench, "ns per call: bare counter, chronon, vDSO, system call" },
	{ "check", chronon__cmd_check, "accuracy against the kernel, monotonicity, cross-CPU warp" },
	{ "vdso", chronon__cmd_vdso, "the vDSO's symbols and which clocks it serves" },
	{ "bound", chronon__cmd_bound, "an interval that contains true time (TrueTime), or why not" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: chronon <command> [options]   (chronon <command> --help for its options)\n\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].what);
	fprintf(f, "\nExit status: 0 all well, 1 a check failed, 2 bad usage.  See chronon(1).\n");
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage(stderr), TOOL_USAGE;
	if (chronon__tool_is_help(argv[1]) || strcmp(argv[1], "help") == 0)
		return usage(stdout), TOOL_OK;
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	return chronon__tool_usage(NULL, "unknown command '%s' (try chronon --help)", argv[1]);
}

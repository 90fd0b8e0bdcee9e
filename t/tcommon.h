/*
 * tcommon.h: helpers shared by the Check suites: a fault probe that uses
 * the test's own SIGSEGV handler, RSS and host-mapping readings.
 */
#ifndef KVA_TCOMMON_H
#define KVA_TCOMMON_H

#include <kva.h>

#include <check.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef HAVE_VALGRIND_VALGRIND_H
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#define VALGRIND_DISABLE_ERROR_REPORTING
#define VALGRIND_ENABLE_ERROR_REPORTING
#endif

static sigjmp_buf t_probe_env;
static volatile sig_atomic_t t_probe_armed;
static volatile sig_atomic_t t_faults_caught;
static void *volatile t_fault_addr;

static void
t_segv_handler(int sig, siginfo_t *si, void *ctx)
{
	(void)ctx;
	if (t_probe_armed) {
		t_faults_caught++;
		t_fault_addr = si->si_addr;
		t_probe_armed = 0;
		siglongjmp(t_probe_env, 1);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

/* install the test's own handler: call before kva_init */
static inline void
t_install_handler(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = t_segv_handler;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
}

/* t_probe: access addr (write if is_write); 1 if it faulted.  The access
 * is meant to be bad: memcheck is told not to report it. */
static inline int
t_probe(volatile char *addr, int is_write)
{
	VALGRIND_DISABLE_ERROR_REPORTING;
	if (sigsetjmp(t_probe_env, 1) != 0) {
		VALGRIND_ENABLE_ERROR_REPORTING;
		return 1;
	}
	t_probe_armed = 1;
	if (is_write)
		*addr = 0x5a;
	else
		(void)*addr;
	t_probe_armed = 0;
	VALGRIND_ENABLE_ERROR_REPORTING;
	return 0;
}

/* t_child_exit: a forked test child ends with its verdict sent through fd
 * and SIGKILL, so that no exit-time check (memcheck's leak check of the
 * parent's heap, copied into the child) can change the verdict. */
static inline void __attribute__((noreturn))
t_child_exit(int fd, int ok)
{
	char c = ok ? 'k' : 'x';

	(void)!write(fd, &c, 1);
	raise(SIGKILL);
	_exit(1);
}

/* t_child_verdict: wait for the child of t_child_exit; 1 if it was ok */
static inline int
t_child_verdict(int fd, pid_t pid)
{
	char c = 0;
	int status;

	if (read(fd, &c, 1) != 1)
		c = 0;
	while (waitpid(pid, &status, 0) < 0)
		;
	return c == 'k';
}

/* a field of /proc/self/status in KiB, e.g. "VmRSS:" */
static inline long
t_status_kib(const char *field)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, strlen(field)) == 0) {
			v = strtol(line + strlen(field), NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* host mappings (VMAs) that lie inside [lo, hi) */
static inline long
t_count_maps_in(unsigned long lo, unsigned long hi)
{
	char line[512];
	long n = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long s, e;
		if (sscanf(line, "%lx-%lx", &s, &e) == 2 && s >= lo && e <= hi)
			n++;
	}
	fclose(f);
	return n;
}

static inline int
t_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif /* KVA_TCOMMON_H */

/*
 * shimbench.c: the malloc shim against glibc, jemalloc and mimalloc.
 *
 *   shimbench [-n] [--plot DIR] [workload...]
 *
 * Each workload runs in a fresh process (this program, re-executed with
 * --run NAME) once per allocator, the allocator preloaded with
 * LD_PRELOAD; the child times its own work and the parent reads the peak
 * RSS from wait4.  One run each, in one go, so the ratios to glibc are
 * taken on one machine on one day (ARCHITECTURE.md).  -n: print the
 * commands instead of running them.  --plot DIR: also write the table
 * (shimbench.txt), the figures (shimbench.dat: per workload, glibc's time
 * and peak RSS, and each allocator's ratios to them), a gnuplot script,
 * and, with gnuplot, shimbench.png: time and peak RSS ratios to glibc per
 * workload and allocator.
 *
 * Workloads:
 *   churn     small-object churn: 20M malloc/free of 16..512 bytes, 10000
 *             live, one thread
 *   prodcons  producer/consumer: one thread allocates 64..256-byte
 *             blocks, another frees them (5M blocks through a ring)
 *   realloc   realloc growth: 200000 strings grown by 1..16 bytes to 1 KiB,
 *             and 40 buffers grown by 1.25x up to 32 MiB
 *   large     malloc-large: 20 slots, 400 blocks of 5..25 MiB, every page
 *             written once
 *   fork      a process with 256 MiB live forks a child that exits at
 *             once; the time is one fork-to-wait, in ms (target 100 ms)
 *
 * The kvamalloc library is $KVAMALLOC_LIB, or lib/.libs/libkvamalloc.so
 * under the current directory.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MIB ((size_t)1 << 20)

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static uint64_t rng = 88172645463325252ULL;
static inline uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
w_churn(void)
{
	enum { SLOTS = 10000 };
	static char *slot[SLOTS];
	long i;

	for (i = 0; i < 20000000; i++) {
		uint64_t r = rnd();
		unsigned s = (unsigned)(r % SLOTS);

		free(slot[s]);
		slot[s] = malloc(16 + (r >> 32) % 497);
		((volatile char *)slot[s])[0] = (char)i;
	}
	for (i = 0; i < SLOTS; i++)
		free(slot[i]);
}

#define RING 4096
static void *volatile ring[RING];
static const long PC_N = 5000000;

static void *
consumer(void *arg)
{
	long i;

	(void)arg;
	for (i = 0; i < PC_N; i++) {
		void *p;

		while ((p = __atomic_exchange_n(&ring[i % RING], NULL,
		    __ATOMIC_ACQUIRE)) == NULL)
			;
		free(p);
	}
	return NULL;
}

static void
w_prodcons(void)
{
	pthread_t t;
	long i;

	pthread_create(&t, NULL, consumer, NULL);
	for (i = 0; i < PC_N; i++) {
		char *p = malloc(64 + rnd() % 193);

		((volatile char *)p)[0] = 1;
		while (__atomic_load_n(&ring[i % RING], __ATOMIC_ACQUIRE) != NULL)
			;
		__atomic_store_n(&ring[i % RING], p, __ATOMIC_RELEASE);
	}
	pthread_join(t, NULL);
}

static void
w_realloc(void)
{
	enum { NS = 200000, NB = 40 };
	static char *s[NS];
	static size_t len[NS];
	int round, i;

	for (round = 0; round < 64; round++)
		for (i = 0; i < NS; i++) {
			size_t add = 1 + rnd() % 16;

			if (len[i] + add > 1024) {
				free(s[i]);
				s[i] = NULL;
				len[i] = 0;
			}
			s[i] = realloc(s[i], len[i] + add);
			memset(s[i] + len[i], 'a', add);
			len[i] += add;
		}
	for (i = 0; i < NS; i++)
		free(s[i]);
	for (i = 0; i < NB; i++) {
		char *p = NULL;
		size_t n = 4096, k;

		while (n < 32 * MIB) {
			size_t old = n;

			n = n + n / 4;
			p = realloc(p, n);
			for (k = old; k < n; k += 4096)
				((volatile char *)p)[k] = 1;
		}
		free(p);
	}
}

static void
w_large(void)
{
	enum { SLOTS = 20 };
	char *slot[SLOTS] = { 0 };
	int i;

	for (i = 0; i < 400; i++) {
		unsigned s = (unsigned)(rnd() % SLOTS);
		size_t n = 5 * MIB + rnd() % (20 * MIB), k;

		free(slot[s]);
		slot[s] = malloc(n);
		for (k = 0; k < n; k += 4096)
			((volatile char *)slot[s])[k] = (char)k;
	}
	for (i = 0; i < SLOTS; i++)
		free(slot[i]);
}

/* fork: returns the fork-to-wait time itself */
static double
w_fork(void)
{
	enum { N = 256 };
	char *blk[N / 2 + N * 8];
	double t0, best = 1e9;
	int i, rep;

	/* 256 MiB live: 1 MiB blocks and 64 KiB blocks, all written */
	for (i = 0; i < N / 2; i++) {
		blk[i] = malloc(MIB);
		memset(blk[i], i, MIB);
	}
	for (i = N / 2; i < N / 2 + N * 8; i++) {
		blk[i] = malloc(MIB / 16);
		memset(blk[i], i, MIB / 16);
	}
	for (rep = 0; rep < 3; rep++) {
		pid_t pid;
		int st;

		t0 = now_ms();
		pid = fork();
		if (pid == 0)
			_exit(0);
		waitpid(pid, &st, 0);
		if (now_ms() - t0 < best)
			best = now_ms() - t0;
	}
	for (i = 0; i < N / 2 + N * 8; i++)
		free(blk[i]);
	return best;
}

static const struct {
	const char *name;
	void (*fn)(void);
} workloads[] = {
	{ "churn", w_churn },
	{ "prodcons", w_prodcons },
	{ "realloc", w_realloc },
	{ "large", w_large },
	{ "fork", NULL },
};
#define NW (sizeof(workloads) / sizeof(workloads[0]))

static int
run_one(const char *name)
{
	double t0 = now_ms(), t;
	size_t i;

	for (i = 0; i < NW; i++)
		if (strcmp(workloads[i].name, name) == 0)
			break;
	if (i == NW)
		return 2;
	if (workloads[i].fn == NULL)
		t = w_fork();
	else {
		workloads[i].fn();
		t = now_ms() - t0;
	}
	printf("%.3f\n", t);
	return 0;
}

struct alloc {
	const char *name;
	const char *lib;		/* NULL: glibc */
};

/* run workload w on allocator a; time in ms and peak RSS in KiB */
static int
measure(const char *self, const char *w, const struct alloc *a, double *ms,
    long *rss)
{
	int fds[2], st;
	pid_t pid;
	struct rusage ru;
	char buf[64];
	ssize_t n;

	if (pipe(fds) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		if (a->lib != NULL)
			setenv("LD_PRELOAD", a->lib, 1);
		else
			unsetenv("LD_PRELOAD");
		execl(self, self, "--run", w, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	n = read(fds[0], buf, sizeof(buf) - 1);
	close(fds[0]);
	if (wait4(pid, &st, 0, &ru) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0 || n <= 0)
		return -1;
	buf[n] = '\0';
	*ms = atof(buf);
	*rss = ru.ru_maxrss;
	return 0;
}

/* the table goes to stdout, and to table_f with --plot */
static FILE *table_f;

static void __attribute__((format(printf, 1, 2)))
tprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (table_f != NULL) {
		va_start(ap, fmt);
		vfprintf(table_f, fmt, ap);
		va_end(ap);
	}
}

#define PLOT_MAXW 16		/* workloads */
#define PLOT_MAXA 8		/* allocators */

/*
 * write_plot: shimbench.dat and shimbench.gp in dir, then gnuplot.
 * ms/rss: [workload][allocator], ms < 0 for a failed run.
 */
static void
write_plot(const char *dir, const char **names, int nw, const char **anames,
    int na, double ms[][PLOT_MAXA], long rss[][PLOT_MAXA])
{
	char path[4096];
	FILE *f;
	int w, a, st;

	snprintf(path, sizeof(path), "%s/shimbench.dat", dir);
	if ((f = fopen(path, "w")) == NULL) {
		fprintf(stderr, "shimbench: %s: %s\n", path, strerror(errno));
		return;
	}
	fprintf(f, "# workload glibc_ms glibc_rss_mib");
	for (a = 1; a < na; a++)
		fprintf(f, " %s_time_x %s_rss_x", anames[a], anames[a]);
	fprintf(f, "\n");
	for (w = 0; w < nw; w++) {
		fprintf(f, "%s", names[w]);
		if (ms[w][0] > 0)
			fprintf(f, " %.3f %.3f", ms[w][0], rss[w][0] / 1024.0);
		else
			fprintf(f, " ? ?");
		for (a = 1; a < na; a++) {
			if (ms[w][a] > 0 && ms[w][0] > 0)
				fprintf(f, " %.4f %.4f", ms[w][a] / ms[w][0],
				    (double)rss[w][a] / (double)rss[w][0]);
			else
				fprintf(f, " ? ?");
		}
		fprintf(f, "\n");
	}
	fclose(f);

	snprintf(path, sizeof(path), "%s/shimbench.gp", dir);
	if ((f = fopen(path, "w")) == NULL) {
		fprintf(stderr, "shimbench: %s: %s\n", path, strerror(errno));
		return;
	}
	fprintf(f,
	    "# shimbench.gp: charts of shimbench.dat (shimbench --plot)\n"
	    "set terminal pngcairo noenhanced size 960,760 font 'sans,10'\n"
	    "set output 'shimbench.png'\n"
	    "set datafile missing '?'\n"
	    "set style data histograms\n"
	    "set style histogram clustered gap 1\n"
	    "set style fill solid 0.7 border -1\n"
	    "set logscale y\n"
	    "set yrange [0.1:*]\n"
	    "set grid ytics\n"
	    "set key top left\n"
	    "set multiplot layout 2,1\n");
	for (int pass = 0; pass < 2; pass++) {
		fprintf(f, "set title '%s'\nset ylabel '%s'\nplot ",
		    pass == 0 ? "Time per workload, as a ratio to glibc "
		    "(lower is better)" : "Peak RSS per workload, as a ratio "
		    "to glibc (lower is better)",
		    pass == 0 ? "time, ratio to glibc (log scale)" :
		    "peak RSS, ratio to glibc (log scale)");
		for (a = 1; a < na; a++)
			fprintf(f, "'shimbench.dat' using %d%s title '%s', ",
			    4 + 2 * (a - 1) + pass, a == 1 ? ":xtic(1)" : "",
			    anames[a]);
		fprintf(f, "1 with lines dt 2 lc rgb 'black' title 'glibc'\n");
	}
	fprintf(f, "unset multiplot\n");
	fclose(f);

	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		if (chdir(dir) != 0)
			_exit(126);
		execlp("gnuplot", "gnuplot", "shimbench.gp", (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0)
		fprintf(stderr, "shimbench: gnuplot failed or is missing "
		    "(Debian: gnuplot-nox); the table and data are in %s\n",
		    dir);
	else
		printf("shimbench: chart in %s/shimbench.png\n", dir);
}

int
main(int argc, char **argv)
{
	static char kvalib[4096], tpath[4096];
	struct alloc allocs[] = {
		{ "glibc", NULL },
		{ "jemalloc", "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2" },
		{ "mimalloc", "/usr/lib/x86_64-linux-gnu/libmimalloc.so.2" },
		{ "kvamalloc", kvalib },
	};
	enum { NA = sizeof(allocs) / sizeof(allocs[0]) };
	double tsum[NA] = { 0 }, rsum[NA] = { 0 };
	double pms[PLOT_MAXW][PLOT_MAXA];
	long prss[PLOT_MAXW][PLOT_MAXA];
	const char *pnames[PLOT_MAXW], *anames[NA];
	const char *plot = NULL;
	int nw = 0, dry = 0, first = 1;
	const char *env = getenv("KVAMALLOC_LIB");
	size_t w, a;

	if (argc == 3 && strcmp(argv[1], "--run") == 0)
		return run_one(argv[2]);
	if (argc > first && strcmp(argv[first], "-n") == 0) {
		dry = 1;
		first++;
	}
	if (argc > first + 1 && strcmp(argv[first], "--plot") == 0) {
		plot = argv[first + 1];
		first += 2;
		if (mkdir(plot, 0777) != 0 && errno != EEXIST) {
			fprintf(stderr, "shimbench: %s: %s\n", plot,
			    strerror(errno));
			return 1;
		}
		snprintf(tpath, sizeof(tpath), "%s/shimbench.txt", plot);
		if ((table_f = fopen(tpath, "w")) == NULL) {
			fprintf(stderr, "shimbench: %s: %s\n", tpath,
			    strerror(errno));
			return 1;
		}
	}
	for (a = 0; a < NA; a++)
		anames[a] = allocs[a].name;
	if (env != NULL)
		snprintf(kvalib, sizeof(kvalib), "%s", env);
	else if (getcwd(kvalib, sizeof(kvalib) - 40) != NULL)
		strcat(kvalib, "/lib/.libs/libkvamalloc.so");
	for (a = 1; a < NA; a++)
		if (access(allocs[a].lib, R_OK) != 0) {
			fprintf(stderr, "shimbench: %s: %s not found\n",
			    allocs[a].name, allocs[a].lib);
			return 1;
		}

	tprintf("%-9s", "workload");
	for (a = 0; a < NA; a++)
		tprintf(" %20s", allocs[a].name);
	tprintf("\n%-9s", "");
	for (a = 0; a < NA; a++)
		tprintf(" %20s", a == 0 ? "ms / RSS MiB" : "time x / RSS x");
	tprintf("\n");
	for (w = 0; w < NW; w++) {
		double ms[NA], base_ms = 0;
		long rss[NA], base_rss = 0;
		int i, want = argc <= first;

		for (i = first; i < argc; i++)
			if (strcmp(argv[i], workloads[w].name) == 0)
				want = 1;
		if (!want)
			continue;
		if (dry) {
			tprintf("%s --run %s\n", argv[0], workloads[w].name);
			continue;
		}
		tprintf("%-9s", workloads[w].name);
		fflush(stdout);
		for (a = 0; a < NA; a++) {
			if (measure("/proc/self/exe", workloads[w].name, &allocs[a],
			    &ms[a], &rss[a]) != 0) {
				tprintf(" %20s", "failed");
				ms[a] = -1;
				fflush(stdout);
				continue;
			}
			if (a == 0) {
				base_ms = ms[0];
				base_rss = rss[0];
				tprintf(" %11.1f / %6.1f", ms[0], rss[0] / 1024.0);
			} else {
				tprintf(" %10.2fx / %6.2fx", ms[a] / base_ms,
				    (double)rss[a] / base_rss);
			}
			fflush(stdout);
			if (ms[a] > 0 && base_ms > 0) {
				tsum[a] += log(ms[a] / base_ms);
				rsum[a] += log((double)rss[a] / base_rss);
			}
		}
		if (strcmp(workloads[w].name, "fork") == 0)
			tprintf("   (kvamalloc fork %.1f ms)", ms[NA - 1]);
		tprintf("\n");
		if (nw < PLOT_MAXW) {
			pnames[nw] = workloads[w].name;
			for (a = 0; a < NA; a++) {
				pms[nw][a] = ms[a];
				prss[nw][a] = rss[a];
			}
		}
		nw++;
	}
	if (nw > 0) {
		tprintf("%-9s", "geomean");
		for (a = 0; a < NA; a++)
			tprintf(" %10.2fx / %6.2fx", exp(tsum[a] / nw),
			    exp(rsum[a] / nw));
		tprintf("\n");
	}
	if (table_f != NULL)
		fclose(table_f);
	if (plot != NULL && nw > 0)
		write_plot(plot, pnames, nw < PLOT_MAXW ? nw : PLOT_MAXW,
		    anames, NA, pms, prss);
	return 0;
}

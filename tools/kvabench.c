/*
 * kvabench.c: how kva compares with the host, measured in one run.
 *
 * usage: kvabench [--quick] [--rounds N] [--only NAME[,NAME...]] [--list]
 *                 [--json FILE] [--csv FILE] [--plot DIR] [--seed N]
 *                 [--vma-rounds N] [--verbose]
 *
 * Every benchmark measures kva and a baseline made of plain host calls
 * (mmap, munmap) in the same process, in alternating order: a round
 * times one batch of many iterations of each, kva first in even rounds
 * and the baseline first in odd ones, so that drift of the machine (a
 * noisy neighbour on a shared 2-vCPU VM) hits both alike.  Both sides are
 * warmed up and calibrated first (batch sizes are chosen so that a batch
 * takes about the same time on each side).  The result of a benchmark is
 * the median over rounds of each side, and their ratio kva / baseline,
 * compared with the benchmark's target (ratios travel between machines
 * better than times: ARCHITECTURE.md).  A benchmark without a target is
 * informational.
 *
 * Honesty rules the code keeps:
 *  - memory is written through volatile pointers, one byte per page, so
 *    that neither the touch nor the loop can be optimised away;
 *  - before timing, each benchmark checks that what it times works (kva's
 *    zeroed memory reads zero, recycled pages too);
 *  - minor faults (getrusage) and kva's host calls (uvmexp.hostcalls) are
 *    counted over the timed batches and reported per iteration, which
 *    shows where each side pays.
 *
 * Adding a benchmark: write a function that fills a struct kb_result and
 * add a row to the table `benches` at the end of the benchmarks.  Timed
 * pairs go through kb_measure_pair() with two batch functions.
 *
 * Output: a text table on stdout (one row per benchmark, notes below it);
 * --json / --csv write the same rows, with the spread, to a file.
 * --plot DIR writes the table (kvabench.txt), the rows as gnuplot data
 * (kvabench.dat, kvabench-paging.dat), a gnuplot script (kvabench.gp),
 * and runs gnuplot on it for two PNG charts: kvabench-ratio.png, each
 * benchmark's ratio with its spread and target, and kvabench-paging.png,
 * the demand-paging cost per page of kva against the host.
 */
#include <kva.h>
#include "uvm_hist.h"	/* lib/: UVMHIST_LOG, exported by libkva */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <spawn.h>
#include <time.h>
#include <unistd.h>

#define KB_MAXROUNDS	101
#define KB_NOTE		768

/* ------------------------------------------------------------------ */
/* Options and results. */

static struct {
	int quick;
	int rounds;		/* timed rounds per benchmark */
	double batch_ns;	/* target duration of one batch */
	int vma_rounds;		/* repetitions of the VMA pattern */
	const char *only;
	const char *json;
	const char *csv;
	const char *plot;
	uint64_t seed;
	int verbose;
} opt;

struct kb_result {
	const char *name;
	double kva, base;		/* medians over rounds */
	const char *unit;
	double ratio;			/* what the target is compared with */
	const char *ratio_kind;		/* "kva/base", or what ratio is */
	double target;			/* ratio <= target; NAN: informational */
	const char *verdict;		/* PASS, MISS, info, FAIL */
	int rounds;
	long iters_kva, iters_base;	/* per round and side */
	double kva_q[5], base_q[5];	/* min, p25, median, p75, max */
	double pratio_q[5];		/* paired (per-round) ratios */
	double npages;			/* pages touched per iteration, for
					 * the per-page cost (paging rows) */
	char note[KB_NOTE];
};

struct kb_bench {
	const char *name;
	int (*fn)(const struct kb_bench *, struct kb_result *);
	double target;			/* NAN: informational */
	size_t arg;			/* the function's parameter */
	const char *desc;
};

static long kb_pagesize;
static volatile unsigned long kb_sink;	/* reads land here */

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "kvabench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void __attribute__((format(printf, 2, 3)))
note_add(struct kb_result *r, const char *fmt, ...)
{
	size_t len = strlen(r->note);
	va_list ap;

	if (len + 1 >= sizeof(r->note))
		return;
	va_start(ap, fmt);
	vsnprintf(r->note + len, sizeof(r->note) - len, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------------ */
/* Time, statistics, randomness. */

static inline double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static long
minflt_now(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt + ru.ru_majflt;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* q[0..4] = min, p25, median, p75, max of v[0..n) (linear interpolation) */
static void
quantiles(const double *v, int n, double q[5])
{
	double s[KB_MAXROUNDS];
	static const double at[5] = { 0, 0.25, 0.5, 0.75, 1 };

	if (n <= 0) {
		for (int i = 0; i < 5; i++)
			q[i] = NAN;
		return;
	}
	memcpy(s, v, (size_t)n * sizeof(double));
	qsort(s, (size_t)n, sizeof(double), cmp_double);
	for (int i = 0; i < 5; i++) {
		double pos = at[i] * (n - 1);
		int lo = (int)pos;
		double f = pos - lo;

		q[i] = lo + 1 < n ? s[lo] * (1 - f) + s[lo + 1] * f : s[lo];
	}
}

/* splitmix64: small, good enough, and the same on every machine */
static inline uint64_t
rnd_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline unsigned
rnd_below(uint64_t *s, unsigned n)
{
	return (unsigned)(rnd_next(s) % n);
}

/* write one byte in each of npages pages at p (the user's first touch) */
static inline void
touch_pages(uintptr_t p, size_t npages, unsigned long seq)
{
	volatile unsigned char *c = (volatile unsigned char *)p;
	size_t off = (seq * 64) & (size_t)(kb_pagesize - 1);

	for (size_t i = 0; i < npages; i++)
		c[i * (size_t)kb_pagesize + off] = (unsigned char)(seq + i + 1);
}

/* ------------------------------------------------------------------ */
/* The timing harness. */

typedef void (*kb_batch_fn)(void *ctx, long iters);

struct kb_side {
	kb_batch_fn fn;
	void *ctx;
	long iters;
	double per_iter[KB_MAXROUNDS];	/* ns per iteration, by round */
	long faults, hostcalls;		/* over all timed batches */
	long total_iters;
};

static double
time_batch(struct kb_side *s, long iters, int count)
{
	long f0 = 0, h0 = 0;
	double t0, t1;

	if (count) {
		f0 = minflt_now();
		h0 = uvmexp.hostcalls;
	}
	t0 = now_ns();
	s->fn(s->ctx, iters);
	t1 = now_ns();
	if (count) {
		s->faults += minflt_now() - f0;
		s->hostcalls += uvmexp.hostcalls - h0;
		s->total_iters += iters;
	}
	return t1 - t0;
}

/* warm up, and choose iters so that a batch takes about opt.batch_ns */
static void
calibrate(struct kb_side *s)
{
	long it = 1;
	double t;

	for (;;) {
		t = time_batch(s, it, 0);
		if (t >= 4e6 || it >= (1L << 26))
			break;
		it *= 2;
	}
	it = (long)((double)it * opt.batch_ns / (t > 1 ? t : 1));
	s->iters = it < 1 ? 1 : it;
}

/*
 * kb_measure_pair: time kva (k) against the baseline (b) in alternating
 * rounds and fill r's figures (ns per iteration).
 */
static void
kb_measure_pair(struct kb_side *k, struct kb_side *b, struct kb_result *r)
{
	double pr[KB_MAXROUNDS];
	int n = opt.rounds;

	calibrate(k);
	calibrate(b);
	/* one full batch each before the clock counts */
	(void)time_batch(k, k->iters, 0);
	(void)time_batch(b, b->iters, 0);
	for (int i = 0; i < n; i++) {
		if ((i & 1) == 0) {
			k->per_iter[i] = time_batch(k, k->iters, 1) / (double)k->iters;
			b->per_iter[i] = time_batch(b, b->iters, 1) / (double)b->iters;
		} else {
			b->per_iter[i] = time_batch(b, b->iters, 1) / (double)b->iters;
			k->per_iter[i] = time_batch(k, k->iters, 1) / (double)k->iters;
		}
		pr[i] = k->per_iter[i] / b->per_iter[i];
	}
	quantiles(k->per_iter, n, r->kva_q);
	quantiles(b->per_iter, n, r->base_q);
	quantiles(pr, n, r->pratio_q);
	r->kva = r->kva_q[2];
	r->base = r->base_q[2];
	r->ratio = r->kva / r->base;
	r->ratio_kind = "kva/base";
	r->unit = "ns/iter";
	r->rounds = n;
	r->iters_kva = k->iters;
	r->iters_base = b->iters;
}

static void
note_costs(struct kb_result *r, const struct kb_side *k,
    const struct kb_side *b)
{
	note_add(r, "per iter: kva %.2f host calls, %.2f faults; baseline "
	    "%.2f faults.  paired ratio p25..p75 %.3f..%.3f; IQR/median kva "
	    "%.0f%%, baseline %.0f%%",
	    (double)k->hostcalls / (double)k->total_iters,
	    (double)k->faults / (double)k->total_iters,
	    (double)b->faults / (double)b->total_iters,
	    r->pratio_q[1], r->pratio_q[3],
	    100 * (r->kva_q[3] - r->kva_q[1]) / r->kva,
	    100 * (r->base_q[3] - r->base_q[1]) / r->base);
}

/* ------------------------------------------------------------------ */
/* (a) uvm_km_alloc1(zeroed) + touch + uvm_km_free vs mmap + touch + munmap */

struct km_ctx {
	size_t npages;
	size_t size;
	unsigned long seq;
};

static void
km_zero_batch(void *arg, long iters)
{
	struct km_ctx *c = arg;

	for (long i = 0; i < iters; i++) {
		vm_offset_t va = uvm_km_alloc1(kernel_map, c->size, TRUE);

		if (va == 0)
			die("uvm_km_alloc1(kernel_map, %zu, TRUE) failed", c->size);
		touch_pages(va, c->npages, c->seq++);
		uvm_km_free(kernel_map, va, c->size);
	}
}

static void
mmap_touch_batch(void *arg, long iters)
{
	struct km_ctx *c = arg;

	for (long i = 0; i < iters; i++) {
		void *p = mmap(NULL, c->size, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			die("mmap(%zu): %s", c->size, strerror(errno));
		touch_pages((uintptr_t)p, c->npages, c->seq++);
		if (munmap(p, c->size) != 0)
			die("munmap: %s", strerror(errno));
	}
}

/* zeroed memory must read zero, also when its pages are recycled */
static void
km_zero_check(size_t size)
{
	for (int round = 0; round < 4; round++) {
		vm_offset_t va = uvm_km_alloc1(kernel_map, size, TRUE);
		const unsigned char *c = (const unsigned char *)va;

		if (va == 0)
			die("uvm_km_alloc1(kernel_map, %zu, TRUE) failed", size);
		for (size_t i = 0; i < size; i++)
			if (c[i] != 0)
				die("uvm_km_alloc1(%zu, TRUE): byte %zu of the "
				    "block is %#x, not zero (round %d)", size, i,
				    c[i], round);
		memset((void *)va, 0xa5, size);
		uvm_km_free(kernel_map, va, size);
	}
}

static int
bench_km_zero(const struct kb_bench *bn, struct kb_result *r)
{
	struct km_ctx kc = { bn->arg, bn->arg * (size_t)kb_pagesize, 1 };
	struct km_ctx bc = kc;
	struct kb_side k = { .fn = km_zero_batch, .ctx = &kc };
	struct kb_side b = { .fn = mmap_touch_batch, .ctx = &bc };

	km_zero_check(kc.size);
	kb_measure_pair(&k, &b, r);
	note_add(r, "per page: kva %.3f us, mmap %.3f us.  ",
	    r->kva / 1e3 / (double)kc.npages, r->base / 1e3 / (double)kc.npages);
	note_costs(r, &k, &b);
	return 0;
}

/* ------------------------------------------------------------------ */
/* (b) uvm_km_alloc_poolpage + touch + free vs mmap of a page + touch + munmap */

static void
poolpage_batch(void *arg, long iters)
{
	struct km_ctx *c = arg;

	for (long i = 0; i < iters; i++) {
		vm_offset_t va = uvm_km_alloc_poolpage();

		if (va == 0)
			die("uvm_km_alloc_poolpage failed");
		touch_pages(va, 1, c->seq++);
		uvm_km_free_poolpage(va);
	}
}

static int
bench_poolpage(const struct kb_bench *bn, struct kb_result *r)
{
	struct km_ctx kc = { 1, (size_t)kb_pagesize, 1 };
	struct km_ctx bc = kc;
	struct kb_side k = { .fn = poolpage_batch, .ctx = &kc };
	struct kb_side b = { .fn = mmap_touch_batch, .ctx = &bc };
	vm_offset_t va;

	(void)bn;
	/* a pool page is a whole, writable, page-aligned page */
	va = uvm_km_alloc_poolpage();
	if (va == 0 || (va & (vm_offset_t)(kb_pagesize - 1)) != 0)
		die("uvm_km_alloc_poolpage returned %#lx", (unsigned long)va);
	memset((void *)va, 0x5a, (size_t)kb_pagesize);
	kb_sink += ((volatile unsigned char *)va)[kb_pagesize - 1];
	uvm_km_free_poolpage(va);

	kb_measure_pair(&k, &b, r);
	note_costs(r, &k, &b);
	return 0;
}

/* ------------------------------------------------------------------ */
/* (c) host VMAs in the kernel VA after a random alloc/free pattern */

struct maps_count {
	long total;		/* VMAs of the whole process */
	long in_range;		/* VMAs meeting [lo, hi) */
	long in_range_none;	/* of which PROT_NONE */
	size_t mapped;		/* bytes of [lo, hi) in VMAs not PROT_NONE */
};

/*
 * maps_scan: count VMAs in /proc/self/maps.  Reads through a fixed
 * buffer: no allocation, so counting does not change the count.
 */
static void
maps_scan(uintptr_t lo, uintptr_t hi, struct maps_count *mc)
{
	static char buf[1 << 16];
	size_t have = 0;
	ssize_t n;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

	memset(mc, 0, sizeof(*mc));
	if (fd < 0)
		die("open /proc/self/maps: %s", strerror(errno));
	for (;;) {
		char *line, *nl;

		n = read(fd, buf + have, sizeof(buf) - 1 - have);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("read /proc/self/maps: %s", strerror(errno));
		}
		have += (size_t)n;
		buf[have] = '\0';
		line = buf;
		while ((nl = memchr(line, '\n', have - (size_t)(line - buf))) != NULL) {
			unsigned long s, e;
			char perms[5];

			*nl = '\0';
			if (sscanf(line, "%lx-%lx %4s", &s, &e, perms) == 3) {
				mc->total++;
				if (s < hi && e > lo) {
					uintptr_t cs = s > lo ? s : lo;
					uintptr_t ce = e < hi ? e : hi;

					mc->in_range++;
					if (strncmp(perms, "---", 3) == 0)
						mc->in_range_none++;
					else
						mc->mapped += ce - cs;
				}
			}
			line = nl + 1;
		}
		have -= (size_t)(line - buf);
		memmove(buf, line, have);
		if (n == 0)
			break;
		if (have == sizeof(buf) - 1)
			die("/proc/self/maps: line too long");
	}
	close(fd);
}

struct blk {
	uintptr_t va;
	size_t npages;
};

struct vma_run {
	size_t live_bytes;
	size_t nlive;
	size_t allocated;
	long nallocs, nfrees;
};

/*
 * vma_pattern: random allocations of 1-64 pages (touched, not zeroed)
 * and frees of random live blocks until `total` bytes were allocated;
 * the live set wanders around live_target.  use_kva: uvm_km_alloc1 and
 * uvm_km_free, else anonymous mmap and munmap.
 */
static void
vma_pattern(int use_kva, uint64_t seed, size_t total, size_t live_target,
    struct blk *blks, size_t maxblks, struct vma_run *run)
{
	uint64_t rs = seed;
	size_t pg = (size_t)kb_pagesize;

	memset(run, 0, sizeof(*run));
	while (run->allocated < total) {
		unsigned pct = run->live_bytes < live_target ? 75 : 35;

		if (run->nlive == 0 ||
		    (run->nlive < maxblks && rnd_below(&rs, 100) < pct)) {
			size_t np = 1 + rnd_below(&rs, 64), sz = np * pg;
			uintptr_t va;

			if (use_kva) {
				va = uvm_km_alloc1(kernel_map, sz, FALSE);
				if (va == 0)
					die("uvm_km_alloc1(%zu, FALSE) failed with "
					    "%zu bytes live in %zu blocks", sz,
					    run->live_bytes, run->nlive);
			} else {
				void *p = mmap(NULL, sz, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
				if (p == MAP_FAILED)
					die("mmap(%zu): %s", sz, strerror(errno));
				va = (uintptr_t)p;
			}
			touch_pages(va, np, (unsigned long)run->nallocs);
			blks[run->nlive].va = va;
			blks[run->nlive].npages = np;
			run->nlive++;
			run->live_bytes += sz;
			run->allocated += sz;
			run->nallocs++;
		} else {
			size_t i = rnd_below(&rs, (unsigned)run->nlive);
			size_t sz = blks[i].npages * pg;

			/* the first byte of each block must still be there */
			kb_sink += *(volatile unsigned char *)blks[i].va;
			if (use_kva)
				uvm_km_free(kernel_map, blks[i].va, sz);
			else if (munmap((void *)blks[i].va, sz) != 0)
				die("munmap: %s", strerror(errno));
			run->live_bytes -= sz;
			blks[i] = blks[--run->nlive];
			run->nfrees++;
		}
	}
}

static void
vma_release(int use_kva, struct blk *blks, struct vma_run *run)
{
	size_t pg = (size_t)kb_pagesize;

	while (run->nlive > 0) {
		struct blk *b = &blks[--run->nlive];

		if (use_kva)
			uvm_km_free(kernel_map, b->va, b->npages * pg);
		else
			(void)munmap((void *)b->va, b->npages * pg);
	}
	run->live_bytes = 0;
}

/* the bootstrap region: the entry at the start of kernel_map, no object */
static int
boot_entry(const struct vm_map_entry *e, void *arg)
{
	vaddr_t *end = arg;

	if (e->start == vm_map_min(kernel_map) && !UVM_ET_ISSUBMAP(e) &&
	    e->object.uvm_obj == NULL)
		*end = e->end;
	return 1;
}

/* kb_set_rounds: r's medians and paired ratio from n rounds of kva,
 * baseline and per-round ratio values */
static void
kb_set_rounds(struct kb_result *r, const double *kv, const double *bv,
    const double *pr, int n, const char *ratio_kind, const char *unit)
{
	quantiles(kv, n, r->kva_q);
	quantiles(bv, n, r->base_q);
	quantiles(pr, n, r->pratio_q);
	r->kva = r->kva_q[2];
	r->base = r->base_q[2];
	r->ratio = r->pratio_q[2];
	r->ratio_kind = ratio_kind;
	r->unit = unit;
	r->rounds = n;
}

static int
bench_vmas(const struct kb_bench *bn, struct kb_result *r)
{
	/* --quick: a quarter of the pattern; the ratio hardly moves */
	const size_t total = opt.quick ? (size_t)256 << 20 : (size_t)1 << 30;
	const size_t live_target = opt.quick ? (size_t)96 << 20 :
	    (size_t)384 << 20;
	const double unit64k = 65536.0, gib = 1073741824.0;
	size_t maxblks = total / (size_t)kb_pagesize;
	struct blk *blks;
	vaddr_t kmin = vm_map_min(kernel_map), kmax = vm_map_max(kernel_map);
	vaddr_t boot_end = kmin;
	double kv[KB_MAXROUNDS], bv[KB_MAXROUNDS], k64[KB_MAXROUNDS];
	struct maps_count idle, mc, before, after;
	long pmap_mismatch = 0, idle_hostmaps;
	int n = opt.vma_rounds;

	(void)bn;
	blks = mmap(NULL, maxblks * sizeof(*blks), PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (blks == MAP_FAILED)
		die("mmap of the block table: %s", strerror(errno));
	(void)uvm_map_foreach(kernel_map, boot_entry, &boot_end);
	kva_drain();
	maps_scan(boot_end, kmax, &idle);
	idle_hostmaps = uvmexp.hostmaps;

	for (int i = 0; i < n; i++) {
		struct vma_run kr, br;
		struct maps_count all;
		long pmap_view;

		/* kva */
		vma_pattern(1, opt.seed + (uint64_t)i, total, live_target, blks,
		    maxblks, &kr);
		kva_drain();
		maps_scan(boot_end, kmax, &mc);
		maps_scan(kmin, kmax, &all);
		/* hostmaps counts 2 VMAs of the direct map besides the kernel VA */
		pmap_view = uvmexp.hostmaps - 2;
		if (labs(pmap_view - all.in_range) > pmap_mismatch)
			pmap_mismatch = labs(pmap_view - all.in_range);
		kv[i] = (double)mc.in_range / ((double)mc.mapped / gib);
		k64[i] = (double)mc.in_range / ((double)mc.mapped / unit64k);
		if (i == n / 2 || opt.verbose) {
			if (opt.verbose)
				printf("  vmas round %d: ", i);
			if (i == n / 2) {
				note_add(r, "ratio = kva VMAs per 64 KiB mapped; "
				    "pattern: %zu MiB allocated in all, live target "
				    "%zu MiB, seed %" PRIu64 ".  kva (round %d): %ld VMAs (%ld PROT_NONE) over %.1f "
				    "MiB mapped, live set %.1f MiB in %zu blocks "
				    "after %ld allocs/%ld frees; uvmexp.hostmaps "
				    "%ld (kernel VA part %ld) vs /proc %ld; ",
				    total >> 20, live_target >> 20,
				    opt.seed + (uint64_t)i, i,
				    mc.in_range, mc.in_range_none,
				    (double)mc.mapped / 1048576.0,
				    (double)kr.live_bytes / 1048576.0, kr.nlive,
				    kr.nallocs, kr.nfrees, uvmexp.hostmaps,
				    pmap_view, all.in_range);
			}
			if (opt.verbose)
				printf("kva %ld VMAs (%ld none), %.1f MiB mapped, "
				    "live %.1f MiB, hostmaps %ld, /proc %ld\n",
				    mc.in_range, mc.in_range_none,
				    (double)mc.mapped / 1048576.0,
				    (double)kr.live_bytes / 1048576.0,
				    uvmexp.hostmaps, all.in_range);
		}
		if (mc.mapped != kr.live_bytes)
			note_add(r, "round %d: mapped %zu bytes != live %zu; ", i,
			    mc.mapped, kr.live_bytes);
		vma_release(1, blks, &kr);
		kva_drain();

		/* the baseline: mmap per allocation, the same pattern */
		maps_scan(0, 0, &before);
		vma_pattern(0, opt.seed + (uint64_t)i, total, live_target, blks,
		    maxblks, &br);
		maps_scan(0, 0, &after);
		bv[i] = (double)(after.total - before.total) /
		    ((double)br.live_bytes / gib);
		if (i == n / 2)
			note_add(r, "mmap: %ld new VMAs over %.1f MiB live in %zu "
			    "blocks (%.3f VMAs per 64 KiB)",
			    after.total - before.total,
			    (double)br.live_bytes / 1048576.0, br.nlive,
			    (double)(after.total - before.total) /
			    ((double)br.live_bytes / unit64k));
		vma_release(0, blks, &br);
	}
	kva_drain();
	maps_scan(boot_end, kmax, &mc);
	if (mc.in_range != idle.in_range || uvmexp.hostmaps != idle_hostmaps)
		note_add(r, "; after freeing all: %ld VMAs in kernel VA (%ld "
		    "before), hostmaps %ld (%ld before)", mc.in_range,
		    idle.in_range, uvmexp.hostmaps, idle_hostmaps);
	if (pmap_mismatch > 2)
		note_add(r, "; WARNING: pmap's VMA count is off the host's by "
		    "up to %ld", pmap_mismatch);
	munmap(blks, maxblks * sizeof(*blks));

	kb_set_rounds(r, kv, bv, k64, n, "kva VMA/64KiB", "VMA/GiB");
	r->iters_kva = r->iters_base = (long)(total / (size_t)kb_pagesize);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The table. */

/* ------------------------------------------------------------------ */
/* (d) demand paging: first touch of uvm_km_valloc memory, in sequential
 * and in random page order, vs a fresh anonymous mmap touched the same
 * way (the host's own first-touch faults). */

struct vt_ctx {
	size_t size, npages;
	uint32_t *order;		/* page order, or NULL: sequential */
	long maps_after;		/* host mappings in the range, last time */
};

/* host mappings that hold pages inside [lo, hi) */
static long
count_maps_range(uintptr_t lo, uintptr_t hi)
{
	struct maps_count mc;

	maps_scan(lo, hi, &mc);
	return mc.in_range - mc.in_range_none;
}

static void
touch_order(uintptr_t base, const struct vt_ctx *c)
{
	volatile unsigned char *p = (volatile unsigned char *)base;

	for (size_t i = 0; i < c->npages; i++) {
		size_t pg = c->order != NULL ? c->order[i] : i;
		p[pg * (size_t)kb_pagesize] = (unsigned char)(pg + 1);
	}
}

static void
valloc_touch_batch(void *arg, long iters)
{
	struct vt_ctx *c = arg;

	for (long i = 0; i < iters; i++) {
		vm_offset_t va = uvm_km_valloc(kernel_map, c->size);

		if (va == 0)
			die("uvm_km_valloc(kernel_map, %zu) failed", c->size);
		touch_order(va, c);
		if (i == iters - 1)
			c->maps_after = count_maps_range(va, va + c->size);
		uvm_km_free(kernel_map, va, c->size);
	}
}

static void
anon_touch_batch(void *arg, long iters)
{
	struct vt_ctx *c = arg;

	for (long i = 0; i < iters; i++) {
		void *p = mmap(NULL, c->size, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			die("mmap(%zu): %s", c->size, strerror(errno));
		touch_order((uintptr_t)p, c);
		if (munmap(p, c->size) != 0)
			die("munmap: %s", strerror(errno));
	}
}

static int
bench_valloc_touch(const struct kb_bench *bn, struct kb_result *r)
{
	struct vt_ctx kc = { (size_t)64 << 20, ((size_t)64 << 20) /
	    (size_t)kb_pagesize, NULL, 0 };
	struct vt_ctx bc;
	struct kb_side k = { .fn = valloc_touch_batch, .ctx = &kc };
	struct kb_side b = { .fn = anon_touch_batch, .ctx = &bc };
	uint32_t *order = NULL;
	vm_offset_t va;

	if (bn->arg) {			/* random order: a fixed permutation */
		uint64_t x = opt.seed * 2654435761u + 1;

		order = malloc(kc.npages * sizeof(*order));
		if (order == NULL)
			die("out of memory");
		for (size_t i = 0; i < kc.npages; i++)
			order[i] = (uint32_t)i;
		for (size_t i = kc.npages - 1; i > 0; i--) {
			size_t j;
			uint32_t t;

			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			j = (size_t)(x % (i + 1));
			t = order[i];
			order[i] = order[j];
			order[j] = t;
		}
		kc.order = order;
	}
	bc = kc;
	/* the memory really is zero-filled on first touch */
	va = uvm_km_valloc(kernel_map, kc.size);
	for (size_t i = 0; i < kc.npages; i += 97)
		if (((volatile unsigned char *)va)[i * (size_t)kb_pagesize + 5])
			die("uvm_km_valloc: page %zu not zero on first touch", i);
	uvm_km_free(kernel_map, va, kc.size);

	kb_measure_pair(&k, &b, r);
	r->npages = (double)kc.npages;
	note_add(r, "per page: kva %.3f us, anonymous mmap %.3f us; host "
	    "mappings after the touch: %ld for %zu MiB (%.1f per GiB).  ",
	    r->kva / 1e3 / (double)kc.npages, r->base / 1e3 / (double)kc.npages,
	    kc.maps_after, kc.size >> 20,
	    (double)kc.maps_after * (double)(1 << 30) / (double)kc.size);
	note_costs(r, &k, &b);
	free(order);
	return 0;
}


/* ------------------------------------------------------------------ */
/* (e) the background zeroer: memory given back, a free-then-alloc loop
 * with and without decommit, zeroed allocations with and without the
 * pre-zeroed queue.  Two kva configurations cannot live in one process,
 * so each side is a forked child that re-initialises kva with its own
 * options and times batches on request; the parent alternates them. */

static char kb_base_options[512];	/* main's options, for the children */

typedef double (*kb_rbatch_fn)(void *ctx, long iters);	/* => ns timed */

struct kb_remote {
	pid_t pid;
	int cmd, res;			/* parent's ends of the pipes */
};

static void
kb_xwrite(int fd, const void *buf, size_t len)
{
	if (write(fd, buf, len) != (ssize_t)len)
		die("kvabench: pipe write: %s", strerror(errno));
}

static int
kb_xread(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

/* kb_rekva: in a forked child, kva again with options base,extra */
static void
kb_rekva(const char *base, const char *extra)
{
	static char options[768];
	struct kva_config cfg;
	int error;

	kva_fini();
	snprintf(options, sizeof(options), "%s%s%s", base,
	    base[0] != '\0' && extra[0] != '\0' ? "," : "", extra);
	memset(&cfg, 0, sizeof(cfg));
	cfg.options = options;
	error = kva_init(&cfg);
	if (error != 0)
		die("kva_init(%s) in a child: %s", options, strerror(error));
}

static void
kb_remote_start(struct kb_remote *r, const char *extra, kb_rbatch_fn fn,
    void *ctx)
{
	int c[2], d[2];

	if (pipe(c) != 0 || pipe(d) != 0)
		die("pipe: %s", strerror(errno));
	fflush(NULL);
	r->pid = fork();
	if (r->pid < 0)
		die("fork: %s", strerror(errno));
	if (r->pid == 0) {
		long iters;

		close(c[1]);
		close(d[0]);
		kb_rekva(kb_base_options, extra);
		while (kb_xread(c[0], &iters, sizeof(iters)) == 0 && iters > 0) {
			double ns = fn(ctx, iters);

			kb_xwrite(d[1], &ns, sizeof(ns));
		}
		kva_fini();
		_exit(0);
	}
	close(c[0]);
	close(d[1]);
	r->cmd = c[1];
	r->res = d[0];
}

static double
kb_remote_run(struct kb_remote *r, long iters)
{
	double ns;

	kb_xwrite(r->cmd, &iters, sizeof(iters));
	if (kb_xread(r->res, &ns, sizeof(ns)) != 0)
		die("kvabench: a benchmark child died");
	return ns;
}

static void
kb_remote_stop(struct kb_remote *r)
{
	long zero = 0;
	int status;

	kb_xwrite(r->cmd, &zero, sizeof(zero));
	close(r->cmd);
	close(r->res);
	(void)waitpid(r->pid, &status, 0);
}

/* kb_remote_pair: like kb_measure_pair, the sides being children that
 * time their own batches of iters iterations */
static void
kb_remote_pair(struct kb_remote *k, struct kb_remote *b, long iters,
    struct kb_result *r)
{
	double kv[KB_MAXROUNDS], bv[KB_MAXROUNDS], pr[KB_MAXROUNDS];
	int n = opt.rounds;

	(void)kb_remote_run(k, iters);
	(void)kb_remote_run(b, iters);
	for (int i = 0; i < n; i++) {
		if ((i & 1) == 0) {
			kv[i] = kb_remote_run(k, iters) / (double)iters;
			bv[i] = kb_remote_run(b, iters) / (double)iters;
		} else {
			bv[i] = kb_remote_run(b, iters) / (double)iters;
			kv[i] = kb_remote_run(k, iters) / (double)iters;
		}
		pr[i] = kv[i] / bv[i];
	}
	quantiles(kv, n, r->kva_q);
	quantiles(bv, n, r->base_q);
	quantiles(pr, n, r->pratio_q);
	r->kva = r->kva_q[2];
	r->base = r->base_q[2];
	r->ratio = r->kva / r->base;
	r->ratio_kind = "kva/base";
	r->unit = "ns/iter";
	r->rounds = n;
	r->iters_kva = r->iters_base = iters;
}

/* kb_remote_compare: two children, one booted with each set of options
 * extra to main's, timed against each other by kb_remote_pair */
static void
kb_remote_compare(const char *kopts, kb_rbatch_fn kfn, void *kctx,
    const char *bopts, kb_rbatch_fn bfn, void *bctx, long iters,
    struct kb_result *r)
{
	struct kb_remote k, b;

	kb_remote_start(&k, kopts, kfn, kctx);
	kb_remote_start(&b, bopts, bfn, bctx);
	kb_remote_pair(&k, &b, iters, r);
	kb_remote_stop(&k);
	kb_remote_stop(&b);
}

/* a batch of uvm_km_alloc1(npages) + touch + free, timed whole */
struct fa_ctx {
	size_t npages;
	boolean_t zeroit;
	int drain;		/* kva_drain (untimed) before the batch */
	unsigned long seq;
};

static double
fa_batch(void *arg, long iters)
{
	struct fa_ctx *c = arg;
	size_t size = c->npages * (size_t)kb_pagesize;
	double t0;

	if (c->drain)
		kva_drain();
	t0 = now_ns();
	for (long i = 0; i < iters; i++) {
		vm_offset_t va = uvm_km_alloc1(kernel_map, size, c->zeroit);

		if (va == 0)
			die("uvm_km_alloc1(%zu) failed", size);
		touch_pages(va, c->npages, c->seq++);
		uvm_km_free(kernel_map, va, size);
	}
	return now_ns() - t0;
}

/* free-then-alloc of 16 pages: the default punch delay vs decommit off */
static int
bench_free_alloc(const struct kb_bench *bn, struct kb_result *r)
{
	struct fa_ctx c = { bn->arg, FALSE, 0, 1 };
	long iters = opt.quick ? 2000 : 20000;

	kb_remote_compare("", fa_batch, &c, "decommit=0", fa_batch, &c, iters, r);
	note_add(r, "uvm_km_alloc1(%zu pages) + touch + uvm_km_free in a "
	    "loop, %ld per batch; kva: the default decommit delay; baseline: "
	    "kva with decommit=0.  Paired ratio p25..p75 %.3f..%.3f", bn->arg,
	    iters, r->pratio_q[1], r->pratio_q[3]);
	return 0;
}

/* uvm_km_zalloc(16 pages) with the pre-zeroed queue warm vs prezero=0 */
static int
bench_zalloc_prezero(const struct kb_bench *bn, struct kb_result *r)
{
	struct fa_ctx c = { bn->arg, TRUE, 1, 1 };
	/* a batch fits in the queue (64 MiB): it is refilled between them */
	long iters = (long)(((size_t)32 << 20) /
	    (bn->arg * (size_t)kb_pagesize));

	kb_remote_compare("", fa_batch, &c, "prezero=0", fa_batch, &c, iters, r);
	note_add(r, "uvm_km_zalloc(%zu pages) + touch + free, %ld per batch, "
	    "kva_drain (untimed) before each batch; kva: pre-zeroed queue "
	    "(default target), baseline: prezero=0.  Paired ratio p25..p75 "
	    "%.3f..%.3f", bn->arg, iters, r->pratio_q[1], r->pratio_q[3]);
	return 0;
}

/* first touch of 64 MiB of uvm_km_valloc memory, in order, after the
 * same memory was used and freed; only the touch is timed */
struct vq_ctx {
	size_t size;
};

static double
vq_batch(void *arg, long iters)
{
	struct vq_ctx *c = arg;
	size_t npages = c->size / (size_t)kb_pagesize;
	double ns = 0;

	for (long i = 0; i < iters; i++) {
		vm_offset_t va = uvm_km_valloc(kernel_map, c->size);
		volatile unsigned char *p = (volatile unsigned char *)va;
		double t0;

		if (va == 0)
			die("uvm_km_valloc(%zu) failed", c->size);
		kva_drain();
		t0 = now_ns();
		for (size_t j = 0; j < npages; j++)
			p[j * (size_t)kb_pagesize] = (unsigned char)(j + 1);
		ns += now_ns() - t0;
		uvm_km_free(kernel_map, va, c->size);
	}
	return ns;
}

/* cold first touch: kva with warm=0 (no host mapping kept aside to move
 * back in) against anonymous memory, each in a child of its own */
struct vc_ctx {
	struct vt_ctx vt;
	void (*fn)(void *, long);	/* valloc_ or anon_touch_batch */
};

static double
vc_batch(void *arg, long iters)
{
	struct vc_ctx *c = arg;
	double t0 = now_ns();

	c->fn(&c->vt, iters);
	return now_ns() - t0;
}

static int
bench_valloc_cold(const struct kb_bench *bn, struct kb_result *r)
{
	struct vc_ctx kc = { { (size_t)64 << 20, ((size_t)64 << 20) /
	    (size_t)kb_pagesize, NULL, 0 }, valloc_touch_batch };
	struct vc_ctx bc = { kc.vt, anon_touch_batch };

	(void)bn;
	kb_remote_compare("warm=0", vc_batch, &kc, "", vc_batch, &bc, opt.quick ? 1 : 2, r);
	note_add(r, "per page: kva %.3f us, anonymous mmap %.3f us.  kva: "
	    "warm=0, so every page is mapped afresh and its first touch "
	    "exits to the hypervisor on a shadow-paging host "
	    "(tools/hostcost).  Paired ratio p25..p75 %.3f..%.3f",
	    r->kva / 1e3 / (double)kc.vt.npages,
	    r->base / 1e3 / (double)kc.vt.npages, r->pratio_q[1],
	    r->pratio_q[3]);
	return 0;
}

static int
bench_valloc_prezero(const struct kb_bench *bn, struct kb_result *r)
{
	struct vq_ctx c = { (size_t)64 << 20 };
	size_t npages = c.size / (size_t)kb_pagesize;

	(void)bn;
	kb_remote_compare("", vq_batch, &c, "prezero=0", vq_batch, &c, opt.quick ? 1 : 2, r);
	note_add(r, "per page: kva %.3f us, baseline %.3f us.  kva: pre-zeroed "
	    "queue (64 MiB default target; kva_drain before the touch); "
	    "baseline: prezero=0.  Paired ratio p25..p75 %.3f..%.3f",
	    r->kva / 1e3 / (double)npages, r->base / 1e3 / (double)npages,
	    r->pratio_q[1], r->pratio_q[3]);
	return 0;
}

/* memory returned: held memory 2 s after freeing 1 GiB */

/* kb_status_kb: a field of /proc/self/status, KiB; 0 if absent */
static long
kb_status_kb(const char *field)
{
	char line[256];
	size_t len = strlen(field);
	long v = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, len) == 0 && line[len] == ':')
			v = atol(line + len + 1);
	fclose(f);
	return v;
}

/* kb_memfd_bytes: what kva's physical-memory memfd holds; 0 if none */
static long
kb_memfd_bytes(void)
{
	char path[64], target[128];
	long held = 0;

	for (int fd = 0; fd < 1024; fd++) {
		struct stat st;
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strncmp(target, "/memfd:kva-physmem", 18) == 0 &&
		    fstat(fd, &st) == 0)
			held += (long)st.st_blocks * 512;
	}
	return held;
}

/* held: RSS, with the memfd counted by what it holds rather than by
 * what is mapped of it (free frames are in it, mapped nowhere) */
static double
kb_held(void)
{
	return (double)(kb_status_kb("VmRSS") - kb_status_kb("RssShmem")) *
	    1024.0 + (double)kb_memfd_bytes();
}

#define MR_TOTAL	((size_t)1 << 30)
#define MR_MAXBLK	16384

struct mr_result {
	double held_pct, rss_pct;	/* % of the peak increase returned */
	double peak_mib;
};

/* mr_child: allocate 1 GiB in 64 KiB..1 MiB blocks, touch, free, wait
 * 2 s; report what came back.  kva: uvm_km_alloc1 with kva's real
 * defaults; else glibc malloc. */
static void __attribute__((noreturn))
mr_child(int use_kva, int fd)
{
	static void *blk[MR_MAXBLK];
	static size_t len[MR_MAXBLK];
	uint64_t seed = opt.seed * 7919 + 3;
	double h0, r0, h1, r1, h2, r2;
	struct mr_result res;
	size_t total = 0;
	int n = 0;

	if (use_kva)
		kb_rekva("", getenv("KVA_OPTIONS") != NULL ?
		    getenv("KVA_OPTIONS") : "");
	h0 = kb_held();
	r0 = (double)kb_status_kb("VmRSS") * 1024.0;
	while (total < MR_TOTAL && n < MR_MAXBLK) {
		size_t sz = ((size_t)16 + rnd_below(&seed, 241)) *
		    (size_t)kb_pagesize;	/* 64 KiB .. 1 MiB */

		if (use_kva)
			blk[n] = (void *)uvm_km_alloc1(kernel_map, sz, FALSE);
		else
			blk[n] = malloc(sz);
		if (blk[n] == NULL)
			die("memory returned: allocation of %zu failed", sz);
		memset(blk[n], 0x5a, sz);
		len[n++] = sz;
		total += sz;
	}
	h1 = kb_held();
	r1 = (double)kb_status_kb("VmRSS") * 1024.0;
	for (int i = 0; i < n; i++) {
		if (use_kva)
			uvm_km_free(kernel_map, (vm_offset_t)blk[i], len[i]);
		else
			free(blk[i]);
	}
	sleep(2);
	h2 = kb_held();
	r2 = (double)kb_status_kb("VmRSS") * 1024.0;
	res.held_pct = 100.0 * (h1 - h2) / (h1 - h0);
	res.rss_pct = 100.0 * (r1 - r2) / (r1 - r0);
	res.peak_mib = (h1 - h0) / (1 << 20);
	kb_xwrite(fd, &res, sizeof(res));
	if (use_kva)
		kva_fini();
	_exit(0);
}

/*
 * kb_in_child: run child(fd, arg) in a forked child, which writes len
 * bytes of result to fd and exits; read them into res.
 */
static void
kb_in_child(void (*child)(int fd, const void *arg), const void *arg,
    void *res, size_t len, const char *what)
{
	int p[2], status;
	pid_t pid;

	if (pipe(p) != 0)
		die("pipe: %s", strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		close(p[0]);
		child(p[1], arg);
		_exit(0);
	}
	close(p[1]);
	if (kb_xread(p[0], res, len) != 0)
		die("%s: the child died", what);
	close(p[0]);
	(void)waitpid(pid, &status, 0);
}

static void
mr_child_fn(int fd, const void *arg)
{
	mr_child(*(const int *)arg, fd);
}

static struct mr_result
mr_run(int use_kva)
{
	struct mr_result res;

	kb_in_child(mr_child_fn, &use_kva, &res, sizeof(res),
	    "memory returned");
	return res;
}

static int
bench_mem_returned(const struct kb_bench *bn, struct kb_result *r)
{
	double kv[KB_MAXROUNDS], bv[KB_MAXROUNDS], krss[KB_MAXROUNDS],
	    brss[KB_MAXROUNDS], q[5], peak = 0;
	int n = opt.quick ? 1 : 3;

	(void)bn;
	for (int i = 0; i < n; i++) {
		struct mr_result a = mr_run(1), b = mr_run(0);

		kv[i] = a.held_pct;
		krss[i] = a.rss_pct;
		bv[i] = b.held_pct;
		brss[i] = b.rss_pct;
		peak = a.peak_mib;
	}
	quantiles(kv, n, r->kva_q);
	quantiles(bv, n, r->base_q);
	r->kva = r->kva_q[2];
	r->base = r->base_q[2];
	/* the target: at most 10% of the memory kept */
	r->ratio = (100.0 - r->kva) / 100.0;
	r->ratio_kind = "kva kept";
	r->unit = "% returned";
	r->rounds = n;
	quantiles(krss, n, q);
	note_add(r, "1 GiB in 64 KiB..1 MiB blocks (uvm_km_alloc1 with kva's "
	    "default physmem; baseline glibc malloc), touched, freed; 2 s "
	    "later: held = RSS - RssShmem + the memfd's allocated blocks.  "
	    "Plain RSS returned: kva %.1f%%, ", q[2]);
	quantiles(brss, n, q);
	note_add(r, "glibc %.1f%%.  kva's peak %.0f MiB held", q[2], peak);
	return 0;
}
/* ------------------------------------------------------------------ */
/* (g) paging throughput: 128 MiB of uvm_km_valloc memory written and
 * read back through a 32 MiB physmem cap (the page daemon pages out to
 * swap, faults page in), against pwrite and pread of the same bytes to a
 * file in the same file system, in clusters of the same size.  Each side
 * runs in a forked child (kva with its own options). */

#define PG_TOTAL	((size_t)128 << 20)
#define PG_CLUSTER	((size_t)256 << 10)	/* the page daemon's cluster */

struct pg_result {
	double ns;		/* time of the run */
	double bytes;		/* bytes paged (kva) or moved (baseline) */
};

/*
 * pg_warm_host: write and drop a file as large as the run's I/O, in the
 * same directory.  A guest's first use of memory it has not used
 * lately is slow (the host backs it then): 128 MiB written to a new file
 * took 90-210 ms cold and 15 ms when the pages of a file just deleted
 * were reused.  Without this, whichever side ran second reused the
 * first one's page cache; both now start warm.
 */
/* pg_tmpfile: an unlinked temporary file in dir */
static int
pg_tmpfile(const char *dir, const char *what)
{
	char path[512];
	int f;

	snprintf(path, sizeof(path), "%s/kvabench-%s-XXXXXX", dir, what);
	f = mkstemp(path);
	if (f < 0)
		die("paging: temporary file in %s: %s", dir, strerror(errno));
	unlink(path);
	return f;
}

static void
pg_warm_host(const char *dir)
{
	size_t chunk = (size_t)1 << 20;
	char *buf = malloc(chunk);
	int f = pg_tmpfile(dir, "warm");

	if (buf == NULL)
		die("paging: out of memory");
	memset(buf, 0x33, chunk);
	for (size_t done = 0; done < 2 * PG_TOTAL; done += chunk)
		if (pwrite(f, buf, chunk, (off_t)done) != (ssize_t)chunk)
			die("paging: pwrite: %s", strerror(errno));
	close(f);
	free(buf);
}

static void __attribute__((noreturn))
pg_child(int use_kva, double bytes, int fd)
{
	const char *tmp = getenv("TMPDIR");
	const char *dir = tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp";
	struct pg_result res = { 0, 0 };

	if (use_kva) {
		vaddr_t va;
		long out0, in0;
		double t0;

		kb_rekva(kb_base_options, "physmem=32M,swapsize=512M");
		va = uvm_km_valloc(kernel_map, PG_TOTAL);
		if (va == 0)
			die("paging: uvm_km_valloc of %zu MiB", PG_TOTAL >> 20);
		out0 = uvmexp.pgswapout;
		in0 = uvmexp.pgswapin;
		pg_warm_host(dir);
		t0 = now_ns();
		for (size_t i = 0; i < PG_TOTAL; i += (size_t)PAGE_SIZE)
			memset((void *)(va + i), (int)(i >> 12) | 1,
			    (size_t)PAGE_SIZE);
		for (size_t i = 0; i < PG_TOTAL; i += (size_t)PAGE_SIZE)
			if (((volatile unsigned char *)va)[i + 7] !=
			    (unsigned char)((i >> 12) | 1))
				die("paging: page %zu lost", i >> 12);
		res.ns = now_ns() - t0;
		res.bytes = (double)(uvmexp.pgswapout - out0 +
		    uvmexp.pgswapin - in0) * (double)PAGE_SIZE;
		uvm_km_free(kernel_map, va, PG_TOTAL);
	} else {
		size_t half = (size_t)(bytes / 2), done;
		char *buf = aligned_alloc(4096, PG_CLUSTER);
		int f;
		double t0;

		pg_warm_host(dir);
		f = pg_tmpfile(dir, "paging");
		if (buf == NULL)
			die("paging: out of memory");
		memset(buf, 0x5a, PG_CLUSTER);
		t0 = now_ns();
		for (done = 0; done < half; done += PG_CLUSTER)
			if (pwrite(f, buf, PG_CLUSTER, (off_t)done) !=
			    (ssize_t)PG_CLUSTER)
				die("paging: pwrite: %s", strerror(errno));
		for (done = 0; done < half; done += PG_CLUSTER)
			if (pread(f, buf, PG_CLUSTER, (off_t)done) !=
			    (ssize_t)PG_CLUSTER)
				die("paging: pread: %s", strerror(errno));
		res.ns = now_ns() - t0;
		res.bytes = (double)(done * 2);
		close(f);
		free(buf);
	}
	if (write(fd, &res, sizeof(res)) != (ssize_t)sizeof(res))
		_exit(1);
	_exit(0);
}

struct pg_arg {
	int use_kva;
	double bytes;
};

static void
pg_child_fn(int fd, const void *arg)
{
	const struct pg_arg *a = arg;

	pg_child(a->use_kva, a->bytes, fd);
}

static struct pg_result
pg_run(int use_kva, double bytes)
{
	struct pg_arg a = { use_kva, bytes };
	struct pg_result res;

	kb_in_child(pg_child_fn, &a, &res, sizeof(res), "paging");
	return res;
}

static int
bench_paging(const struct kb_bench *bn, struct kb_result *r)
{
	double kv[KB_MAXROUNDS], bv[KB_MAXROUNDS], pr[KB_MAXROUNDS];
	double kbytes = 0;
	int n = opt.quick ? 1 : 5;

	(void)bn;
	for (int i = 0; i < n; i++) {
		struct pg_result a = pg_run(1, 0), b;

		b = pg_run(0, a.bytes);
		kv[i] = a.ns / a.bytes;		/* ns per byte paged */
		bv[i] = b.ns / b.bytes;
		pr[i] = kv[i] / bv[i];
		kbytes = a.bytes;
	}
	kb_set_rounds(r, kv, bv, pr, n, "kva/base time", "ns/byte");
	note_add(r, "128 MiB of uvm_km_valloc written and read back through "
	    "physmem=32M: %.0f MiB paged (out + in) per run; baseline pwrite + "
	    "pread of as many bytes in %zu KiB calls.  Throughput: kva %.0f "
	    "MB/s, files %.0f MB/s, ratio %.2f (target >= 0.7, i.e. time "
	    "ratio <= 1.43)", kbytes / 1048576.0, PG_CLUSTER >> 10,
	    1e3 / r->kva, 1e3 / r->base, 1.0 / r->ratio);
	return 0;
}

/* ------------------------------------------------------------------ */
/* (f) UVMHIST_LOG into a history that is off, or on, vs an empty loop */

static void
hist_empty_batch(void *arg, long iters)
{
	(void)arg;
	for (long i = 0; i < iters; i++)
		__asm__ volatile("" ::: "memory");
}

/* the history's flag is read from memory on every iteration (the
 * barrier), as it is in kernel code between other work */
static void
hist_log_batch(void *arg, long iters)
{
	struct kern_history *h = arg;
	UVMHIST_FUNC("kvabench");

	for (long i = 0; i < iters; i++) {
		UVMHIST_LOG(*h, "iteration %ld of %ld", i, iters, 0, 0);
		__asm__ volatile("" ::: "memory");
	}
}

static int
bench_hist(const struct kb_bench *bn, struct kb_result *r)
{
	struct kern_history *h = bn->arg ? &pdhist : &swaphist;
	struct kb_side k = { .fn = hist_log_batch, .ctx = h };
	struct kb_side b = { .fn = hist_empty_batch, .ctx = NULL };
	int was = h->enabled;

	if (uvmhist_set(h->name, (int)bn->arg) != 0)
		die("uvmhist_set(%s): no ring (kva_init failed?)", h->name);
	kb_measure_pair(&k, &b, r);
	(void)uvmhist_set(h->name, was);
	note_add(r, "%s %s: %.2f ns per log more than the empty loop "
	    "(%.2f ns per iteration).  ", h->name, bn->arg ? "on" : "off",
	    r->kva - r->base, r->base);
	note_costs(r, &k, &b);
	return 0;
}

static const struct kb_bench benches[] = {
	{ "km_alloc1_zero_1p", bench_km_zero, NAN, 1,
	  "uvm_km_alloc1(kernel_map, 1 page, TRUE) + touch + uvm_km_free "
	  "vs anonymous mmap + touch + munmap (informational)" },
	{ "km_alloc1_zero_16p", bench_km_zero, 0.7, 16,
	  "the same with 16 pages, one byte written per page" },
	{ "poolpage", bench_poolpage, 0.05, 1,
	  "uvm_km_alloc_poolpage + touch + uvm_km_free_poolpage vs "
	  "mmap of one page + touch + munmap" },
	{ "valloc_seq_touch_64m", bench_valloc_touch, 0.3, 0,
	    "first touch of 64 MiB of uvm_km_valloc memory, page by page in "
	    "order, + uvm_km_free, vs a fresh anonymous mmap touched the same "
	    "way + munmap (kva's defaults: the runs freed by one round come "
	    "back warm in the next; valloc_seq_touch_cold has them off)" },
	{ "valloc_rand_touch_64m", bench_valloc_touch, 1.5, 1,
	    "the same in random page order" },
	{ "vmas_per_gib", bench_vmas, 1.0, 0,
	  "random uvm_km_alloc1 of 1-64 pages and frees, 1 GiB in all: host "
	  "VMAs in the kernel VA per GiB mapped (target: <= 1 VMA per 64 KiB); "
	  "baseline: the same pattern with mmap/munmap" },
	{ "mem_returned_1g", bench_mem_returned, 0.10, 0,
	  "held memory 2 s after freeing 1 GiB of 64 KiB..1 MiB blocks: % "
	  "returned, kva vs glibc (target: kva keeps <= 10%)" },
	{ "free_alloc_16p_decommit", bench_free_alloc, 1.1, 16,
	  "uvm_km_alloc1(16 pages) + touch + free in a loop, default "
	  "decommit delay vs decommit=0" },
	{ "zalloc_16p_prezero", bench_zalloc_prezero, NAN, 16,
	  "uvm_km_zalloc(16 pages) + touch + free, pre-zeroed queue warm vs "
	  "prezero=0 (informational)" },
	{ "valloc_seq_touch_cold", bench_valloc_cold, NAN, 0,
	  "sequential first touch of a 64 MiB uvm_km_valloc with warm=0 "
	  "(no warm runs: every page mapped afresh) against a fresh "
	  "anonymous mmap (informational)" },
	{ "valloc_seq_touch_prezero", bench_valloc_prezero, NAN, 0,
	  "first touch in order of 64 MiB of reused uvm_km_valloc memory, "
	  "pre-zeroed queue warm vs prezero=0 (informational)" },
	{ "paging_128m", bench_paging, 1.0 / 0.7, 0,
	  "paging throughput: 128 MiB written and read back through "
	  "physmem=32M (page daemon, swap), time per byte paged vs pwrite + "
	  "pread of the same bytes (target: throughput >= 0.7x)" },
	{ "uvmhist_off", bench_hist, NAN, 0,
	  "UVMHIST_LOG into a history that is off vs an empty loop: one load "
	  "and one branch predicted not taken (informational)" },
	{ "uvmhist_on", bench_hist, NAN, 1,
	  "UVMHIST_LOG into a history that is on (slot claim, timestamp, "
	  "entry) vs an empty loop (informational)" },
};
#define NBENCH (sizeof(benches) / sizeof(benches[0]))

static int
selected(const char *name)
{
	const char *p = opt.only;
	size_t len = strlen(name);

	if (p == NULL)
		return 1;
	while (*p != '\0') {
		const char *e = strchr(p, ',');
		size_t n = e != NULL ? (size_t)(e - p) : strlen(p);

		if (n == len && strncmp(p, name, n) == 0)
			return 1;
		p += n + (e != NULL);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Output. */

static void
fmt_num(char *buf, size_t len, double v)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else if ((v < 0 ? -v : v) >= 1000)
		snprintf(buf, len, "%.0f", v);
	else if ((v < 0 ? -v : v) >= 10)
		snprintf(buf, len, "%.1f", v);
	else
		snprintf(buf, len, "%.3f", v);
}

static void
print_table(FILE *f, const struct kb_result *rs, int n)
{
	char a[32], b[32], c[32], t[32];

	fprintf(f, "\n%-20s %12s %12s  %-8s %9s %8s  %s\n", "benchmark",
	    "kva", "baseline", "unit", "ratio", "target", "verdict");
	for (int i = 0; i < n; i++) {
		const struct kb_result *r = &rs[i];

		fmt_num(a, sizeof(a), r->kva);
		fmt_num(b, sizeof(b), r->base);
		fmt_num(c, sizeof(c), r->ratio);
		if (isnan(r->target))
			snprintf(t, sizeof(t), "-");
		else
			snprintf(t, sizeof(t), "<=%.2f", r->target);
		fprintf(f, "%-20s %12s %12s  %-8s %9s %8s  %s\n", r->name, a,
		    b, r->unit, c, t, r->verdict);
	}
	fprintf(f, "\n");
	for (int i = 0; i < n; i++)
		if (rs[i].note[0] != '\0')
			fprintf(f, "%s: %s\n", rs[i].name, rs[i].note);
}

static void
json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void
json_num(FILE *f, double v)
{
	if (isnan(v) || isinf(v))
		fputs("null", f);
	else
		fprintf(f, "%.6g", v);
}

static void
json_q(FILE *f, const char *key, const double q[5])
{
	fprintf(f, ", \"%s\": [", key);
	for (int i = 0; i < 5; i++) {
		if (i > 0)
			fputs(", ", f);
		json_num(f, q[i]);
	}
	fputc(']', f);
}

static void
write_json(const char *path, const struct kb_result *rs, int n)
{
	FILE *f = fopen(path, "w");
	struct utsname u;

	if (f == NULL)
		die("%s: %s", path, strerror(errno));
	uname(&u);
	fprintf(f, "{\"kvabench\": 1, \"host\": ");
	json_str(f, u.release);
	fprintf(f, ", \"cpus\": %ld, \"pagesize\": %ld, \"physmem\": %lu, "
	    "\"kva\": %lu, \"quick\": %d, \"rounds\": %d,\n \"rows\": [\n",
	    sysconf(_SC_NPROCESSORS_ONLN), kb_pagesize,
	    (unsigned long)uvmexp.npages * (unsigned long)kb_pagesize,
	    kernel_map != NULL ? (unsigned long)(vm_map_max(kernel_map) -
	    vm_map_min(kernel_map)) : 0UL, opt.quick, opt.rounds);
	for (int i = 0; i < n; i++) {
		const struct kb_result *r = &rs[i];

		fprintf(f, "  {\"name\": ");
		json_str(f, r->name);
		fprintf(f, ", \"kva\": ");
		json_num(f, r->kva);
		fprintf(f, ", \"baseline\": ");
		json_num(f, r->base);
		fprintf(f, ", \"unit\": ");
		json_str(f, r->unit);
		fprintf(f, ", \"ratio\": ");
		json_num(f, r->ratio);
		fprintf(f, ", \"ratio_kind\": ");
		json_str(f, r->ratio_kind);
		fprintf(f, ", \"target\": ");
		json_num(f, r->target);
		fprintf(f, ", \"verdict\": ");
		json_str(f, r->verdict);
		fprintf(f, ", \"rounds\": %d, \"iters_kva\": %ld, "
		    "\"iters_baseline\": %ld", r->rounds, r->iters_kva,
		    r->iters_base);
		json_q(f, "kva_q", r->kva_q);
		json_q(f, "baseline_q", r->base_q);
		json_q(f, "ratio_q", r->pratio_q);
		fprintf(f, ", \"note\": ");
		json_str(f, r->note);
		fprintf(f, "}%s\n", i + 1 < n ? "," : "");
	}
	fprintf(f, " ]}\n");
	if (fclose(f) != 0)
		die("%s: %s", path, strerror(errno));
}

static void
csv_num(FILE *f, double v)
{
	if (!isnan(v) && !isinf(v))
		fprintf(f, "%.6g", v);
}

static void
write_csv(const char *path, const struct kb_result *rs, int n)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		die("%s: %s", path, strerror(errno));
	fprintf(f, "name,kva,baseline,unit,ratio,ratio_kind,target,verdict,"
	    "rounds,kva_p25,kva_p75,baseline_p25,baseline_p75,ratio_p25,"
	    "ratio_p75,note\n");
	for (int i = 0; i < n; i++) {
		const struct kb_result *r = &rs[i];
		const double *v[] = { &r->kva, &r->base };

		fprintf(f, "%s,", r->name);
		for (int j = 0; j < 2; j++) {
			csv_num(f, *v[j]);
			fputc(',', f);
		}
		fprintf(f, "%s,", r->unit);
		csv_num(f, r->ratio);
		fprintf(f, ",%s,", r->ratio_kind);
		csv_num(f, r->target);
		fprintf(f, ",%s,%d,", r->verdict, r->rounds);
		csv_num(f, r->kva_q[1]);
		fputc(',', f);
		csv_num(f, r->kva_q[3]);
		fputc(',', f);
		csv_num(f, r->base_q[1]);
		fputc(',', f);
		csv_num(f, r->base_q[3]);
		fputc(',', f);
		csv_num(f, r->pratio_q[1]);
		fputc(',', f);
		csv_num(f, r->pratio_q[3]);
		fputs(",\"", f);
		for (const char *s = r->note; *s != '\0'; s++) {
			if (*s == '"')
				fputc('"', f);
			fputc(*s, f);
		}
		fputs("\"\n", f);
	}
	if (fclose(f) != 0)
		die("%s: %s", path, strerror(errno));
}

/*
 * Plots (--plot DIR).  gnuplot reads "?" as a missing value.
 */
static FILE *
plot_open(const char *dir, const char *name, char *path, size_t len)
{
	FILE *f;

	snprintf(path, len, "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f == NULL)
		die("%s: %s", path, strerror(errno));
	return f;
}

static void
plot_close(FILE *f, const char *path)
{
	if (fclose(f) != 0)
		die("%s: %s", path, strerror(errno));
}

static void
plot_num(FILE *f, double v)
{
	if (isnan(v) || isinf(v))
		fputs(" ?", f);
	else
		fprintf(f, " %.6g", v);
}

/* run gnuplot on script in dir; 0, or -1 with a message */
static int
plot_run(const char *dir, const char *script)
{
	char *argv[] = { "gnuplot", (char *)script, NULL };
	extern char **environ;
	char cwd[4096];
	pid_t pid;
	int st, error;

	if (getcwd(cwd, sizeof(cwd)) == NULL || chdir(dir) != 0)
		die("%s: %s", dir, strerror(errno));
	error = posix_spawnp(&pid, "gnuplot", NULL, NULL, argv, environ);
	if (chdir(cwd) != 0)
		die("%s: %s", cwd, strerror(errno));
	if (error != 0) {
		fprintf(stderr, "kvabench: cannot run gnuplot (%s): the table "
		    "and data are in %s, the charts are not (Debian: "
		    "gnuplot-nox)\n", strerror(error), dir);
		return -1;
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0) {
		fprintf(stderr, "kvabench: gnuplot %s/%s failed\n", dir, script);
		return -1;
	}
	return 0;
}

static void
write_plot(const char *dir, const struct kb_result *rs, int n)
{
	char path[4096];
	FILE *f;
	int npaging = 0;

	if (mkdir(dir, 0777) != 0 && errno != EEXIST)
		die("%s: %s", dir, strerror(errno));

	f = plot_open(dir, "kvabench.txt", path, sizeof(path));
	print_table(f, rs, n);
	plot_close(f, path);

	f = plot_open(dir, "kvabench.dat", path, sizeof(path));
	fprintf(f, "# name ratio ratio_p25 ratio_p75 target kva baseline unit\n");
	for (int i = 0; i < n; i++) {
		fprintf(f, "%s", rs[i].name);
		plot_num(f, rs[i].ratio);
		plot_num(f, rs[i].pratio_q[1]);
		plot_num(f, rs[i].pratio_q[3]);
		plot_num(f, rs[i].target);
		plot_num(f, rs[i].kva);
		plot_num(f, rs[i].base);
		fprintf(f, " %s\n", rs[i].unit[0] != '\0' ? rs[i].unit : "-");
	}
	plot_close(f, path);

	f = plot_open(dir, "kvabench-paging.dat", path, sizeof(path));
	fprintf(f, "# order kva_us_per_page native_us_per_page ratio\n");
	for (int i = 0; i < n; i++) {
		if (rs[i].npages <= 0 || isnan(rs[i].kva))
			continue;
		fprintf(f, "%s", strstr(rs[i].name, "rand") != NULL ?
		    "random" : "in-order");
		plot_num(f, rs[i].kva / 1e3 / rs[i].npages);
		plot_num(f, rs[i].base / 1e3 / rs[i].npages);
		plot_num(f, rs[i].ratio);
		fputc('\n', f);
		npaging++;
	}
	plot_close(f, path);

	f = plot_open(dir, "kvabench.gp", path, sizeof(path));
	fprintf(f,
	    "# kvabench.gp: charts of kvabench.dat (written by kvabench --plot)\n"
	    "set terminal pngcairo noenhanced size 960,540 font 'sans,10'\n"
	    "set datafile missing '?'\n"
	    "set style fill solid 0.7 border -1\n"
	    "set grid ytics\n"
	    "set key top left\n"
	    "set output 'kvabench-ratio.png'\n"
	    "set title 'kvabench: kva / host baseline, median over rounds "
	    "(whiskers: p25-p75 of the per-round ratios; lower is better)'\n"
	    "set logscale y\n"
	    "set ylabel 'ratio kva / baseline (log scale)'\n"
	    "set xtics rotate by -20 nomirror\n"
	    "set style data histograms\n"
	    "set style histogram errorbars gap 2 lw 1\n"
	    "plot 'kvabench.dat' using 2:3:4:xtic(1) title 'kva / baseline' "
	    "lc rgb '#4477aa', \\\n"
	    "     '' using 0:5 with points pt 9 ps 2 lc rgb '#cc3311' "
	    "title 'target (at most)', \\\n"
	    "     1 with lines dt 2 lc rgb 'black' title 'parity'\n"
	    "unset logscale y\n");
	if (npaging > 0)
		fprintf(f,
		    "set output 'kvabench-paging.png'\n"
		    "set title 'Demand paging: first touch of 64 MiB, cost per "
		    "page'\n"
		    "set ylabel 'microseconds per page'\n"
		    "set yrange [0:*]\n"
		    "set xtics norotate\n"
		    "set style histogram clustered gap 1\n"
		    "plot 'kvabench-paging.dat' using 2:xtic(1) title "
		    "'kva (uvm_km_valloc, a fault per page)' lc rgb '#4477aa', "
		    "\\\n"
		    "     '' using 3 title 'native (anonymous mmap)' "
		    "lc rgb '#bbbbbb'\n");
	plot_close(f, path);

	if (plot_run(dir, "kvabench.gp") == 0)
		printf("kvabench: charts in %s: kvabench-ratio.png%s\n", dir,
		    npaging > 0 ? ", kvabench-paging.png" : "");
}

/* ------------------------------------------------------------------ */

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: kvabench [--quick] [--rounds N] [--only NAME[,NAME...]] "
	    "[--list]\n"
	    "                [--json FILE] [--csv FILE] [--plot DIR] "
	    "[--seed N] [--vma-rounds N] [--verbose]\n"
	    "KVA_OPTIONS applies after the defaults physmem=2G, kva=64G.\n");
}

static void
list_benches(void)
{
	for (size_t i = 0; i < NBENCH; i++) {
		char t[32];

		if (isnan(benches[i].target))
			snprintf(t, sizeof(t), "info");
		else
			snprintf(t, sizeof(t), "<=%.2f", benches[i].target);
		printf("%-20s %-7s %s\n", benches[i].name, t, benches[i].desc);
	}
}

int
main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "only", required_argument, NULL, 'o' },
		{ "list", no_argument, NULL, 'l' },
		{ "json", required_argument, NULL, 'j' },
		{ "csv", required_argument, NULL, 'c' },
		{ "plot", required_argument, NULL, 'p' },
		{ "seed", required_argument, NULL, 's' },
		{ "vma-rounds", required_argument, NULL, 'V' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct kb_result results[NBENCH];
	struct kva_config cfg;
	char options[512];
	const char *env;
	double t0;
	int ch, nres = 0, error, list = 0, rounds = 0, vrounds = 0;

	opt.seed = 1;
	while ((ch = getopt_long(argc, argv, "qr:o:lj:c:p:s:V:vh", lopts, NULL)) != -1) {
		switch (ch) {
		case 'q':
			opt.quick = 1;
			break;
		case 'r':
			rounds = atoi(optarg);
			if (rounds < 1 || rounds > KB_MAXROUNDS) {
				fprintf(stderr, "kvabench: --rounds: 1..%d\n",
				    KB_MAXROUNDS);
				return 2;
			}
			break;
		case 'o':
			opt.only = optarg;
			break;
		case 'l':
			list = 1;
			break;
		case 'j':
			opt.json = optarg;
			break;
		case 'c':
			opt.csv = optarg;
			break;
		case 'p':
			opt.plot = optarg;
			break;
		case 's':
			opt.seed = strtoull(optarg, NULL, 0);
			break;
		case 'V':
			vrounds = atoi(optarg);
			if (vrounds < 1 || vrounds > KB_MAXROUNDS) {
				fprintf(stderr, "kvabench: --vma-rounds: 1..%d\n",
				    KB_MAXROUNDS);
				return 2;
			}
			break;
		case 'v':
			opt.verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (list) {
		list_benches();
		return 0;
	}
	if (opt.only != NULL) {
		int any = 0;

		for (size_t i = 0; i < NBENCH; i++)
			any |= selected(benches[i].name);
		if (!any) {
			fprintf(stderr, "kvabench: no benchmark named \"%s\" "
			    "(--list shows them)\n", opt.only);
			return 2;
		}
	}
	opt.rounds = rounds > 0 ? rounds : opt.quick ? 5 : 15;
	opt.batch_ns = opt.quick ? 15e6 : 100e6;
	/* the VMA pattern is not timed and is the same for a seed: one run */
	opt.vma_rounds = vrounds > 0 ? vrounds : 1;

	/* defaults first, then KVA_OPTIONS: a key given twice takes the last */
	env = getenv("KVA_OPTIONS");
	snprintf(options, sizeof(options), "physmem=2G,kva=64G%s%s",
	    env != NULL ? "," : "", env != NULL ? env : "");
	snprintf(kb_base_options, sizeof(kb_base_options), "%s", options);
	memset(&cfg, 0, sizeof(cfg));
	cfg.options = options;
	error = kva_init(&cfg);
	if (error != 0)
		die("kva_init(%s): %s", options, strerror(error));
	kb_pagesize = (long)PAGE_SIZE;

	{
		struct utsname u;

		uname(&u);
		printf("kvabench: Linux %s, %ld CPUs; kva %zu GiB, physmem "
		    "%zu MiB, page %ld; %d rounds%s\n", u.release,
		    sysconf(_SC_NPROCESSORS_ONLN),
		    (size_t)(vm_map_max(kernel_map) - vm_map_min(kernel_map)) >> 30,
		    ((size_t)uvmexp.npages * (size_t)kb_pagesize) >> 20,
		    kb_pagesize, opt.rounds, opt.quick ? " (quick)" : "");
		fflush(stdout);
	}

	t0 = now_ns();
	for (size_t i = 0; i < NBENCH; i++) {
		const struct kb_bench *bn = &benches[i];
		struct kb_result *r = &results[nres];
		double tb = now_ns();

		if (!selected(bn->name))
			continue;
		memset(r, 0, sizeof(*r));
		r->name = bn->name;
		r->target = bn->target;
		r->ratio = r->kva = r->base = NAN;
		r->unit = "";
		r->ratio_kind = "";
		if (opt.verbose) {
			printf("running %s\n", bn->name);
			fflush(stdout);
		}
		if (bn->fn(bn, r) != 0)
			r->verdict = "FAIL";
		else if (isnan(r->target))
			r->verdict = "info";
		else
			r->verdict = r->ratio <= r->target ? "PASS" : "MISS";
		nres++;
		if (opt.verbose)
			printf("  %s: %.1f s\n", bn->name, (now_ns() - tb) / 1e9);
	}
	print_table(stdout, results, nres);
	printf("\n(%.1f s; medians over rounds; ratio = kva / baseline unless "
	    "noted)\n", (now_ns() - t0) / 1e9);
	if (opt.json != NULL)
		write_json(opt.json, results, nres);
	if (opt.csv != NULL)
		write_csv(opt.csv, results, nres);
	if (opt.plot != NULL)
		write_plot(opt.plot, results, nres);
	kva_fini();
	return 0;
}

/*
 * check_pressure.c: memory pressure: the page daemon and swap.
 *
 * Every test boots kva with a small physmem cap and pushes more pageable
 * memory through it than fits, so that the page daemon must page out to
 * swap and faults must page back in.  Under valgrind the patterns and
 * physmem are a quarter of their size (32 MiB through 8); make
 * check-stress runs them at KVA_STRESS=4 times (512 MiB through 32).
 */
#include "tcommon.h"
#include "kva_impl.h"
#include "pmap_posix/pmap_md.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* KVA_STRESS=N (make check-stress) multiplies the sizes by N */
static size_t
stress(void)
{
	const char *s = getenv("KVA_STRESS");
	long n = s != NULL ? atol(s) : 1;

	return n >= 1 && n <= 64 ? (size_t)n : 1;
}

static size_t
scaled(size_t bytes)
{
	return RUNNING_ON_VALGRIND ? bytes / 4 : bytes * stress();
}

static void
boot_opts(const char *options)
{
	struct kva_config cfg = { .kva = (size_t)4 << 30, .options = options };

	t_install_handler();
	ck_assert_int_eq(kva_init(&cfg), 0);
}

static void teardown(void) { kva_fini(); }

/* the word the pattern puts at p: depends on the address and a seed */
static inline uint64_t
pat(const void *p, uint64_t seed)
{
	uint64_t x = (uint64_t)(uintptr_t)p ^ seed;

	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ULL;
	return x ^ (x >> 32);
}

static void
fill(vaddr_t va, size_t len, uint64_t seed)
{
	for (uint64_t *p = (uint64_t *)va; p < (uint64_t *)(va + len); p++)
		*p = pat(p, seed);
}

/* the first word that differs from the pattern, or NULL */
static const uint64_t *
check(vaddr_t va, size_t len, uint64_t seed)
{
	for (const uint64_t *p = (const uint64_t *)va;
	    p < (const uint64_t *)(va + len); p++)
		if (*p != pat(p, seed))
			return p;
	return NULL;
}

/* 128 MiB through 32 MiB: every byte comes back */
START_TEST(test_pattern_128m)
{
	size_t len = scaled((size_t)128 << 20);
	vaddr_t va;
	long out0 = uvmexp.pgswapout, in0 = uvmexp.pgswapin;
	const uint64_t *bad;

	va = uvm_km_valloc(kernel_map, len);
	ck_assert(va != 0);
	fill(va, len, 1);
	bad = check(va, len, 1);
	ck_assert_msg(bad == NULL, "word at %p lost", (const void *)bad);
	ck_assert_int_gt(uvmexp.pgswapout - out0, 0);
	ck_assert_int_gt(uvmexp.pgswapin - in0, 0);
	ck_assert_int_gt(uvmexp.pdpageouts, 0);
	ck_assert_int_gt(uvmexp.pdwoke, 0);
	ck_assert_int_gt(uvmexp.pdscans, 0);
	/* clustered: more pages than pageouts; read ahead: more pages
	 * than pager reads */
	ck_assert_int_gt(uvmexp.pgswapout, uvmexp.pdpageouts);
	ck_assert_int_gt(uvmexp.pgswapin - in0, uvmexp.pageins);
	ck_assert_int_gt(uvmexp.swpginuse, 0);
	uvm_km_free(kernel_map, va, len);
	kva_drain();
	ck_assert_int_eq(uvmexp.swpginuse, 0);
}
END_TEST

struct worker {
	size_t len;
	uint64_t seed;
	vaddr_t va;
	const uint64_t *bad;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	fill(w->va, w->len, w->seed);
	w->bad = check(w->va, w->len, w->seed);
	if (w->bad == NULL)
		w->bad = check(w->va, w->len, w->seed);	/* twice: in and out */
	return NULL;
}

/* the same from two threads over separate ranges */
START_TEST(test_pattern_two_threads)
{
	struct worker w[2];
	pthread_t t[2];
	long out0 = uvmexp.pgswapout;

	for (int i = 0; i < 2; i++) {
		w[i].len = scaled((size_t)64 << 20);
		w[i].seed = (uint64_t)i + 7;
		w[i].va = uvm_km_valloc(kernel_map, w[i].len);
		w[i].bad = NULL;
		ck_assert(w[i].va != 0);
	}
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, worker_main,
		    &w[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 2; i++) {
		ck_assert_msg(w[i].bad == NULL, "thread %d: word at %p lost",
		    i, (const void *)w[i].bad);
		uvm_km_free(kernel_map, w[i].va, w[i].len);
	}
	kva_drain();
	ck_assert_int_gt(uvmexp.pgswapout - out0, 0);
	ck_assert_int_eq(uvmexp.swpginuse, 0);
}
END_TEST

/* random rewrites: two threads rewrite random pages (and now and then a
 * run of 512) of their own ranges, three times physmem in all, each
 * checking every page it reads against its own record.  A write that
 * races with the page daemon's decision that the page is clean would
 * come back as the previous generation. */
struct rewriter {
	vaddr_t va;
	size_t npages;
	unsigned seed;
	int iters;
	long bad;
};

static inline uint32_t
gen_word(size_t pg, uint32_t gen, unsigned seed)
{
	return gen == 0 ? 0 : (uint32_t)(pg * 2654435761u) + gen * 7919u + seed;
}

static void *
rewriter_main(void *arg)
{
	struct rewriter *r = arg;
	uint32_t *gen = calloc(r->npages, sizeof(*gen));
	unsigned s = r->seed;

	if (gen == NULL)
		return NULL;
	for (int it = 0; it < r->iters; it++) {
		size_t pg = (size_t)rand_r(&s) % r->npages;
		int run = rand_r(&s) % 8 == 0 ? 512 : 1;

		for (size_t p = pg; p < pg + (size_t)run && p < r->npages; p++) {
			volatile uint32_t *w = (volatile uint32_t *)(r->va +
			    ptoa(p));
			uint32_t want = gen_word(p, gen[p], r->seed);

			if (w[3] != want || w[1000] != want)
				r->bad++;
			if (rand_r(&s) % 2) {
				want = gen_word(p, ++gen[p], r->seed);
				w[3] = want;
				w[1000] = want;
			}
		}
	}
	for (size_t p = 0; p < r->npages; p++) {
		volatile uint32_t *w = (volatile uint32_t *)(r->va + ptoa(p));

		if (w[3] != gen_word(p, gen[p], r->seed))
			r->bad++;
	}
	free(gen);
	return NULL;
}

START_TEST(test_random_rewrites)
{
	struct rewriter r[2];
	pthread_t t[2];
	size_t len = (size_t)48 << 20;

	/* memcheck loses track of pages whose host access another thread's
	 * update gave back (it reports their reads as invalid), so this one
	 * runs natively only; the pattern tests cover paging under it */
	if (RUNNING_ON_VALGRIND)
		return;
	for (int i = 0; i < 2; i++) {
		r[i].va = uvm_km_valloc(kernel_map, len);
		ck_assert(r[i].va != 0);
		r[i].npages = len >> PAGE_SHIFT;
		r[i].seed = 11u + (unsigned)i;
		r[i].iters = (int)(2000 * stress());
		r[i].bad = 0;
	}
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, rewriter_main,
		    &r[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 2; i++) {
		ck_assert_msg(r[i].bad == 0, "thread %d: %ld pages read back "
		    "wrong", i, r[i].bad);
		uvm_km_free(kernel_map, r[i].va, len);
	}
	ck_assert_int_gt(uvmexp.pgswapin, 0);
}
END_TEST

/* uvm_km_free of a partly swapped range frees its slots */
START_TEST(test_free_partly_swapped)
{
	size_t len = scaled((size_t)64 << 20);
	int inuse0 = uvmexp.swpginuse;
	vaddr_t va = uvm_km_valloc(kernel_map, len);

	ck_assert(va != 0);
	fill(va, len, 3);
	ck_assert_int_gt(uvmexp.swpginuse, inuse0);
	/* some of it resident, some in swap */
	ck_assert_int_gt(uvm.kernel_object->uo_npages, 0);
	uvm_km_free(kernel_map, va, len);
	kva_drain();		/* a pageout in flight frees its slots */
	ck_assert_int_eq(uvmexp.swpginuse, inuse0);
}
END_TEST

/* uvm_km_pgremove of swapped pages makes them read zero again */
START_TEST(test_pgremove_swapped_zero)
{
	size_t len = scaled((size_t)64 << 20), half = len / 2;
	vaddr_t va = uvm_km_valloc(kernel_map, len);
	voff_t off;
	int inuse;

	ck_assert(va != 0);
	fill(va, len, 4);
	/* the first half went out first: most of it is in swap now */
	inuse = uvmexp.swpginuse;
	ck_assert_int_gt(inuse, 0);
	off = (voff_t)(va - vm_map_min(kernel_map));
	uvm_km_pgremove(uvm.kernel_object, (vm_offset_t)off,
	    (vm_offset_t)off + half);
	ck_assert_int_lt(uvmexp.swpginuse, inuse);
	for (size_t i = 0; i < half; i += (size_t)PAGE_SIZE)
		ck_assert_msg(((volatile uint64_t *)(va + i))[3] == 0,
		    "page %zu not zero after pgremove", i / PAGE_SIZE);
	ck_assert(check(va + half, len - half, 4) == NULL);
	uvm_km_free(kernel_map, va, len);
	kva_drain();
	ck_assert_int_eq(uvmexp.swpginuse, 0);
}
END_TEST

/* wired memory is never paged, however hard the rest is */
START_TEST(test_wired_survives)
{
	size_t wlen = (size_t)4 << 20, len = scaled((size_t)96 << 20);
	vaddr_t w = uvm_km_alloc1(kernel_map, wlen, FALSE);
	vaddr_t va;
	int wired0;

	ck_assert(w != 0);
	fill(w, wlen, 5);
	wired0 = uvmexp.wired;
	va = uvm_km_valloc(kernel_map, len);
	ck_assert(va != 0);
	fill(va, len, 6);
	ck_assert(check(va, len, 6) == NULL);
	ck_assert_int_gt(uvmexp.pgswapout, 0);
	ck_assert_int_eq(uvmexp.wired, wired0);
	for (size_t i = 0; i < wlen; i += (size_t)PAGE_SIZE)
		ck_assert(pmap_extract(pmap_kernel(), w + i, NULL));
	ck_assert(check(w, wlen, 5) == NULL);
	uvm_km_free(kernel_map, va, len);
	uvm_km_free(kernel_map, w, wlen);
}
END_TEST

/* run body in a child; return its wait status and what it wrote on
 * stderr (into err) */
static int
in_child(void (*body)(void), char *err, size_t errlen)
{
	int p[2], status;
	pid_t pid;
	ssize_t n, got = 0;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		dup2(p[1], 2);
		alarm(120);
		body();
		_exit(0);
	}
	close(p[1]);
	while (got < (ssize_t)errlen - 1 &&
	    (n = read(p[0], err + got, errlen - 1 - (size_t)got)) > 0)
		got += n;
	err[got] = '\0';
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

/* touch pageable memory until the fault fails */
static void
exhaust_body(void)
{
	size_t len = (size_t)256 << 20;
	vaddr_t va = uvm_km_valloc(kernel_map, len);

	if (va == 0)
		_exit(3);
	fill(va, len, 8);	/* dies before the end */
	_exit(4);
}

/* body, run in a child under options, dies of the fault with the
 * message and the sizes on stderr, and with also (if not NULL) */
static void
expect_death(const char *options, void (*body)(void), const char *also)
{
	char err[8192];
	int status;

	kva_fini();
	boot_opts(options);
	status = in_child(body, err, sizeof(err));
	ck_assert_msg(WIFSIGNALED(status) && (WTERMSIG(status) == SIGSEGV ||
	    WTERMSIG(status) == SIGBUS), "child status %#x, stderr: %s",
	    status, err);
	ck_assert_msg(strstr(err, "out of memory and swap") != NULL,
	    "no message; stderr: %s", err);
	ck_assert_msg(strstr(err, "physmem 16 MiB") != NULL, "no sizes: %s",
	    err);
	ck_assert_msg(also == NULL || strstr(err, also) != NULL,
	    "no \"%s\"; stderr: %s", also, err);
}

static void
expect_oom_death(const char *options)
{
	expect_death(options, exhaust_body, NULL);
}

/* swap in use, then every write to it fails (RLIMIT_FSIZE 0) */
static void
swap_error_body(void)
{
	size_t len = (size_t)256 << 20, first = (size_t)32 << 20;
	vaddr_t va = uvm_km_valloc(kernel_map, len);
	struct rlimit rl;

	if (va == 0)
		_exit(3);
	fill(va, first, 9);
	signal(SIGXFSZ, SIG_IGN);
	if (getrlimit(RLIMIT_FSIZE, &rl) != 0)
		_exit(5);
	rl.rlim_cur = 0;
	if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
		_exit(5);
	fill(va + first, len - first, 9);	/* dies before the end */
	_exit(4);
}

/* a swap device whose writes fail: a warning, then the same message and
 * the default action, not a page daemon retrying for ever */
START_TEST(test_swap_write_error)
{
	expect_death("physmem=16M,swapsize=128M", swap_error_body,
	    "swap write of");
}
END_TEST

/* RAM and swap full: a clear message and the default action */
START_TEST(test_exhaustion_message)
{
	expect_oom_death("physmem=16M,swapsize=16M");
}
END_TEST

/* no swap: the same */
START_TEST(test_no_swap_message)
{
	expect_oom_death("physmem=16M,swap=none");
	ck_assert_int_eq(uvmexp.swpages, 0);
}
END_TEST

/* swap full loses nothing already there: fill until a fault fails, give
 * back a wired block, and read everything back */
START_TEST(test_exhaustion_keeps_swap)
{
	size_t wlen = (size_t)4 << 20, len = (size_t)64 << 20, done;
	vaddr_t w, va;

	kva_fini();
	boot_opts("physmem=16M,swapsize=16M");
	w = uvm_km_alloc1(kernel_map, wlen, FALSE);
	va = uvm_km_valloc(kernel_map, len);
	ck_assert(w != 0 && va != 0);
	for (done = 0; done < len; done += (size_t)PAGE_SIZE) {
		if (!kva_fault((void *)(va + done), 1))
			break;
		fill(va + done, (size_t)PAGE_SIZE, 9);
	}
	ck_assert_msg(done < len, "all %zu MiB fitted", len >> 20);
	ck_assert(uvm_pdaemon_exhausted());
	ck_assert_int_eq(uvmexp.swpginuse, uvmexp.swpages);
	uvm_km_free(kernel_map, w, wlen);
	ck_assert(check(va, done, 9) == NULL);
	uvm_km_free(kernel_map, va, len);
	kva_drain();
	ck_assert_int_eq(uvmexp.swpginuse, 0);
}
END_TEST

/* a forked child has its own swap: what the parent paged out before
 * the fork reads back in the child, and the parent's later paging does
 * not disturb it */
static vaddr_t fork_va;
static size_t fork_len;

static void
fork_child_body(void)
{
	_exit(check(fork_va, fork_len, 10) == NULL ? 0 : 5);
}

START_TEST(test_fork_swap)
{
	char err[1024];
	int status;

	fork_len = scaled((size_t)64 << 20);
	fork_va = uvm_km_valloc(kernel_map, fork_len);
	ck_assert(fork_va != 0);
	fill(fork_va, fork_len, 10);
	ck_assert_int_gt(uvmexp.swpginuse, 0);
	status = in_child(fork_child_body, err, sizeof(err));
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "child status %#x: %s", status, err);
	ck_assert(check(fork_va, fork_len, 10) == NULL);
	uvm_km_free(kernel_map, fork_va, fork_len);
}
END_TEST

/* a child forked with nothing in swap gets its swap file when it first
 * pages out, and pages out and in as well as its parent */
static void
fork_fresh_body(void)
{
	size_t len = scaled((size_t)64 << 20);
	vaddr_t va = uvm_km_valloc(kernel_map, len);

	if (va == 0)
		_exit(3);
	fill(va, len, 11);
	if (uvmexp.pgswapout == 0)
		_exit(4);
	_exit(check(va, len, 11) == NULL ? 0 : 5);
}

START_TEST(test_fork_fresh_swap)
{
	char err[1024];
	int status;

	ck_assert_int_eq(uvmexp.swpginuse, 0);
	status = in_child(fork_fresh_body, err, sizeof(err));
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "child status %#x: %s", status, err);
}
END_TEST

/* swap=PATH: that file, created mode 0600, is where pages go, and it
 * stays; by default swap is an unlinked file in $TMPDIR */
START_TEST(test_swap_file)
{
	char dir[] = "/tmp/kva-swaptest-XXXXXX", path[128], opts[200];
	size_t len = scaled((size_t)64 << 20);
	struct stat st;
	vaddr_t va;

	ck_assert(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/swap", dir);
	snprintf(opts, sizeof(opts), "physmem=%s,swap=%s,swapsize=%zuM",
	    RUNNING_ON_VALGRIND ? "8M" : "32M", path, 2 * len >> 20);
	kva_fini();
	boot_opts(opts);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(st.st_size, (off_t)(2 * len));
	va = uvm_km_valloc(kernel_map, len);
	ck_assert(va != 0);
	fill(va, len, 12);
	ck_assert_int_gt(uvmexp.pgswapout, 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_gt(st.st_blocks, 0);	/* written, not sparse */
	ck_assert(check(va, len, 12) == NULL);
	uvm_km_free(kernel_map, va, len);
	kva_fini();
	ck_assert_int_eq(stat(path, &st), 0);	/* a named file stays */
	ck_assert_int_eq(unlink(path), 0);

	/* the default: nothing with a name appears in $TMPDIR */
	setenv("TMPDIR", dir, 1);
	boot_opts(RUNNING_ON_VALGRIND ? "physmem=8M" : "physmem=32M");
	va = uvm_km_valloc(kernel_map, len);
	ck_assert(va != 0);
	fill(va, len, 13);
	ck_assert_int_gt(uvmexp.pgswapout, 0);
	ck_assert(check(va, len, 13) == NULL);
	ck_assert_int_eq(rmdir(dir), 0);	/* empty */
	uvm_km_free(kernel_map, va, len);
	unsetenv("TMPDIR");
}
END_TEST

/* uvm_km_alloc1 with RAM and swap full: a panic naming the sizes, not a
 * sleep for ever */
static void
alloc1_body(void)
{
	size_t len = (size_t)256 << 20, done;
	vaddr_t va = uvm_km_valloc(kernel_map, len);

	if (va == 0)
		_exit(3);
	for (done = 0; done < len; done += (size_t)PAGE_SIZE)
		if (!kva_fault((void *)(va + done), 1))
			break;
	if (done == len)
		_exit(4);
	(void)uvm_km_alloc1(kernel_map, (size_t)1 << 20, TRUE);
	_exit(5);		/* not reached: the allocation panics */
}

START_TEST(test_alloc1_panics)
{
	char err[4096];
	int status;

	kva_fini();
	boot_opts("physmem=16M,swap=none");
	status = in_child(alloc1_body, err, sizeof(err));
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
	    "child status %#x, stderr: %s", status, err);
	ck_assert_msg(strstr(err, "out of memory and swap") != NULL &&
	    strstr(err, "physmem 16 MiB") != NULL, "stderr: %s", err);
}
END_TEST

/* the daemon's thresholds follow the cap, and options set them */
START_TEST(test_thresholds)
{
	ck_assert_int_gt(uvmexp.freemin, 0);
	ck_assert_int_gt(uvmexp.freetarg, uvmexp.freemin);
	kva_fini();
	boot_opts("physmem=32M,freemin=2M,freetarg=3M");
	ck_assert_int_eq(uvmexp.freemin, (2 << 20) / PAGE_SIZE);
	ck_assert_int_eq(uvmexp.freetarg, (3 << 20) / PAGE_SIZE);
}
END_TEST

/* under valgrind the patterns are a quarter the size: so is memory */
static void
setup32(void)
{
	static char opts[64];

	snprintf(opts, sizeof(opts), "physmem=%s,swapsize=%zuM",
	    RUNNING_ON_VALGRIND ? "8M" : "32M", (size_t)256 * stress());
	boot_opts(opts);
}

/* one case per test, so that CK_RUN_CASE=name runs one */
static void
add(Suite *s, const char *name, const TTest *t)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, setup32, teardown);
	tcase_set_timeout(tc, RUNNING_ON_VALGRIND ? 1200 : 180);
	tcase_add_test(tc, t);
	suite_add_tcase(s, tc);
}

int
main(void)
{
	Suite *s = suite_create("pressure");

	add(s, "thresholds", test_thresholds);
	add(s, "pattern_128m", test_pattern_128m);
	add(s, "two_threads", test_pattern_two_threads);
	add(s, "random_rewrites", test_random_rewrites);
	add(s, "free_partly_swapped", test_free_partly_swapped);
	add(s, "pgremove_swapped_zero", test_pgremove_swapped_zero);
	add(s, "wired_survives", test_wired_survives);
	add(s, "fork_swap", test_fork_swap);
	add(s, "fork_fresh_swap", test_fork_fresh_swap);
	add(s, "exhaustion_keeps_swap", test_exhaustion_keeps_swap);
	add(s, "exhaustion_message", test_exhaustion_message);
	add(s, "no_swap_message", test_no_swap_message);
	add(s, "swap_write_error", test_swap_write_error);
	add(s, "swap_file", test_swap_file);
	add(s, "alloc1_panics", test_alloc1_panics);
	return t_run_suite(s);
}

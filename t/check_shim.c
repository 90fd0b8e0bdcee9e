/*
 * check_shim.c: the Check suite of the malloc shim (lib/malloc).
 *
 * The program is linked with libkvamalloc.so, so every allocation in it,
 * Check's own included, is the shim's.  Tests run in one process
 * (CK_NOFORK), so that figures like mallinfo2 see the whole history.  The
 * tests that must die (use after free, double free, invalid free) fork a
 * child that only does the bad thing, and check how it died and what it
 * printed.
 */
#ifdef HAVE_VALGRIND_VALGRIND_H
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif
#include <check.h>
#include <sys/stat.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define KIB ((size_t)1 << 10)
#define MIB ((size_t)1 << 20)

/* sizes around every interesting boundary */
static const size_t sizes[] = {
	0, 1, 8, 15, 16, 17, 24, 31, 32, 33, 100, 127, 128, 129, 255, 256,
	257, 1000, 1023, 1024, 1025, 2047, 2048, 4095, 4096, 4097, 8191, 8192,
	10000, 16383, 16384, 16385, 65535, 65536, 100000, 131071, 131072,
	131073, 200000, 1000000, 5 * MIB + 3,
};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static void
fill(void *p, size_t n, unsigned seed)
{
	unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i++)
		c[i] = (unsigned char)(seed + i * 7);
}

static int
check_fill(const void *p, size_t n, unsigned seed)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (c[i] != (unsigned char)(seed + i * 7))
			return 0;
	return 1;
}

START_TEST(sizes_and_usable)
{
	void *p[NSIZES];
	size_t i, j;

	for (i = 0; i < NSIZES; i++) {
		size_t u;

		p[i] = malloc(sizes[i]);
		ck_assert_ptr_nonnull(p[i]);
		ck_assert_uint_eq((uintptr_t)p[i] % 16, 0);
		u = malloc_usable_size(p[i]);
		ck_assert_uint_ge(u, sizes[i]);
		/* not more than 25% (or 16 bytes, or a page) of waste */
		ck_assert_uint_le(u, sizes[i] + sizes[i] / 4 + 16 + 4096);
		fill(p[i], u, (unsigned)i);
	}
	for (i = 0; i < NSIZES; i++) {
		ck_assert(check_fill(p[i], malloc_usable_size(p[i]), (unsigned)i));
		for (j = 0; j < i; j++)
			ck_assert_ptr_ne(p[i], p[j]);
	}
	for (i = 0; i < NSIZES; i++)
		free(p[i]);
}
END_TEST

START_TEST(malloc0_unique)
{
	enum { N = 2000 };
	static void *p[N];
	int i;

	for (i = 0; i < N; i++) {
		p[i] = malloc(0);
		ck_assert_ptr_nonnull(p[i]);
		if (i > 0)
			ck_assert_ptr_ne(p[i], p[i - 1]);
	}
	/* all distinct: sort-free check through a second pass */
	for (i = 0; i < N; i++)
		*(int *)p[i] = i;
	for (i = 0; i < N; i++) {
		ck_assert_int_eq(*(int *)p[i], i);
		free(p[i]);
	}
}
END_TEST

START_TEST(alignment)
{
	size_t al, n;
	int rv;

	for (al = sizeof(void *); al <= 2 * MIB; al *= 2) {
		for (n = 1; n <= 300 * KIB; n = n * 3 + 5) {
			void *p = NULL, *q, *r;

			rv = posix_memalign(&p, al, n);
			ck_assert_int_eq(rv, 0);
			ck_assert_uint_eq((uintptr_t)p % al, 0);
			ck_assert_uint_ge(malloc_usable_size(p), n);
			memset(p, 0xab, n);
			q = aligned_alloc(al, n);
			ck_assert_uint_eq((uintptr_t)q % al, 0);
			r = memalign(al, n);
			ck_assert_uint_eq((uintptr_t)r % al, 0);
			memset(q, 1, n);
			memset(r, 2, n);
			free(p);
			free(q);
			free(r);
		}
	}
	{
		void *p = valloc(100), *q = pvalloc(5000);

		ck_assert_uint_eq((uintptr_t)p % 4096, 0);
		ck_assert_uint_eq((uintptr_t)q % 4096, 0);
		ck_assert_uint_ge(malloc_usable_size(q), 8192);
		free(p);
		free(q);
	}
	{
		void *p = (void *)1;

		ck_assert_int_eq(posix_memalign(&p, 24, 10), EINVAL);
		ck_assert_int_eq(posix_memalign(&p, 2, 10), EINVAL);
		ck_assert_ptr_eq(p, (void *)1);
	}
}
END_TEST

START_TEST(calloc_zero_after_reuse)
{
	size_t i, k;

	for (i = 0; i < NSIZES; i++) {
		size_t n = sizes[i];

		for (k = 0; k < 4; k++) {
			unsigned char *p = malloc(n), *q;
			size_t j;

			memset(p, 0xff, malloc_usable_size(p));
			free(p);
			q = calloc(1, n);
			ck_assert_ptr_nonnull(q);
			for (j = 0; j < n; j++)
				if (q[j] != 0)
					ck_abort_msg("calloc(%zu): byte %zu is %#x",
					    n, j, q[j]);
			memset(q, 0xee, n);
			free(q);
		}
	}
}
END_TEST

START_TEST(realloc_keeps_contents)
{
	size_t n = 1, prev = 0;
	unsigned char *p = NULL;

	/* grow by 1.5x from 1 byte to 48 MiB, then shrink back */
	while (n < 48 * MIB) {
		size_t keep = prev < n ? prev : n;

		p = realloc(p, n);
		ck_assert_ptr_nonnull(p);
		ck_assert_msg(check_fill(p, keep, 3), "realloc to %zu lost data",
		    n);
		fill(p, n, 3);
		prev = n;
		n = n + n / 2 + 1;
	}
	while (n > 1) {
		n /= 3;
		p = realloc(p, n);
		ck_assert_ptr_nonnull(p);
		ck_assert(check_fill(p, n, 3));
	}
	free(p);
	/* realloc(NULL) and realloc to 0 */
	p = realloc(NULL, 100);
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_null(realloc(p, 0));
}
END_TEST

START_TEST(realloc_large_in_place_and_move)
{
	char *a = malloc(1 * MIB), *b, *c;
	size_t i;

	for (i = 0; i < MIB; i += 4096)
		a[i] = (char)i;
	b = realloc(a, 8 * MIB);	/* in place or moved: contents kept */
	ck_assert_ptr_nonnull(b);
	for (i = 0; i < MIB; i += 4096)
		ck_assert_int_eq(b[i], (char)i);
	memset(b + MIB, 0x11, 7 * MIB);
	c = malloc(3 * MIB);		/* takes the VA after b */
	b = realloc(b, 16 * MIB);	/* must move now */
	ck_assert_ptr_nonnull(b);
	for (i = 0; i < MIB; i += 4096)
		ck_assert_int_eq(b[i], (char)i);
	ck_assert_int_eq(b[8 * MIB - 1], 0x11);
	free(b);
	free(c);
}
END_TEST

/* sizes through a volatile, so the compiler does not reject them */
static volatile size_t vsize_max = SIZE_MAX;

START_TEST(overflow_enomem)
{
	const size_t big = vsize_max;
	void *p;

	errno = 0;
	ck_assert_ptr_null(malloc(big));
	ck_assert_int_eq(errno, ENOMEM);
	errno = 0;
	ck_assert_ptr_null(malloc(big / 2 + 1));
	ck_assert_int_eq(errno, ENOMEM);
	errno = 0;
	ck_assert_ptr_null(calloc(big / 2, 3));
	ck_assert_int_eq(errno, ENOMEM);
	errno = 0;
	ck_assert_ptr_null(malloc((big >> 18) + 1));	/* more VA than kva has */
	ck_assert_int_eq(errno, ENOMEM);
	p = malloc(100);
	memset(p, 7, 100);
	errno = 0;
	ck_assert_ptr_null(realloc(p, big - 4096));
	ck_assert_int_eq(errno, ENOMEM);
	ck_assert_ptr_null(reallocarray(p, big / 4, 8));
	ck_assert_int_eq(((char *)p)[99], 7);	/* p is intact */
	free(p);
	/* the process goes on */
	p = malloc(1000);
	ck_assert_ptr_nonnull(p);
	free(p);
}
END_TEST

/* threads: private churn with pattern checks, and frees across threads */
#define NTHREADS 4
#define NSLOTS 512
static void *volatile handoff[NTHREADS][NSLOTS];

static void *
churn(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg, seed = id * 7919 + 1;
	void *slot[NSLOTS] = { 0 };
	size_t len[NSLOTS] = { 0 };
	int i;

	for (i = 0; i < 200000; i++) {
		unsigned r, s;

		seed = seed * 1103515245 + 12345;
		r = seed >> 8;
		s = r % NSLOTS;
		if (slot[s] != NULL) {
			if (!check_fill(slot[s], len[s] < 64 ? len[s] : 64, s))
				return (void *)1;
			if (r & 0x10000) {
				/* give it to the next thread to free */
				void *old = __atomic_exchange_n(
				    &handoff[(id + 1) % NTHREADS][s], slot[s],
				    __ATOMIC_ACQ_REL);
				free(old);
			} else {
				free(slot[s]);
			}
		}
		len[s] = (r & 0xff) * ((r >> 20) % 8 == 0 ? 257 : 3) + 1;
		slot[s] = malloc(len[s]);
		if (slot[s] == NULL)
			return (void *)2;
		fill(slot[s], len[s] < 64 ? len[s] : 64, s);
		free(__atomic_exchange_n(&handoff[id][s], NULL,
		    __ATOMIC_ACQ_REL));
	}
	for (i = 0; i < NSLOTS; i++)
		free(slot[i]);
	return NULL;
}

START_TEST(threads)
{
	pthread_t t[NTHREADS];
	void *rv;
	int i, j;

	for (i = 0; i < NTHREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, churn,
		    (void *)(uintptr_t)i), 0);
	for (i = 0; i < NTHREADS; i++) {
		ck_assert_int_eq(pthread_join(t[i], &rv), 0);
		ck_assert_ptr_null(rv);
	}
	for (i = 0; i < NTHREADS; i++)
		for (j = 0; j < NSLOTS; j++) {
			free(handoff[i][j]);
			handoff[i][j] = NULL;
		}
}
END_TEST

static void *
cache_and_exit(void *arg)
{
	void *p[1000];
	int i;

	(void)arg;
	for (i = 0; i < 1000; i++)
		p[i] = malloc(48);
	for (i = 0; i < 1000; i++)
		free(p[i]);
	return NULL;
}

START_TEST(thread_exit_gives_cache_back)
{
	pthread_t t;
	struct mallinfo2 mi;

	ck_assert_int_eq(pthread_create(&t, NULL, cache_and_exit, NULL), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	(void)malloc_trim(0);
	mi = mallinfo2();
	/* nothing left cached: the exited thread's cache went back */
	ck_assert_uint_eq(mi.fsmblks, 0);
}
END_TEST

START_TEST(mallinfo_figures)
{
	struct mallinfo2 a, b, c;
	void *big, *small[100];
	int i;

	a = mallinfo2();
	big = malloc(10 * MIB);
	for (i = 0; i < 100; i++)
		small[i] = malloc(1000);
	b = mallinfo2();
	ck_assert_uint_ge(b.uordblks, a.uordblks + 10 * MIB + 100 * 1000);
	ck_assert_uint_ge(b.hblks, a.hblks + 1);
	ck_assert_uint_ge(b.hblkhd, a.hblkhd + 10 * MIB);
	free(big);
	for (i = 0; i < 100; i++)
		free(small[i]);
	c = mallinfo2();
	ck_assert_uint_le(c.uordblks, a.uordblks + 4096);
	ck_assert_int_ge(malloc_trim(0), 0);
}
END_TEST

/*
 * A class the program stops using gives its cached blocks back: blocks
 * freed in random order sit in the thread's cache and the class's
 * transfer stack, one or two per slab, and pin those slabs until the
 * cache GC (small.c) finds the class idle while other classes keep the
 * thread's slow paths busy.
 */
START_TEST(idle_class_cache_given_back)
{
	enum { N = 20000, CHURN = 1000, ROUNDS = 300 };
	static void *p[N];
	void *q[CHURN];
	struct mallinfo2 parked, idle;
	int i, r;

	for (i = 0; i < N; i++) {
		p[i] = malloc(250);
		ck_assert_ptr_nonnull(p[i]);
	}
	for (i = 0; i < N; i++)		/* 7919 is prime to N: a shuffle */
		free(p[(size_t)i * 7919 % N]);
	parked = mallinfo2();
	ck_assert_uint_ge(parked.fsmblks, 100 * KIB);
	for (r = 0; r < ROUNDS; r++) {
		for (i = 0; i < CHURN; i++)
			q[i] = malloc(16);
		for (i = 0; i < CHURN; i++)
			free(q[i]);
	}
	idle = mallinfo2();
	ck_assert_msg(idle.fsmblks <= 64 * KIB, "%zu bytes still cached",
	    idle.fsmblks);
	ck_assert_msg(idle.arena + MIB <= parked.arena, "slabs held: "
	    "%zu bytes while parked, %zu once idle", parked.arena, idle.arena);
}
END_TEST

/* memfd_held: bytes the kva-physmem memfd holds (st_blocks), found
 * through /proc/self/fd; -1 if there is none */
static long
memfd_held(void)
{
	char path[64], target[128];
	long held = -1;

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
			held = (long)st.st_blocks * 512;
	}
	return held;
}

/* malloc_trim(0) gives every free run back to the host at once */
START_TEST(trim_gives_memory_back)
{
	enum { N = 64 };
	char *p[N];
	long full, trimmed;

	for (int i = 0; i < N; i++) {
		p[i] = malloc(MIB);
		ck_assert_ptr_nonnull(p[i]);
		memset(p[i], 0x5a, MIB);
	}
	full = memfd_held();
	ck_assert_int_ge(full, (long)(N * MIB));
	for (int i = 0; i < N; i++)
		free(p[i]);
	ck_assert_int_ge(malloc_trim(0), 0);
	trimmed = memfd_held();
	ck_assert_msg(full - trimmed >= (long)((N - 8) * MIB), "memfd held %ld bytes "
	    "with %d MiB live, %ld after free and malloc_trim", full, N,
	    trimmed);
}
END_TEST

/*
 * Deaths.  run_child: fork, run fn(arg) in the child with stderr on a
 * pipe; return the wait status and what it printed.
 */
static int
run_child(void (*fn)(void *), void *arg, char *out, size_t outlen)
{
	int fds[2], status;
	pid_t pid;
	ssize_t n;
	size_t got = 0;

	ck_assert_int_eq(pipe(fds), 0);
	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(fds[1], 2);
		close(fds[0]);
		fn(arg);
		_exit(0);
	}
	close(fds[1]);
	while (got + 1 < outlen &&
	    (n = read(fds[0], out + got, outlen - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(fds[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

static void
touch(void *p)
{
	*(volatile char *)p = 1;
}

static void
free_it(void *p)
{
	free(p);
}

static void
free_twice(void *p)
{
	free(p);
	free(p);
}

START_TEST(large_use_after_free_faults)
{
	char out[512];
	char *p = malloc(1 * MIB);
	int st;

	memset(p, 1, MIB);
	free(p);
	st = run_child(touch, p + 4096, out, sizeof(out));
	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
	    "status %#x, stderr: %s", st, out);
}
END_TEST

START_TEST(large_overflow_faults)
{
	char out[512];
	char *p = malloc(300 * KIB);
	int st;

	st = run_child(touch, p + malloc_usable_size(p), out, sizeof(out));
	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
	    "status %#x, stderr: %s", st, out);
	free(p);	/* the child's heap was its own copy (kva's fork) */
}
END_TEST

/*
 * A freed large block is parked: inaccessible at once, and the next large
 * malloc it can hold gets it back at the same VA.  Its extra pages are
 * slack: inaccessible after the new block, and realloc grows into them.
 */
START_TEST(large_parked_reuse)
{
	char out[512];
	char *p, *q, *r;
	size_t i;
	int st;

	ck_assert_int_ge(malloc_trim(0), 0);	/* nothing parked before */
	ck_assert_uint_eq(mallinfo2().keepcost, 0);
	p = malloc(MIB);
	ck_assert_ptr_nonnull(p);
	memset(p, 0x77, MIB);
	free(p);
	ck_assert_uint_ge(mallinfo2().keepcost, MIB);
	st = run_child(touch, p + 3 * MIB / 4, out, sizeof(out));
	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
	    "parked block: status %#x, stderr: %s", st, out);

	q = malloc(3 * MIB / 4);		/* the parked block, VA and all */
	ck_assert_ptr_eq(q, p);
	ck_assert_uint_eq(malloc_usable_size(q), 3 * MIB / 4);
	memset(q, 0x12, 3 * MIB / 4);
	st = run_child(touch, q + 3 * MIB / 4, out, sizeof(out)); /* slack */
	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
	    "slack: status %#x, stderr: %s", st, out);
	r = realloc(q, MIB);			/* into the slack, in place */
	ck_assert_ptr_eq(r, p);
	for (i = 0; i < 3 * MIB / 4; i += 4096)
		ck_assert_int_eq(r[i], 0x12);
	r[MIB - 1] = 5;
	free(r);

	q = calloc(1, MIB / 2);			/* reused, so zeroed here */
	ck_assert_ptr_eq(q, p);
	for (i = 0; i < MIB / 2; i++)
		if (q[i] != 0)
			ck_abort_msg("calloc of a parked block: byte %zu is %d",
			    i, q[i]);
	free(q);
	ck_assert_int_ge(malloc_trim(0), 0);	/* parked blocks dropped */
	ck_assert_uint_eq(mallinfo2().keepcost, 0);
	q = malloc(MIB);			/* new VA: p is quarantined */
	ck_assert_ptr_ne(q, p);
	free(q);
	ck_assert_int_ge(malloc_trim(0), 0);
}
END_TEST

/* A block of 2 MiB or more gives its whole 2 MiB chunks to the pool: its
 * own VA faults from then on, and the next big block gets the chunks at
 * new VA (calloc'd: zeroed). */
START_TEST(large_chunk_pool)
{
	char out[512];
	char *p, *q, *r;
	size_t i, keep;
	int st;

	ck_assert_int_ge(malloc_trim(0), 0);
	ck_assert_uint_eq(mallinfo2().keepcost, 0);
	p = malloc(5 * MIB);
	ck_assert_ptr_nonnull(p);
	memset(p, 0x77, 5 * MIB);
	free(p);
	keep = mallinfo2().keepcost;
	ck_assert_uint_ge(keep, 4 * MIB);	/* two chunks, and the tail */
	st = run_child(touch, p + MIB, out, sizeof(out));
	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
	    "pooled block: status %#x, stderr: %s", st, out);
	ck_assert_ptr_nonnull(strstr(out, "freed block"));

	q = calloc(1, 4 * MIB + 100);		/* both chunks, new VA */
	ck_assert_ptr_nonnull(q);
	ck_assert_ptr_ne(q, p);
	ck_assert_uint_eq(((uintptr_t)q) & (2 * MIB - 1), 0);
	ck_assert_uint_le(mallinfo2().keepcost + 4 * MIB, keep);
	for (i = 0; i < 4 * MIB + 100; i++)
		if (q[i] != 0)
			ck_abort_msg("calloc from the pool: byte %zu is %d", i,
			    q[i]);
	st = run_child(touch, q + 4 * MIB + 4096, out, sizeof(out));
	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
	    "guard page: status %#x, stderr: %s", st, out);
	memset(q, 0x34, 4 * MIB + 100);
	r = realloc(q, 9 * MIB);		/* grows, contents kept */
	ck_assert_ptr_nonnull(r);
	for (i = 0; i < 4 * MIB + 100; i += 512)
		ck_assert_int_eq(r[i], 0x34);
	free(r);

	/* a pooled chunk for the last piece: a guard page right after the
	 * block, which realloc moves as it grows into the rest */
	ck_assert_int_ge(malloc_trim(0), 0);
	p = malloc(4 * MIB);
	q = malloc(4 * MIB);
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(q);
	memset(p, 1, 4 * MIB);
	memset(q, 2, 4 * MIB);
	free(p);
	free(q);
	ck_assert_uint_ge(mallinfo2().keepcost, 8 * MIB);
	r = malloc(5 * MIB);			/* three chunks */
	ck_assert_ptr_nonnull(r);
	/* a chunk left, and the slack */
	ck_assert_uint_le(mallinfo2().keepcost, 3 * MIB);
	memset(r, 3, 5 * MIB);
	st = run_child(touch, r + 5 * MIB, out, sizeof(out));
	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
	    "guard page: status %#x, stderr: %s", st, out);
	ck_assert_ptr_nonnull(strstr(out, "guard page of block"));
	q = realloc(r, 5 * MIB + MIB / 2);	/* in place, into the slack */
	ck_assert_ptr_eq(q, r);
	for (i = 0; i < 5 * MIB; i += 4096)
		ck_assert_int_eq(q[i], 3);
	memset(q, 4, 5 * MIB + MIB / 2);
	st = run_child(touch, q + 5 * MIB + MIB / 2, out, sizeof(out));
	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
	    "guard page after realloc: status %#x, stderr: %s", st, out);
	free(q);
	st = run_child(touch, q + MIB, out, sizeof(out));
	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
	    "freed: status %#x, stderr: %s", st, out);
	ck_assert_int_ge(malloc_trim(0), 0);
	ck_assert_uint_eq(mallinfo2().keepcost, 0);
}
END_TEST

static void
expect_abort(void (*fn)(void *), void *p, const char *msg)
{
	char out[512], addr[32];
	int st;

	st = run_child(fn, p, out, sizeof(out));
	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT,
	    "status %#x, stderr: %s", st, out);
	ck_assert_msg(strstr(out, msg) != NULL, "expected \"%s\" in: %s", msg,
	    out);
	snprintf(addr, sizeof(addr), "%p", p);
	ck_assert_msg(strstr(out, addr) != NULL, "expected %s in: %s", addr,
	    out);
	ck_assert_msg(strchr(out, '\n') == out + strlen(out) - 1,
	    "not one line: %s", out);
}

/* the children free the parent's blocks in their own copy of the heap */
START_TEST(double_free_small_aborts)
{
	void *p = malloc(40);

	expect_abort(free_twice, p, "double free");
	free(p);
}
END_TEST

START_TEST(double_free_large_aborts)
{
	void *p = malloc(2 * MIB);

	expect_abort(free_twice, p, "double free");
	free(p);
}
END_TEST

START_TEST(invalid_free_aborts)
{
	static char not_ours[64];
	char *s = malloc(64), *l = malloc(1 * MIB);
	int on_stack;

	expect_abort(free_it, s + 16, "invalid free");
	expect_abort(free_it, l + 4096, "invalid free");
	expect_abort(free_it, not_ours + 16, "invalid free");
	expect_abort(free_it, &on_stack, "invalid free");
	expect_abort(free_it, l + malloc_usable_size(l), "guard page");
	free(s);
	free(l);
}
END_TEST

static Suite *
shim_suite(void)
{
	Suite *s = suite_create("kvamalloc");
	TCase *tc = tcase_create("api");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, sizes_and_usable);
	tcase_add_test(tc, malloc0_unique);
	tcase_add_test(tc, alignment);
	tcase_add_test(tc, calloc_zero_after_reuse);
	tcase_add_test(tc, realloc_keeps_contents);
	tcase_add_test(tc, realloc_large_in_place_and_move);
	tcase_add_test(tc, large_parked_reuse);
	tcase_add_test(tc, large_chunk_pool);
	tcase_add_test(tc, overflow_enomem);
	tcase_add_test(tc, threads);
	tcase_add_test(tc, thread_exit_gives_cache_back);
	tcase_add_test(tc, mallinfo_figures);
	tcase_add_test(tc, idle_class_cache_given_back);
	tcase_add_test(tc, trim_gives_memory_back);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, large_use_after_free_faults);
	tcase_add_test(tc, large_overflow_faults);
	tcase_add_test(tc, double_free_small_aborts);
	tcase_add_test(tc, double_free_large_aborts);
	tcase_add_test(tc, invalid_free_aborts);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	/* under memcheck the shim's own malloc must be the one running:
	 * make check-valgrind passes --soname-synonyms=somalloc=
	 * nouserintercepts so that valgrind replaces only libc's.  A block
	 * of 1 byte is 16 usable bytes in the shim, 1 in valgrind's. */
	if (RUNNING_ON_VALGRIND) {
		void *probe = malloc(1);
		size_t usable = malloc_usable_size(probe);

		free(probe);
		if (usable != 16) {
			puts("skipped: valgrind's malloc replaces the shim's "
			    "(use --soname-synonyms=somalloc=nouserintercepts)");
			return 77;
		}
	}
	SRunner *sr = srunner_create(shim_suite());
	int failed;

	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

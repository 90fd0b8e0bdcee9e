/*
 * check_page.c: unit tests of uvm_page.c, the physical page allocator
 * and the (object, offset) page lookup.
 *
 * Each test runs on a fresh kva_init with 32 MiB of physical memory and
 * 4 GiB of kernel VA (the "small" case: 8 MiB, to run out of memory
 * while reservations hold most of it).  Counters are compared after
 * kva_drain, when the library's background work has settled.
 */
#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "kva_impl.h"
#include "pmap_posix/pmap_md.h"

/* uvm_page.c functions proposed for kva_impl.h, not declared there yet */

#define MAXORDER 18		/* uvm_page.c's UVM_BUDDY_MAXORDER */

static void
setup(void)
{
	struct kva_config cfg = { .physmem = 32 << 20, .kva = 4ULL << 30 };

	ck_assert_int_eq(kva_init(&cfg), 0);
	kva_drain();
}

static void
teardown(void)
{
	kva_fini();
}

static struct vm_page *
alloc1(int flags)
{
	return uvm_pagealloc(NULL, 0, NULL, flags);
}

static void
assert_sound(void)
{
	char why[256] = "";

	ck_assert_msg(uvm_page_check(why, sizeof(why)) == 0, "%s", why);
}

static void
msleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* wait_flag: wait up to 5 s for *flag to become non-zero */
static int
wait_flag(volatile int *flag)
{
	for (int i = 0; i < 5000 && !__atomic_load_n(flag, __ATOMIC_ACQUIRE);
	    i++)
		msleep(1);
	return __atomic_load_n(flag, __ATOMIC_ACQUIRE);
}

/* exhaust: allocate single pages until none is left; returns how many */
static size_t
exhaust(struct vm_page **pgs, size_t max, int flags)
{
	size_t n = 0;

	while (n < max && (pgs[n] = alloc1(flags)) != NULL)
		n++;
	return n;
}

static void
free_all(struct vm_page **pgs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		uvm_pagefree(pgs[i]);
}

/* largest power-of-two run that can be allocated now (and is given back) */
static size_t
largest_run(void)
{
	for (int k = MAXORDER; k >= 0; k--) {
		struct vm_page *pg = uvm_pglistalloc_contig((size_t)1 << k, 0);

		if (pg != NULL) {
			uvm_pagefree_contig(pg, (size_t)1 << k);
			return (size_t)1 << k;
		}
	}
	return 0;
}

/* is_zero: the page at p reads all zero */
static int
is_zero(const unsigned char *p)
{
	unsigned char acc = 0;

	for (size_t b = 0; b < PAGE_SIZE; b++)
		acc |= p[b];
	return acc == 0;
}

static size_t npages_cap(void) { return (32u << 20) / PAGE_SIZE; }

START_TEST(test_sequential)
{
	enum { N = 512 };
	struct vm_page *pgs[N];
	size_t breaks = 0, run = 1, longest = 1;

	for (int i = 0; i < N; i++) {
		pgs[i] = alloc1(0);
		ck_assert_ptr_nonnull(pgs[i]);
		ck_assert(pgs[i]->flags & PG_BUSY);
		ck_assert(pgs[i]->flags & PG_FAKE);
		ck_assert(pgs[i]->flags & PG_CLEAN);
		ck_assert_int_eq(pgs[i]->pqflags & PQ_FREE, 0);
	}
	for (int i = 1; i < N; i++) {
		if (VM_PAGE_TO_PHYS(pgs[i]) ==
		    VM_PAGE_TO_PHYS(pgs[i - 1]) + PAGE_SIZE) {
			if (++run > longest)
				longest = run;
		} else {
			breaks++;
			run = 1;
		}
	}
	/* breaks come from small free blocks left by earlier frees (taken
	 * first, while warm) and from growth; most frames follow in order */
	ck_assert_msg(breaks <= N / 8, "%zu breaks", breaks);
	ck_assert_msg(longest >= N / 2, "longest run %zu", longest);
	free_all(pgs, N);
	assert_sound();
}
END_TEST

START_TEST(test_contig)
{
	struct vm_page *pg, *next, *z;
	paddr_t pa;

	pg = uvm_pglistalloc_contig(16, 0);
	ck_assert_ptr_nonnull(pg);
	pa = VM_PAGE_TO_PHYS(pg);
	ck_assert_int_eq(pa & PAGE_MASK, 0);
	for (int i = 0; i < 16; i++) {
		ck_assert_ptr_eq(PHYS_TO_VM_PAGE(pa + i * PAGE_SIZE), &pg[i]);
		ck_assert(pg[i].flags & PG_BUSY);
		ck_assert_int_eq(pg[i].pqflags & PQ_FREE, 0);
	}

	/* a run that is not a power of two gives its tail back first */
	z = uvm_pglistalloc_contig(5, UVM_PGA_ZERO);
	ck_assert_ptr_nonnull(z);
	for (int i = 0; i < 5; i++) {
		const unsigned char *p = (const unsigned char *)
		    pmap_direct_map(VM_PAGE_TO_PHYS(&z[i]));

		ck_assert_ptr_eq(&z[i], PHYS_TO_VM_PAGE(VM_PAGE_TO_PHYS(z) +
		    i * PAGE_SIZE));
		ck_assert(z[i].flags & PG_ZERO);
		ck_assert(is_zero(p));
	}
	next = alloc1(0);
	ck_assert_ptr_eq(next, &z[5]);
	uvm_pagefree(next);
	uvm_pagefree_contig(z, 5);
	uvm_pagefree_contig(pg, 16);
	assert_sound();

	ck_assert_ptr_null(uvm_pglistalloc_contig(0, 0));
	ck_assert_ptr_null(uvm_pglistalloc_contig(npages_cap() * 2, 0));
}
END_TEST

/* UVM_PGA_NOGROW: a run that the loaded free frames could only make up
 * in pieces fails instead of growing physical memory; without the flag
 * memory grows for it */
static size_t
free_loaded(void)
{
	return (size_t)uvmexp.free - (vm_page_array_max - vm_page_array_n);
}

START_TEST(test_contig_nogrow)
{
	size_t n = 0, loaded, i;
	struct vm_page **pages, *run;

	run = alloc1(0);			/* the first segment loads */
	ck_assert_ptr_nonnull(run);
	pages = calloc(vm_page_array_n + 1, sizeof(*pages));
	ck_assert_ptr_nonnull(pages);
	pages[n++] = run;
	loaded = vm_page_array_n;
	ck_assert_uint_lt(loaded, vm_page_array_max);	/* room to grow */
	while (free_loaded() > 0) {
		pages[n] = alloc1(0);
		ck_assert_ptr_nonnull(pages[n]);
		n++;
	}
	ck_assert_uint_eq(vm_page_array_n, loaded);
	for (i = 0; i < n; i += 2)		/* free, but in pieces */
		uvm_pagefree(pages[i]);
	ck_assert_uint_ge(free_loaded(), 4);
	ck_assert_ptr_null(uvm_pglistalloc_contig(4, UVM_PGA_NOGROW));
	ck_assert_uint_eq(vm_page_array_n, loaded);
	run = uvm_pglistalloc_contig(4, 0);
	ck_assert_ptr_nonnull(run);
	ck_assert_uint_gt(vm_page_array_n, loaded);
	uvm_pagefree_contig(run, 4);
	for (i = 1; i < n; i += 2)
		uvm_pagefree(pages[i]);
	free(pages);
	assert_sound();
}
END_TEST

START_TEST(test_free_exact_coalesce)
{
	size_t cap = npages_cap(), n, big;
	struct vm_page **pgs = calloc(cap + 1, sizeof(*pgs));
	int free0 = uvmexp.free;
	uint32_t rnd = 12345;

	ck_assert_ptr_nonnull(pgs);
	big = largest_run();
	ck_assert_msg(big >= cap / 4, "largest run %zu of %zu", big, cap);

	n = exhaust(pgs, cap + 1, 0);
	ck_assert_uint_gt(n, cap / 2);
	assert_sound();
	/* free in a scrambled order, so that merging has work to do */
	for (size_t i = n; i > 1; i--) {
		size_t j;
		struct vm_page *t;

		rnd = rnd * 1103515245u + 12345u;
		j = (rnd >> 8) % i;
		t = pgs[i - 1];
		pgs[i - 1] = pgs[j];
		pgs[j] = t;
	}
	free_all(pgs, n);
	kva_drain();
	ck_assert_int_eq(uvmexp.free, free0);
	assert_sound();
	ck_assert_uint_eq(largest_run(), big);
	ck_assert_int_eq(uvmexp.free, free0);
	free(pgs);
}
END_TEST

START_TEST(test_exhaust)
{
	size_t cap = npages_cap(), n;
	struct vm_page **pgs = calloc(cap + 1, sizeof(*pgs));
	int free0 = uvmexp.free;

	ck_assert_ptr_nonnull(pgs);
	n = exhaust(pgs, cap + 1, 0);
	ck_assert_uint_gt(n, 0);
	ck_assert_uint_le(n, cap);	/* pgs[] has room: NULL stopped it */
	ck_assert_ptr_null(alloc1(0));
	ck_assert_ptr_null(uvm_pglistalloc_contig(1, 0));
	ck_assert(!uvm_page_free_ok(1));

	uvm_pagefree(pgs[n / 2]);
	ck_assert(uvm_page_free_ok(1));
	pgs[n / 2] = alloc1(0);
	ck_assert_ptr_nonnull(pgs[n / 2]);
	ck_assert_ptr_null(alloc1(0));

	free_all(pgs, n);
	kva_drain();
	ck_assert_int_eq(uvmexp.free, free0);
	free(pgs);
}
END_TEST

START_TEST(test_reserve)
{
	size_t cap = npages_cap(), n, m;
	struct vm_page **pgs = calloc(cap + 1, sizeof(*pgs));
	int free0 = uvmexp.free, reserve0 = uvmexp.reserve_pagedaemon;

	ck_assert_ptr_nonnull(pgs);
	uvmexp.reserve_pagedaemon = reserve0 + 8;
	n = exhaust(pgs, cap + 1, 0);
	ck_assert_int_le(uvmexp.free, uvmexp.reserve_pagedaemon);
	m = exhaust(pgs + n, cap + 1 - n, UVM_PGA_USERESERVE);
	ck_assert_uint_ge(m, 8);
	ck_assert_int_eq(uvmexp.free, 0);
	free_all(pgs, n + m);
	uvmexp.reserve_pagedaemon = reserve0;
	kva_drain();
	ck_assert_int_eq(uvmexp.free, free0);
	free(pgs);
}
END_TEST

START_TEST(test_lookup)
{
	enum { NOBJ = 24, NOFF = 150 };
	static struct uvm_object objs[NOBJ];
	static struct vm_page *pgs[NOBJ][NOFF];
	int free0 = uvmexp.free;

	for (int o = 0; o < NOBJ; o++) {
		memset(&objs[o], 0, sizeof(objs[o]));
		pthread_mutex_init(&objs[o].vmobjlock, NULL);
		TAILQ_INIT(&objs[o].memq);
		objs[o].uo_refs = 1;
	}
	/* offsets overlap between objects and spread within each */
	for (int o = 0; o < NOBJ; o++) {
		pthread_mutex_lock(&objs[o].vmobjlock);
		for (int i = 0; i < NOFF; i++) {
			voff_t off = (voff_t)ptoa(i * (o % 3 + 1) + (i % 7) *
			    100003);

			ck_assert_ptr_null(uvm_pagelookup(&objs[o], off));
			pgs[o][i] = uvm_pagealloc(&objs[o], off, NULL, 0);
			ck_assert_ptr_nonnull(pgs[o][i]);
			ck_assert(pgs[o][i]->flags & PG_TABLED);
			ck_assert_ptr_eq(pgs[o][i]->uobject, &objs[o]);
			ck_assert(pgs[o][i]->offset == off);
		}
		ck_assert_int_eq(objs[o].uo_npages, NOFF);
		pthread_mutex_unlock(&objs[o].vmobjlock);
	}
	for (int o = 0; o < NOBJ; o++) {
		pthread_mutex_lock(&objs[o].vmobjlock);
		for (int i = 0; i < NOFF; i++) {
			ck_assert_ptr_eq(uvm_pagelookup(&objs[o],
			    pgs[o][i]->offset), pgs[o][i]);
			if ((i + o) % 2)
				continue;
			uvm_pagefree(pgs[o][i]);
			pgs[o][i] = NULL;
		}
		pthread_mutex_unlock(&objs[o].vmobjlock);
	}
	for (int o = 0; o < NOBJ; o++) {
		struct vm_page *pg;
		int count = 0;

		pthread_mutex_lock(&objs[o].vmobjlock);
		for (int i = 0; i < NOFF; i++) {
			voff_t off = (voff_t)ptoa(i * (o % 3 + 1) + (i % 7) *
			    100003);

			ck_assert_ptr_eq(uvm_pagelookup(&objs[o], off),
			    pgs[o][i]);
		}
		ck_assert_int_eq(objs[o].uo_npages, NOFF / 2);
		TAILQ_FOREACH(pg, &objs[o].memq, listq) {
			ck_assert_ptr_eq(pg->uobject, &objs[o]);
			count++;
		}
		ck_assert_int_eq(count, NOFF / 2);
		/* untable without freeing, then free */
		while ((pg = TAILQ_FIRST(&objs[o].memq)) != NULL) {
			voff_t off = pg->offset;

			uvm_pageremove(pg);
			ck_assert_ptr_null(uvm_pagelookup(&objs[o], off));
			ck_assert_int_eq(pg->flags & PG_TABLED, 0);
			uvm_pagefree(pg);
		}
		ck_assert_int_eq(objs[o].uo_npages, 0);
		pthread_mutex_unlock(&objs[o].vmobjlock);
		pthread_mutex_destroy(&objs[o].vmobjlock);
	}
	kva_drain();
	ck_assert_int_eq(uvmexp.free, free0);
	assert_sound();
}
END_TEST

START_TEST(test_zero)
{
	enum { N = 64 };
	struct vm_page *pgs[N];
	long hit0, miss0;

	for (int i = 0; i < N; i++) {
		pgs[i] = alloc1(0);
		ck_assert_ptr_nonnull(pgs[i]);
		memset((void *)pmap_direct_map(VM_PAGE_TO_PHYS(pgs[i])), 0xa5,
		    PAGE_SIZE);
	}
	for (int i = 0; i < N; i++)
		uvm_pagefree(pgs[i]);

	miss0 = uvmexp.pga_zeromiss;
	for (int i = 0; i < N; i++) {
		const unsigned char *p;

		pgs[i] = alloc1(UVM_PGA_ZERO);
		ck_assert_ptr_nonnull(pgs[i]);
		p = (const unsigned char *)pmap_direct_map(
		    VM_PAGE_TO_PHYS(pgs[i]));
		ck_assert(is_zero(p));
	}
	/* the dirty pages came back first, and had to be zeroed */
	ck_assert_int_ge(uvmexp.pga_zeromiss - miss0, N / 2);
	for (int i = 0; i < N; i++)
		uvm_pagefree(pgs[i]);

	/* a page that never held data is known zero: no work */
	{
		struct vm_page *run = uvm_pglistalloc_contig(1024, 0);
		struct vm_page *pg;

		ck_assert_ptr_nonnull(run);
		hit0 = uvmexp.pga_zerohit;
		pg = alloc1(UVM_PGA_ZERO);
		ck_assert_ptr_nonnull(pg);
		if (uvmexp.pga_zerohit == hit0)	/* a reused page, then */
			ck_assert_int_gt(uvmexp.pga_zeromiss, miss0);
		uvm_pagefree(pg);
		uvm_pagefree_contig(run, 1024);
	}

	/* uvm_pagezero on a dirty page */
	pgs[0] = alloc1(0);
	memset((void *)pmap_direct_map(VM_PAGE_TO_PHYS(pgs[0])), 0x5a,
	    PAGE_SIZE);
	uvm_pagezero(pgs[0]);
	ck_assert(is_zero((const unsigned char *)pmap_direct_map(
	    VM_PAGE_TO_PHYS(pgs[0]))));
	uvm_pagefree(pgs[0]);
	ck_assert_int_eq(pgs[0]->flags & PG_ZERO, 0);
	assert_sound();
}
END_TEST

/* run fn in a child; true if the child died (panic) rather than exit 0 */
static int
dies(void (*fn)(void *), void *arg)
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0)
			dup2(fd, 2);
		fn(arg);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void
bad_lookup(void *arg)
{
	(void)PHYS_TO_VM_PAGE((paddr_t)(uintptr_t)arg);
}

static void
double_free(void *arg)
{
	uvm_pagefree(arg);
	uvm_pagefree(arg);
}

START_TEST(test_phys)
{
	struct vm_page *pg = alloc1(0), *q;
	paddr_t pa;

	ck_assert_ptr_nonnull(pg);
	pa = VM_PAGE_TO_PHYS(pg);
	ck_assert_int_eq(pa & PAGE_MASK, 0);
	ck_assert_ptr_eq(PHYS_TO_VM_PAGE(pa), pg);
	ck_assert_ptr_eq(PHYS_TO_VM_PAGE(pa + PAGE_SIZE - 1), pg);
	ck_assert_ptr_eq(pg, &vm_page_array[vm_page_index(pg)]);
	ck_assert_uint_ge(vm_page_array_n, 1);
	ck_assert_uint_le(vm_page_array_n, vm_page_array_max);
	ck_assert_uint_eq(vm_page_array_max, npages_cap());
	ck_assert_int_eq(uvmexp.npages, (int)npages_cap());
	for (size_t i = 0; i < vm_page_array_n; i++) {
		q = &vm_page_array[i];
		ck_assert(VM_PAGE_TO_PHYS(q) == ptoa(i));
		ck_assert_ptr_eq(PHYS_TO_VM_PAGE(VM_PAGE_TO_PHYS(q)), q);
	}
	/* the panics, in a child; forking under valgrind is too slow */
	if (!kva_host_on_valgrind()) {
		ck_assert(dies(bad_lookup,
		    (void *)(uintptr_t)ptoa(npages_cap())));
		ck_assert(dies(double_free, pg));
	}
	uvm_pagefree(pg);
}
END_TEST

struct busy_arg {
	struct uvm_object *obj;
	struct vm_page *pg;
	volatile int woke;
};

static void *
busy_waiter(void *v)
{
	struct busy_arg *a = v;

	pthread_mutex_lock(&a->obj->vmobjlock);
	while (a->pg->flags & PG_BUSY) {
		a->pg->flags |= PG_WANTED;
		UVM_UNLOCK_AND_WAIT(a->pg, &a->obj->vmobjlock, 0, "pgbusy", 0);
		pthread_mutex_lock(&a->obj->vmobjlock);
	}
	__atomic_store_n(&a->woke, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&a->obj->vmobjlock);
	return NULL;
}

START_TEST(test_busy_wanted)
{
	struct uvm_object obj;
	struct busy_arg a = { &obj, NULL, 0 };
	struct vm_page *list[3];
	pthread_t t;
	int wanted = 0, free0 = uvmexp.free;

	memset(&obj, 0, sizeof(obj));
	pthread_mutex_init(&obj.vmobjlock, NULL);
	TAILQ_INIT(&obj.memq);
	pthread_mutex_lock(&obj.vmobjlock);
	a.pg = uvm_pagealloc(&obj, ptoa(3), NULL, 0);
	pthread_mutex_unlock(&obj.vmobjlock);
	ck_assert_ptr_nonnull(a.pg);
	ck_assert(a.pg->flags & PG_BUSY);

	ck_assert_int_eq(pthread_create(&t, NULL, busy_waiter, &a), 0);
	for (int i = 0; i < 5000 && !wanted; i++) {
		pthread_mutex_lock(&obj.vmobjlock);
		wanted = (a.pg->flags & PG_WANTED) != 0;
		pthread_mutex_unlock(&obj.vmobjlock);
		if (!wanted)
			msleep(1);
	}
	ck_assert(wanted);
	msleep(20);
	ck_assert_int_eq(a.woke, 0);

	list[0] = NULL;
	list[1] = a.pg;
	list[2] = PGO_DONTCARE;
	pthread_mutex_lock(&obj.vmobjlock);
	uvm_page_unbusy(list, 3);
	ck_assert_int_eq(a.pg->flags & (PG_BUSY | PG_WANTED), 0);
	pthread_mutex_unlock(&obj.vmobjlock);
	ck_assert(wait_flag(&a.woke));
	pthread_join(t, NULL);

	/* a released page is freed when it is unbusied */
	pthread_mutex_lock(&obj.vmobjlock);
	a.pg->flags |= PG_BUSY | PG_RELEASED;
	uvm_page_unbusy(&list[1], 1);
	ck_assert_ptr_null(uvm_pagelookup(&obj, ptoa(3)));
	ck_assert_int_eq(obj.uo_npages, 0);
	pthread_mutex_unlock(&obj.vmobjlock);
	pthread_mutex_destroy(&obj.vmobjlock);
	kva_drain();
	ck_assert_int_eq(uvmexp.free, free0);
}
END_TEST

static volatile int wait_done;

static void *
free_waiter(void *v)
{
	(void)v;
	uvm_wait("testwait");
	__atomic_store_n(&wait_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

START_TEST(test_uvm_wait)
{
	size_t cap = npages_cap(), n;
	struct vm_page **pgs = calloc(cap + 1, sizeof(*pgs));
	pthread_t t;
	int free0 = uvmexp.free;

	ck_assert_ptr_nonnull(pgs);
	n = exhaust(pgs, cap + 1, UVM_PGA_USERESERVE);
	ck_assert_int_eq(uvmexp.free, 0);
	wait_done = 0;
	ck_assert_int_eq(pthread_create(&t, NULL, free_waiter, NULL), 0);
	msleep(100);
	ck_assert_int_eq(wait_done, 0);
	uvm_pagefree(pgs[--n]);
	ck_assert(wait_flag(&wait_done));
	pthread_join(t, NULL);

	/* with free pages, uvm_wait does not sleep */
	uvm_wait("nowait");
	free_all(pgs, n);
	kva_drain();
	ck_assert_int_eq(uvmexp.free, free0);
	free(pgs);
}
END_TEST

START_TEST(test_queues)
{
	struct vm_page *pg = alloc1(0);
	int active0 = uvmexp.active, inactive0 = uvmexp.inactive;
	int wired0 = uvmexp.wired, free0;

	ck_assert_ptr_nonnull(pg);
	free0 = uvmexp.free;
	uvm_lock_pageq();
	uvm_pageactivate(pg);
	ck_assert(pg->pqflags & PQ_ACTIVE);
	ck_assert_int_eq(uvmexp.active, active0 + 1);
	uvm_pagedeactivate(pg);
	ck_assert(pg->pqflags & PQ_INACTIVE);
	ck_assert_int_eq(uvmexp.active, active0);
	ck_assert_int_eq(uvmexp.inactive, inactive0 + 1);
	uvm_pagewire(pg);
	uvm_pagewire(pg);
	ck_assert_int_eq(pg->pqflags & (PQ_ACTIVE | PQ_INACTIVE), 0);
	ck_assert_int_eq(uvmexp.inactive, inactive0);
	ck_assert_int_eq(uvmexp.wired, wired0 + 1);
	uvm_pageunwire(pg);
	ck_assert_int_eq(uvmexp.wired, wired0 + 1);
	uvm_pageunwire(pg);
	ck_assert_int_eq(uvmexp.wired, wired0);
	ck_assert(pg->pqflags & PQ_ACTIVE);
	uvm_pagewire(pg);
	uvm_unlock_pageq();
	uvm_pagefree(pg);		/* takes the page queue lock itself */
	ck_assert_int_eq(uvmexp.wired, wired0);
	ck_assert_int_eq(uvmexp.active, active0);
	ck_assert_int_eq(uvmexp.free, free0 + 1);

	/* a queued page, freed by uvm_page_unbusy as released */
	pg = alloc1(0);
	ck_assert_ptr_nonnull(pg);
	uvm_lock_pageq();
	uvm_pageactivate(pg);
	uvm_unlock_pageq();
	pg->flags |= PG_RELEASED;
	uvm_page_unbusy(&pg, 1);
	ck_assert_int_eq(uvmexp.active, active0);
	ck_assert_int_eq(uvmexp.free, free0 + 1);
	assert_sound();
}
END_TEST

struct stress_arg {
	uint32_t seed;
	int ops;
};

static void *
stress(void *v)
{
	struct stress_arg *a = v;
	enum { SLOTS = 128 };
	struct vm_page *slot[SLOTS] = { 0 };
	size_t len[SLOTS] = { 0 };
	uint32_t r = a->seed;

	for (int i = 0; i < a->ops; i++) {
		int s;

		r = r * 1664525u + 1013904223u;
		s = (int)((r >> 8) % SLOTS);
		if (slot[s] != NULL) {
			if (len[s] == 1)
				uvm_pagefree(slot[s]);
			else
				uvm_pagefree_contig(slot[s], len[s]);
			slot[s] = NULL;
		} else if (r & 1) {
			slot[s] = alloc1((r & 2) ? UVM_PGA_ZERO : 0);
			len[s] = 1;
		} else {
			len[s] = 1 + (r >> 24) % 40;
			slot[s] = uvm_pglistalloc_contig(len[s], 0);
		}
	}
	for (int s = 0; s < SLOTS; s++)
		if (slot[s] != NULL)
			uvm_pagefree_contig(slot[s], len[s]);
	return NULL;
}

START_TEST(test_threads)
{
	enum { NT = 4 };
	pthread_t t[NT];
	struct stress_arg a[NT];
	int free0 = uvmexp.free;

	for (int i = 0; i < NT; i++) {
		a[i].seed = 77u + (uint32_t)i * 1000003u;
		a[i].ops = kva_host_on_valgrind() ? 4000 : 40000;
		ck_assert_int_eq(pthread_create(&t[i], NULL, stress, &a[i]), 0);
	}
	for (int i = 0; i < NT; i++)
		pthread_join(t[i], NULL);
	kva_drain();
	ck_assert_int_eq(uvmexp.free, free0);
	assert_sound();
}
END_TEST

/* ------------------------------------------------------------------ */
/* Reservations (uvm_page.c, section 8). */

static void
obj_init(struct uvm_object *o)
{
	memset(o, 0, sizeof(*o));
	pthread_mutex_init(&o->vmobjlock, NULL);
	TAILQ_INIT(&o->memq);
	o->uo_refs = 1;
}

static void
obj_fini(struct uvm_object *o)
{
	ck_assert_int_eq(o->uo_npages, 0);
	pthread_mutex_destroy(&o->vmobjlock);
}

/* ralloc / rfree: a page of o at off with UVM_PGA_RESERV, and back */
static struct vm_page *
ralloc(struct uvm_object *o, voff_t off, int flags)
{
	struct vm_page *pg;

	pthread_mutex_lock(&o->vmobjlock);
	pg = uvm_pagealloc(o, off, NULL, flags | UVM_PGA_RESERV);
	pthread_mutex_unlock(&o->vmobjlock);
	return pg;
}

static void
rfree(struct uvm_object *o, struct vm_page *pg)
{
	pthread_mutex_lock(&o->vmobjlock);
	uvm_pagefree(pg);
	pthread_mutex_unlock(&o->vmobjlock);
}

/* the offset of page idx of chunk c */
static voff_t
chunk_off(uint64_t c, size_t idx)
{
	return (voff_t)(c * UVM_RESV_SIZE + ptoa(idx));
}

static size_t
frame_of(const struct vm_page *pg)
{
	return vm_page_index(pg);
}

static void
shuffle(void *base, size_t n, size_t size, uint32_t *rnd)
{
	unsigned char *a = base, t[sizeof(void *) > sizeof(size_t) ?
	    sizeof(void *) : sizeof(size_t)];

	ck_assert_uint_le(size, sizeof(t));
	for (size_t i = n; i > 1; i--) {
		size_t j;

		*rnd = *rnd * 1103515245u + 12345u;
		j = (*rnd >> 8) % i;
		memcpy(t, a + (i - 1) * size, size);
		memcpy(a + (i - 1) * size, a + j * size, size);
		memcpy(a + j * size, t, size);
	}
}

START_TEST(test_reserv_order)
{
	const size_t rp = UVM_RESV_PAGES;
	const uint64_t chunk = 3;
	size_t *perm = calloc(rp, sizeof(*perm)), base = 0, big;
	struct vm_page **pgs = calloc(rp, sizeof(*pgs)), *pg;
	struct uvm_object obj;
	uint32_t rnd = 4242;
	int free0;

	ck_assert_ptr_nonnull(perm);
	ck_assert_ptr_nonnull(pgs);
	ck_assert_uint_eq(UVM_RESV_SIZE, 2u << 20);
	ck_assert_uint_eq(rp * PAGE_SIZE, UVM_RESV_SIZE);
	obj_init(&obj);
	big = largest_run();
	free0 = uvmexp.free;
	for (size_t i = 0; i < rp; i++)
		perm[i] = i;
	shuffle(perm, rp, sizeof(*perm), &rnd);

	/* pages touched in random order land where their offsets say */
	for (size_t i = 0; i < rp; i++) {
		size_t idx = perm[i];

		pg = ralloc(&obj, chunk_off(chunk, idx), 0);
		ck_assert_ptr_nonnull(pg);
		ck_assert_int_eq(pg->flags,
		    PG_BUSY | PG_FAKE | PG_CLEAN | PG_TABLED);
		ck_assert_int_eq(pg->pqflags & PQ_FREE, 0);
		if (i == 0) {
			ck_assert_uint_ge(frame_of(pg), idx);
			base = frame_of(pg) - idx;
			ck_assert_uint_eq(base % rp, 0);
			ck_assert_uint_eq(ptoa(base) % UVM_RESV_SIZE, 0);
		}
		ck_assert_uint_eq(frame_of(pg), base + idx);
		ck_assert(VM_PAGE_TO_PHYS(pg) == ptoa(base) +
		    (vaddr_t)(chunk_off(chunk, idx) - chunk_off(chunk, 0)));
		/* reserving costs nothing: free drops by the pages taken */
		ck_assert_int_eq(uvmexp.free, free0 - (int)(i + 1));
		ck_assert_int_eq(uvm_reserv_populated(&obj,
		    chunk_off(chunk, perm[0])), (int)(i + 1));
		ck_assert_int_eq(uvm_reserv_populated(&obj,
		    chunk_off(chunk, rp - 1 - idx)), (int)(i + 1));
		pgs[idx] = pg;
		if (i == rp / 2 || i == 0)
			assert_sound();
	}
	ck_assert_int_eq(uvm_reserv_populated(&obj, chunk_off(chunk - 1,
	    rp - 1)), 0);
	ck_assert_int_eq(uvm_reserv_populated(&obj, chunk_off(chunk + 1, 0)),
	    0);
	pthread_mutex_lock(&obj.vmobjlock);
	for (size_t i = 0; i < rp; i++)
		ck_assert_ptr_eq(uvm_pagelookup(&obj, chunk_off(chunk, i)),
		    pgs[i]);
	pthread_mutex_unlock(&obj.vmobjlock);
	assert_sound();

	/* ordinary pages do not come from the run */
	pg = alloc1(0);
	ck_assert_ptr_nonnull(pg);
	ck_assert(frame_of(pg) < base || frame_of(pg) >= base + rp);
	uvm_pagefree(pg);

	/* freed in another order, the run goes back whole */
	shuffle(perm, rp, sizeof(*perm), &rnd);
	for (size_t i = 0; i < rp; i++) {
		rfree(&obj, pgs[perm[i]]);
		ck_assert_int_eq(uvmexp.free, free0 - (int)(rp - i - 1));
		ck_assert_int_eq(uvm_reserv_populated(&obj,
		    chunk_off(chunk, 0)), (int)(rp - i - 1));
		if (i == rp / 3)
			assert_sound();
	}
	kva_drain();
	ck_assert_int_eq(uvmexp.free, free0);
	assert_sound();
	ck_assert_uint_eq(largest_run(), big);
	ck_assert_uint_eq(uvm_reserv_break_all(), 0);
	obj_fini(&obj);
	free(pgs);
	free(perm);
}
END_TEST

START_TEST(test_reserv_separate)
{
	const size_t rp = UVM_RESV_PAGES;
	enum { NORD = 64 };
	struct uvm_object a, b;
	struct vm_page *p[4], *q[NORD];
	size_t base[3];
	int free0 = uvmexp.free;

	obj_init(&a);
	obj_init(&b);
	p[0] = ralloc(&a, chunk_off(0, 5), 0);
	p[1] = ralloc(&a, chunk_off(1, 5), 0);
	p[2] = ralloc(&b, chunk_off(0, 7), UVM_PGA_ZERO);
	p[3] = ralloc(&a, chunk_off(1, rp - 1), 0);
	for (int i = 0; i < 4; i++)
		ck_assert_ptr_nonnull(p[i]);
	base[0] = frame_of(p[0]) - 5;
	base[1] = frame_of(p[1]) - 5;
	base[2] = frame_of(p[2]) - 7;
	for (int i = 0; i < 3; i++) {
		ck_assert_uint_eq(base[i] % rp, 0);
		for (int j = 0; j < i; j++)
			ck_assert_uint_ne(base[i], base[j]);
	}
	ck_assert_uint_eq(frame_of(p[3]), base[1] + rp - 1);
	ck_assert_int_eq(p[2]->flags & PG_ZERO, 0);
	ck_assert(is_zero((const unsigned char *)pmap_direct_map(
	    VM_PAGE_TO_PHYS(p[2]))));
	ck_assert_int_eq(uvm_reserv_populated(&a, chunk_off(0, 0)), 1);
	ck_assert_int_eq(uvm_reserv_populated(&a, chunk_off(1, 0)), 2);
	ck_assert_int_eq(uvm_reserv_populated(&b, chunk_off(0, rp - 1)), 1);
	ck_assert_int_eq(uvm_reserv_populated(&b, chunk_off(1, 5)), 0);
	ck_assert_int_eq(uvm_reserv_populated(NULL, chunk_off(0, 5)), 0);
	ck_assert_int_eq(uvm_reserv_populated(&a, -1), 0);

	/* while memory is plentiful, no other allocation takes their frames */
	for (int i = 0; i < NORD; i++) {
		q[i] = i % 2 ? alloc1(0) : uvm_pagealloc(&a, chunk_off(0,
		    (size_t)i), NULL, 0);
		ck_assert_ptr_nonnull(q[i]);
		for (int j = 0; j < 3; j++)
			ck_assert(frame_of(q[i]) < base[j] ||
			    frame_of(q[i]) >= base[j] + rp);
	}
	ck_assert_int_eq(uvmexp.free, free0 - 4 - NORD);
	assert_sound();
	pthread_mutex_lock(&a.vmobjlock);
	for (int i = 0; i < NORD; i++)
		uvm_pagefree(q[i]);
	pthread_mutex_unlock(&a.vmobjlock);
	ck_assert_int_eq(uvm_reserv_populated(&a, chunk_off(0, 0)), 1);
	rfree(&a, p[0]);
	rfree(&a, p[1]);
	rfree(&b, p[2]);
	ck_assert_int_eq(uvm_reserv_populated(&a, chunk_off(0, 0)), 0);
	ck_assert_int_eq(uvm_reserv_populated(&a, chunk_off(1, 0)), 1);
	ck_assert_int_eq(uvm_reserv_populated(&b, chunk_off(0, 0)), 0);
	assert_sound();
	rfree(&a, p[3]);
	kva_drain();
	ck_assert_int_eq(uvmexp.free, free0);
	assert_sound();
	ck_assert_uint_eq(uvm_reserv_break_all(), 0);
	obj_fini(&a);
	obj_fini(&b);
}
END_TEST

START_TEST(test_reserv_fallback)
{
	const size_t rp = UVM_RESV_PAGES;
	struct uvm_object o;
	struct vm_page *pin, *x, *y, *run[3];
	size_t base;
	long miss0;
	int free0 = uvmexp.free;

	obj_init(&o);
	pin = ralloc(&o, chunk_off(2, 0), 0);	/* keeps the run reserved */
	ck_assert_ptr_nonnull(pin);
	base = frame_of(pin);
	ck_assert_uint_eq(base % rp, 0);

	/* a dirty page freed into its run comes back there, zeroed */
	x = ralloc(&o, chunk_off(2, 9), 0);
	ck_assert_ptr_nonnull(x);
	ck_assert_uint_eq(frame_of(x), base + 9);
	memset((void *)pmap_direct_map(VM_PAGE_TO_PHYS(x)), 0xa5, PAGE_SIZE);
	rfree(&o, x);
	ck_assert_int_eq(uvm_reserv_populated(&o, chunk_off(2, 0)), 1);
	assert_sound();
	miss0 = uvmexp.pga_zeromiss;
	x = ralloc(&o, chunk_off(2, 9), UVM_PGA_ZERO);
	ck_assert_ptr_nonnull(x);
	ck_assert_uint_eq(frame_of(x), base + 9);
	ck_assert_int_eq(uvmexp.pga_zeromiss, miss0 + 1);
	ck_assert(is_zero((const unsigned char *)pmap_direct_map(
	    VM_PAGE_TO_PHYS(x))));
	ck_assert_int_eq(x->flags & PG_ZERO, 0);

	/* the frame at the page's place is in use: an ordinary page */
	pthread_mutex_lock(&o.vmobjlock);
	uvm_pageremove(x);		/* x stays allocated */
	pthread_mutex_unlock(&o.vmobjlock);
	y = ralloc(&o, chunk_off(2, 9), 0);
	ck_assert_ptr_nonnull(y);
	ck_assert_ptr_ne(y, x);
	ck_assert(frame_of(y) < base || frame_of(y) >= base + rp);
	ck_assert(y->flags & PG_TABLED);
	ck_assert_int_eq(uvm_reserv_populated(&o, chunk_off(2, 0)), 2);
	ck_assert_int_eq(uvmexp.free, free0 - 3);
	assert_sound();
	rfree(&o, y);
	uvm_pagefree(x);
	ck_assert_int_eq(uvm_reserv_populated(&o, chunk_off(2, 0)), 1);

	/* uvm_pagefree_contig gives reserved pages back to their run */
	for (int i = 0; i < 3; i++) {
		run[i] = ralloc(&o, chunk_off(2, 100 + (size_t)i), 0);
		ck_assert_ptr_nonnull(run[i]);
		ck_assert_ptr_eq(run[i], &vm_page_array[base + 100 + i]);
	}
	ck_assert_int_eq(uvm_reserv_populated(&o, chunk_off(2, 0)), 4);
	pthread_mutex_lock(&o.vmobjlock);
	for (int i = 0; i < 3; i++)
		uvm_pageremove(run[i]);
	pthread_mutex_unlock(&o.vmobjlock);
	uvm_pagefree_contig(run[0], 3);
	ck_assert_int_eq(uvm_reserv_populated(&o, chunk_off(2, 0)), 1);
	ck_assert_int_eq(uvmexp.free, free0 - 1);
	assert_sound();

	/* a double free of a page of a live run still panics */
	if (!kva_host_on_valgrind()) {
		x = ralloc(&o, chunk_off(2, 11), 0);
		ck_assert_ptr_nonnull(x);
		pthread_mutex_lock(&o.vmobjlock);
		uvm_pageremove(x);
		pthread_mutex_unlock(&o.vmobjlock);
		ck_assert(dies(double_free, x));
		uvm_pagefree(x);
	}

	rfree(&o, pin);
	ck_assert_int_eq(uvm_reserv_populated(&o, chunk_off(2, 0)), 0);
	kva_drain();
	ck_assert_int_eq(uvmexp.free, free0);
	assert_sound();
	obj_fini(&o);
}
END_TEST

START_TEST(test_reserv_break_all)
{
	enum { NCH = 3, PER = 5 };
	struct uvm_object o;
	struct vm_page *pgs[NCH][PER];
	size_t big = largest_run();
	int free0 = uvmexp.free;

	obj_init(&o);
	for (int c = 0; c < NCH; c++)
		for (int i = 0; i < PER; i++) {
			pgs[c][i] = ralloc(&o, chunk_off((uint64_t)c * 7,
			    (size_t)(i * 31 + c)), 0);
			ck_assert_ptr_nonnull(pgs[c][i]);
		}
	for (int c = 0; c < NCH; c++)
		ck_assert_int_eq(uvm_reserv_populated(&o,
		    chunk_off((uint64_t)c * 7, 0)), PER);
	ck_assert_int_eq(uvmexp.free, free0 - NCH * PER);
	ck_assert_uint_eq(uvm_reserv_break_all(), NCH);
	ck_assert_uint_eq(uvm_reserv_break_all(), 0);
	ck_assert_int_eq(uvmexp.free, free0 - NCH * PER);
	for (int c = 0; c < NCH; c++)
		ck_assert_int_eq(uvm_reserv_populated(&o,
		    chunk_off((uint64_t)c * 7, 0)), 0);
	assert_sound();

	/* their pages are ordinary now; a new page of the chunk reserves
	 * a new run, which cannot be the old one (part of it is in use) */
	{
		struct vm_page *n = ralloc(&o, chunk_off(0, 400), 0);

		ck_assert_ptr_nonnull(n);
		ck_assert_int_eq(uvm_reserv_populated(&o, chunk_off(0, 0)), 1);
		ck_assert_uint_ne(frame_of(n) / UVM_RESV_PAGES,
		    frame_of(pgs[0][0]) / UVM_RESV_PAGES);
		rfree(&o, n);
	}
	for (int c = 0; c < NCH; c++)
		for (int i = 0; i < PER; i++)
			rfree(&o, pgs[c][i]);
	kva_drain();
	ck_assert_int_eq(uvmexp.free, free0);
	assert_sound();
	ck_assert_uint_eq(largest_run(), big);
	obj_fini(&o);
}
END_TEST

struct rstress_arg {
	uint32_t seed;
	int ops;
	struct uvm_object obj;
};

static void *
rstress(void *v)
{
	struct rstress_arg *a = v;
	enum { SLOTS = 256, NCHUNK = 4 };
	struct vm_page *slot[SLOTS] = { 0 };
	size_t len[SLOTS] = { 0 };
	uint32_t r = a->seed;

	for (int i = 0; i < a->ops; i++) {
		int s;

		r = r * 1664525u + 1013904223u;
		s = (int)((r >> 8) % SLOTS);
		if (slot[s] != NULL) {
			if (len[s] == 1 && (r & 4))
				uvm_pagefree(slot[s]);
			else
				uvm_pagefree_contig(slot[s], len[s]);
			slot[s] = NULL;
			continue;
		}
		len[s] = 1;
		switch (r & 3) {
		case 0:
		case 1: {
			voff_t off = chunk_off((r >> 12) % NCHUNK,
			    (r >> 16) % UVM_RESV_PAGES);

			/* untabled at once: the same offset may be asked
			 * for again while this page lives (the fallback) */
			pthread_mutex_lock(&a->obj.vmobjlock);
			slot[s] = uvm_pagealloc(&a->obj, off, NULL,
			    UVM_PGA_RESERV | ((r & 0x10) ? UVM_PGA_ZERO : 0));
			if (slot[s] != NULL)
				uvm_pageremove(slot[s]);
			pthread_mutex_unlock(&a->obj.vmobjlock);
			break;
		}
		case 2:
			slot[s] = alloc1(0);
			break;
		default:
			len[s] = 1 + (r >> 24) % 40;
			slot[s] = uvm_pglistalloc_contig(len[s], 0);
			break;
		}
	}
	for (int s = 0; s < SLOTS; s++)
		if (slot[s] != NULL)
			uvm_pagefree_contig(slot[s], len[s]);
	return NULL;
}

START_TEST(test_reserv_threads)
{
	enum { NT = 4 };
	pthread_t t[NT];
	static struct rstress_arg a[NT];
	int free0 = uvmexp.free;

	for (int i = 0; i < NT; i++) {
		obj_init(&a[i].obj);
		a[i].seed = 99u + (uint32_t)i * 7919u;
		a[i].ops = kva_host_on_valgrind() ? 4000 : 40000;
		ck_assert_int_eq(pthread_create(&t[i], NULL, rstress, &a[i]),
		    0);
	}
	for (int i = 0; i < NT; i++)
		pthread_join(t[i], NULL);
	kva_drain();
	ck_assert_int_eq(uvmexp.free, free0);
	assert_sound();
	/* every page was freed, so every reservation went with its last */
	ck_assert_uint_eq(uvm_reserv_break_all(), 0);
	for (int i = 0; i < NT; i++)
		obj_fini(&a[i].obj);
}
END_TEST

/*
 * With 8 MiB of physical memory: reserve as many runs as there are, one
 * of them filled and the others holding one page each; ordinary
 * allocations must then go on until every frame is in use, breaking the
 * sparse reservations (not the full one) as the free lists run dry.
 */
#define SMALL_PHYSMEM ((size_t)8 << 20)

static void
setup_small(void)
{
	struct kva_config cfg = { .physmem = SMALL_PHYSMEM,
	    .kva = 4ULL << 30 };

	ck_assert_int_eq(kva_init(&cfg), 0);
	kva_drain();
}

START_TEST(test_reserv_pressure)
{
	const size_t rp = UVM_RESV_PAGES, cap = SMALL_PHYSMEM / PAGE_SIZE;
	enum { MAXCH = 16 };
	struct vm_page **pgs = calloc(cap + 1, sizeof(*pgs)), *pg;
	struct uvm_object obj;
	voff_t offs[MAXCH];
	size_t nres = 0, n = 0, live, lastlive, base0, big;
	uint32_t rnd = 777;
	int free0;

	ck_assert_ptr_nonnull(pgs);
	obj_init(&obj);
	big = largest_run();
	free0 = uvmexp.free;
	ck_assert_int_gt(free0, (int)(2 * rp));

	/* all runs but one: the last reservation would take the last free
	 * block, and the next ordinary page would break the oldest */
	while (nres + 1 < (size_t)free0 / rp && nres < MAXCH) {
		voff_t off = chunk_off(nres, (nres * 37) % rp);

		pg = ralloc(&obj, off, 0);
		ck_assert_ptr_nonnull(pg);
		ck_assert_int_eq(uvm_reserv_populated(&obj, off), 1);
		pgs[n++] = pg;
		offs[nres++] = off;
	}
	ck_assert_uint_ge(nres, 2);
	base0 = frame_of(pgs[0]);
	ck_assert_uint_eq(base0 % rp, 0);
	for (size_t i = 1; i < rp; i++) {
		pg = ralloc(&obj, chunk_off(0, i), 0);
		ck_assert_ptr_nonnull(pg);
		ck_assert_uint_eq(frame_of(pg), base0 + i);
		pgs[n++] = pg;
	}
	ck_assert_int_eq(uvm_reserv_populated(&obj, offs[0]), (int)rp);
	ck_assert_int_eq(uvmexp.free, free0 - (int)n);
	assert_sound();

	lastlive = nres - 1;
	for (;;) {
		int before = uvmexp.free;

		pg = alloc1(UVM_PGA_USERESERVE);
		if (pg == NULL)
			break;
		ck_assert_int_eq(uvmexp.free, before - 1);
		ck_assert_uint_lt(n, cap);
		pgs[n++] = pg;
		live = 0;
		for (size_t k = 1; k < nres; k++)
			live += uvm_reserv_populated(&obj, offs[k]) > 0;
		if (live != lastlive) {
			/* a reservation was broken: only when nothing else
			 * was free */
			ck_assert_uint_eq(live + 1, lastlive);
			assert_sound();
			lastlive = live;
		}
	}
	/* every frame is in use; the sparse runs were broken, the full one
	 * was not */
	ck_assert_int_eq(uvmexp.free, 0);
	ck_assert_uint_eq(n, (size_t)free0);
	ck_assert_uint_eq(lastlive, 0);
	ck_assert_int_eq(uvm_reserv_populated(&obj, offs[0]), (int)rp);
	ck_assert_ptr_null(ralloc(&obj, chunk_off(MAXCH + 1, 0),
	    UVM_PGA_USERESERVE));
	ck_assert_ptr_null(uvm_pglistalloc_contig(1, UVM_PGA_USERESERVE));
	assert_sound();

	shuffle(pgs, n, sizeof(*pgs), &rnd);
	pthread_mutex_lock(&obj.vmobjlock);
	for (size_t i = 0; i < n; i++) {
		uvm_pagefree(pgs[i]);
		if (i == n / 2) {
			pthread_mutex_unlock(&obj.vmobjlock);
			assert_sound();
			pthread_mutex_lock(&obj.vmobjlock);
		}
	}
	pthread_mutex_unlock(&obj.vmobjlock);
	kva_drain();
	ck_assert_int_eq(uvmexp.free, free0);
	ck_assert_int_eq(uvm_reserv_populated(&obj, offs[0]), 0);
	assert_sound();
	ck_assert_uint_eq(uvm_reserv_break_all(), 0);
	ck_assert_uint_eq(largest_run(), big);
	obj_fini(&obj);
	free(pgs);
}
END_TEST

static Suite *
page_suite(void)
{
	Suite *s = suite_create("page");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_sequential);
	tcase_add_test(tc, test_contig);
	tcase_add_test(tc, test_contig_nogrow);
	tcase_add_test(tc, test_free_exact_coalesce);
	tcase_add_test(tc, test_exhaust);
	tcase_add_test(tc, test_reserve);
	tcase_add_test(tc, test_lookup);
	tcase_add_test(tc, test_zero);
	tcase_add_test(tc, test_phys);
	tcase_add_test(tc, test_busy_wanted);
	tcase_add_test(tc, test_uvm_wait);
	tcase_add_test(tc, test_queues);
	tcase_add_test(tc, test_threads);
	tcase_add_test(tc, test_reserv_order);
	tcase_add_test(tc, test_reserv_separate);
	tcase_add_test(tc, test_reserv_fallback);
	tcase_add_test(tc, test_reserv_break_all);
	tcase_add_test(tc, test_reserv_threads);
	suite_add_tcase(s, tc);

	tc = tcase_create("small");
	tcase_add_checked_fixture(tc, setup_small, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_reserv_pressure);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(page_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}

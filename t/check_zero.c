/*
 * check_zero.c: unit tests of the background zeroer (uvm_pdzero.c), the
 * free-list classes it works on (uvm_page.c, section 9) and the host
 * side (pmap_posix/pmap_async.c).
 *
 * The same tests run twice: with io_uring (uring=1; the synchronous
 * path under valgrind, which is what kva picks there) and with uring=0,
 * and each checks which path was taken.  Physical memory is 64 MiB,
 * loaded in one segment; 8 MiB are kept zeroed ahead.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kva_impl.h"
#include "pmap_posix/pmap_md.h"
#include "kva_track.h"

/* pmap.c, for the tests: the memfd that holds physical address pa (a
 * process that has not forked has one) */
int pmap_physmem_fd(paddr_t pa, size_t *span);

static int want_uring;

static void
boot(const char *options)
{
	struct kva_config cfg = { .physmem = 64 << 20, .kva = 4ULL << 30,
	    .options = options };

	ck_assert_int_eq(kva_init(&cfg), 0);
	kva_drain();
}

static void
setup_uring(void)
{
	want_uring = 1;
	boot("uring=1,prezero=8M");
}

static void
setup_sync(void)
{
	want_uring = 0;
	boot("uring=0,prezero=8M");
}

static void
teardown(void)
{
	kva_fini();
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

	while (nanosleep(&ts, &ts) != 0)
		;
}

/* the path taken is the one asked for (valgrind: always synchronous) */
static void
assert_path(void)
{
	int expect = want_uring && !kva_track_on_valgrind();

	ck_assert_int_eq(uvm_pdzero_uring(), expect);
	ck_assert_int_eq(uvm_pdzero_running(), 1);
}

/* dirty: allocate size bytes of wired memory, fill it, free it */
static void
dirty(size_t size, int byte)
{
	vm_offset_t va = uvm_km_alloc1(kernel_map, size, FALSE);

	ck_assert(va != 0);
	memset((void *)va, byte, size);
	uvm_km_free(kernel_map, va, size);
}

static void
assert_zero(const void *p, size_t len, const char *what)
{
	const unsigned char *c = p;
	size_t i = 0;

	/* one assertion at the end: Check records every one it makes */
	while (i < len && c[i] == 0)
		i++;
	ck_assert_msg(i == len, "%s: byte %zu is %#x", what, i,
	    i < len ? c[i] : 0);
}

static long
memfd_bytes(void)
{
	struct stat st;
	size_t span;

	ck_assert_int_eq(fstat(pmap_physmem_fd(0, &span), &st), 0);
	ck_assert_uint_eq(span, SIZE_MAX);	/* one memfd */
	return (long)st.st_blocks * 512;
}

/* zeroed allocations read zero after reuse of dirty pages */
START_TEST(test_zero_after_reuse)
{
	size_t size = (size_t)4 << 20, n = size >> PAGE_SHIFT;
	long zeroed0 = uvmexp.pdzeroed, hit0;
	struct vm_page **pgs;
	vm_offset_t va;

	assert_path();
	dirty(size, 0xa5);
	kva_drain();
	assert_sound();
	ck_assert_msg(uvmexp.pdzeroed - zeroed0 >= (long)n,
	    "%ld pages zeroed ahead, wanted %zu", uvmexp.pdzeroed - zeroed0, n);
	ck_assert_uint_ge(uvm_pdz_prezeroed(), n);

	/* UVM_PGA_ZERO: pages known zero, read through the direct map */
	pgs = calloc(n, sizeof(*pgs));
	ck_assert(pgs != NULL);
	hit0 = uvmexp.pga_zerohit;
	for (size_t i = 0; i < n; i++) {
		pgs[i] = uvm_pagealloc(NULL, 0, NULL, UVM_PGA_ZERO);
		ck_assert(pgs[i] != NULL);
		assert_zero((void *)pmap_direct_map(VM_PAGE_TO_PHYS(pgs[i])),
		    PAGE_SIZE, "UVM_PGA_ZERO");
	}
	ck_assert_int_eq(uvmexp.pga_zerohit - hit0, (long)n);
	for (size_t i = 0; i < n; i++)
		uvm_pagefree(pgs[i]);
	free(pgs);

	/* uvm_km_zalloc and uvm_km_valloc after dirtying again */
	dirty(size, 0x5a);
	kva_drain();
	va = uvm_km_zalloc(kernel_map, size);
	ck_assert(va != 0);
	assert_zero((void *)va, size, "uvm_km_zalloc");
	memset((void *)va, 0x77, size);
	uvm_km_free(kernel_map, va, size);
	kva_drain();
	va = uvm_km_valloc(kernel_map, size);
	ck_assert(va != 0);
	assert_zero((void *)va, size, "uvm_km_valloc");
	uvm_km_free(kernel_map, va, size);
	kva_drain();
	assert_sound();
}
END_TEST

/* idle free memory is punched after the delay */
START_TEST(test_decommit_idle)
{
	size_t size = (size_t)16 << 20;
	long dec0, before, after;
	vm_offset_t va;

	kva_fini();
	boot(want_uring ? "uring=1,decommit=100,prezero=0" :
	    "uring=0,decommit=100,prezero=0");
	assert_path();
	dec0 = uvmexp.decommitted;
	va = uvm_km_alloc1(kernel_map, size, FALSE);
	ck_assert(va != 0);
	memset((void *)va, 0x3c, size);
	before = memfd_bytes();		/* while it is in use: nothing idles */
	ck_assert_int_ge(before, (long)size);
	uvm_km_free(kernel_map, va, size);
	for (int i = 0; i < 100 && uvmexp.decommitted - dec0 < (long)size; i++)
		msleep(50);
	kva_drain();
	after = memfd_bytes();
	ck_assert_msg(uvmexp.decommitted - dec0 >= (long)size,
	    "decommitted %ld bytes, wanted %zu", uvmexp.decommitted - dec0,
	    size);
	ck_assert_msg(before - after >= (long)size,
	    "memfd held %ld bytes, then %ld", before, after);
	ck_assert_uint_eq(uvm_pdz_prezeroed(), 0);
	assert_sound();
}
END_TEST

/* a quick free-then-alloc loop decommits nothing (default delay) */
START_TEST(test_loop_no_decommit)
{
	size_t size = 16 * PAGE_SIZE;
	long dec0 = uvmexp.decommitted;
	uint64_t t0 = kva_host_nanotime();

	while (kva_host_nanotime() - t0 < 300000000ull) {
		vm_offset_t va = uvm_km_alloc1(kernel_map, size, FALSE);

		ck_assert(va != 0);
		for (size_t i = 0; i < size; i += PAGE_SIZE)
			((volatile char *)va)[i] = 1;
		uvm_km_free(kernel_map, va, size);
	}
	ck_assert_int_eq(uvmexp.decommitted, dec0);
	assert_sound();
}
END_TEST

/* after kva_drain the counters are back where they started */
START_TEST(test_drain_exact)
{
	size_t size = (size_t)2 << 20;
	int free0, zero0;
	vm_offset_t va;

	dirty(size, 0x11);	/* settle physical memory growth */
	kva_drain();
	free0 = uvmexp.free;
	zero0 = uvmexp.zeropages;
	va = uvm_km_zalloc(kernel_map, size);
	ck_assert(va != 0);
	memset((void *)va, 0x22, size);
	ck_assert_int_lt(uvmexp.free, free0);
	uvm_km_free(kernel_map, va, size);
	kva_drain();
	ck_assert_int_eq(uvmexp.free, free0);
	ck_assert_int_eq(uvmexp.zeropages, zero0);
	assert_sound();
	/* with nothing to do, kva_drain returns at once */
	{
		uint64_t t0 = kva_host_nanotime();

		kva_drain();
		ck_assert_uint_lt(kva_host_nanotime() - t0, 50000000ull);
	}
}
END_TEST

/* a trim punches every free block, whatever its age */
START_TEST(test_trim)
{
	long dec0 = uvmexp.decommitted;

	dirty((size_t)8 << 20, 0x44);
	kva_drain();
	ck_assert_uint_gt(uvm_pdz_prezeroed(), 0);
	uvm_pdzero_drain(1);
	ck_assert_uint_eq(uvm_pdz_prezeroed(), 0);
	ck_assert_int_ge(uvmexp.decommitted - dec0, 8 << 20);
	ck_assert_int_le(memfd_bytes(), 1 << 20);
	assert_sound();
}
END_TEST

/* the child of a fork gets a zeroer of its own at its first drain */
START_TEST(test_fork)
{
	pid_t pid;
	int status;

	if (kva_track_on_valgrind())
		return;		/* forks under valgrind are too slow */
	dirty((size_t)4 << 20, 0x66);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		vm_offset_t va;
		char why[256];
		int ok;

		dirty((size_t)4 << 20, 0x67);
		kva_drain();
		va = uvm_km_zalloc(kernel_map, (size_t)4 << 20);
		ok = va != 0 && uvm_pdzero_running() &&
		    uvm_page_check(why, sizeof(why)) == 0;
		for (size_t i = 0; ok && i < ((size_t)4 << 20); i++)
			ok = ((char *)va)[i] == 0;
		_exit(ok ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	kva_drain();
	assert_path();
	assert_sound();
}
END_TEST

static Suite *
zero_suite(void)
{
	Suite *s = suite_create("zero");
	struct {
		const char *name;
		void (*setup)(void);
	} paths[] = { { "uring", setup_uring }, { "sync", setup_sync } };

	for (size_t i = 0; i < 2; i++) {
		TCase *tc = tcase_create(paths[i].name);

		tcase_add_checked_fixture(tc, paths[i].setup, teardown);
		tcase_set_timeout(tc, 60);
		tcase_add_test(tc, test_zero_after_reuse);
		tcase_add_test(tc, test_decommit_idle);
		tcase_add_test(tc, test_loop_no_decommit);
		tcase_add_test(tc, test_drain_exact);
		tcase_add_test(tc, test_trim);
		tcase_add_test(tc, test_fork);
		suite_add_tcase(s, tc);
	}
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(zero_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}

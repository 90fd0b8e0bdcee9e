/*
 * check_km.c: the seed's interface, uvm_km, one behaviour at a time.
 */
#include "tcommon.h"
#include "kva_impl.h"
#include "pmap_posix/pmap_md.h"
#include "pmap_posix/host.h"

#include <pthread.h>
#include <unistd.h>

static long
host_calls_now(void)
{
	return __atomic_load_n(&host_ncalls, __ATOMIC_RELAXED);
}

static void
boot(size_t physmem)
{
	struct kva_config cfg = { .physmem = physmem, .kva = (size_t)1 << 30 };

	t_install_handler();
	ck_assert_int_eq(kva_init(&cfg), 0);
}

static void setup(void) { boot((size_t)128 << 20); }
static void setup_small(void) { boot((size_t)8 << 20); }
static void teardown(void) { kva_fini(); }

START_TEST(test_init_idempotent)
{
	vm_map_t km = kernel_map;
	struct kva_config other = { .physmem = (size_t)1 << 30 };

	ck_assert_int_eq(kva_init(&other), 0);
	ck_assert_ptr_eq(kernel_map, km);
	ck_assert_int_eq(uvmexp.npages, (128 << 20) / PAGE_SIZE);
	ck_assert(kva_initialized());
}
END_TEST

/* kernel objects use offset = va - vm_map_min(kernel_map) */
START_TEST(test_kernel_object_offsets)
{
	vaddr_t va = uvm_km_alloc1(kernel_map, 3 * PAGE_SIZE, FALSE);
	int i;

	ck_assert(va != 0);
	for (i = 0; i < 3; i++) {
		paddr_t pa;
		struct vm_page *pg;
		voff_t off = (voff_t)(va + ptoa(i) - vm_map_min(kernel_map));

		ck_assert(pmap_extract(pmap_kernel(), va + ptoa(i), &pa));
		mutex_enter(&uvm.kernel_object->vmobjlock);
		pg = uvm_pagelookup(uvm.kernel_object, off);
		mutex_exit(&uvm.kernel_object->vmobjlock);
		ck_assert_ptr_nonnull(pg);
		ck_assert_uint_eq(VM_PAGE_TO_PHYS(pg), pa);
		ck_assert_int_eq(pg->offset, off);
	}
	/* kmem_object likewise, from kmem_map */
	{
		vaddr_t k = uvm_km_kmemalloc(kmem_map, uvmexp.kmem_object,
		    PAGE_SIZE, 0);
		struct vm_page *pg;

		ck_assert(k >= vm_map_min(kmem_map) && k < vm_map_max(kmem_map));
		mutex_enter(&uvmexp.kmem_object->vmobjlock);
		pg = uvm_pagelookup(uvmexp.kmem_object,
		    (voff_t)(k - vm_map_min(kernel_map)));
		mutex_exit(&uvmexp.kmem_object->vmobjlock);
		ck_assert_ptr_nonnull(pg);
		uvm_km_free(kmem_map, k, PAGE_SIZE);
	}
	uvm_km_free(kernel_map, va, 3 * PAGE_SIZE);
}
END_TEST

/* uvm_km_free: pages free at once, VA reusable, the range faults */
START_TEST(test_free_returns_pages_and_faults)
{
	int free0 = uvmexp.free, wired0 = uvmexp.wired;
	vaddr_t va = uvm_km_zalloc(kernel_map, 10 * PAGE_SIZE), va2;
	size_t i;

	ck_assert(va != 0);
	ck_assert_int_eq(uvmexp.free, free0 - 10);
	ck_assert_int_eq(uvmexp.wired, wired0 + 10);
	for (i = 0; i < 10 * PAGE_SIZE; i++)
		ck_assert_int_eq(((char *)va)[i], 0);
	memset((void *)va, 0xee, 10 * PAGE_SIZE);
	uvm_km_free(kernel_map, va, 10 * PAGE_SIZE);
	ck_assert_int_eq(uvmexp.free, free0);
	ck_assert_int_eq(uvmexp.wired, wired0);
	for (i = 0; i < 10; i++) {
		ck_assert_int_eq(t_probe((char *)va + ptoa(i), 0), 1);
		ck_assert_int_eq(t_probe((char *)va + ptoa(i) + 100, 1), 1);
	}
	/* the same VA comes back first (first fit), and zeroed */
	va2 = uvm_km_zalloc(kernel_map, 10 * PAGE_SIZE);
	ck_assert_uint_eq(va2, va);
	for (i = 0; i < 10 * PAGE_SIZE; i++)
		ck_assert_int_eq(((char *)va2)[i], 0);
	uvm_km_free(kernel_map, va2, 10 * PAGE_SIZE);
}
END_TEST

/* NOWAIT failure with little physical memory gives back every page and
 * all VA: uvmexp.free and the map are as before. */
START_TEST(test_nowait_failure_gives_back_all)
{
	int free0 = uvmexp.free;
	int ent0 = kmem_map->nentries;
	vsize_t size0 = kmem_map->size;
	vaddr_t va;

	/* 8 MiB of physmem cannot hold 12 MiB */
	va = uvm_km_kmemalloc(kmem_map, uvmexp.kmem_object, (size_t)12 << 20,
	    UVM_KMF_NOWAIT);
	ck_assert(va == 0);
	ck_assert_int_eq(uvmexp.free, free0);
	ck_assert_int_eq(kmem_map->nentries, ent0);
	ck_assert_uint_eq(kmem_map->size, size0);
	ck_assert_int_eq(uvmexp.kmem_object->uo_npages, 0);
	/* and memory is usable afterwards: most of it in one go */
	va = uvm_km_kmemalloc(kmem_map, uvmexp.kmem_object, (size_t)6 << 20,
	    UVM_KMF_NOWAIT);
	ck_assert(va != 0);
	memset((void *)va, 1, (size_t)6 << 20);
	uvm_km_free(kmem_map, va, (size_t)6 << 20);
	ck_assert_int_eq(uvmexp.free, free0);
}
END_TEST

START_TEST(test_kmemalloc_valloc_and_trylock)
{
	vaddr_t va;
	int free0 = uvmexp.free;

	va = uvm_km_kmemalloc(kmem_map, uvmexp.kmem_object, 4 * PAGE_SIZE,
	    UVM_KMF_VALLOC);
	ck_assert(va != 0);
	ck_assert_int_eq(uvmexp.free, free0);	/* VA only */
	/* the km pager fills a touched page with zeros */
	ck_assert_int_eq(t_probe((char *)va, 0), 0);
	ck_assert_int_eq(((char *)va)[100], 0);
	ck_assert_int_lt(uvmexp.free, free0);
	uvm_km_free(kmem_map, va, 4 * PAGE_SIZE);
	ck_assert_int_eq(uvmexp.free, free0);

	vm_map_lock(kmem_map);
	va = uvm_km_kmemalloc(kmem_map, uvmexp.kmem_object, PAGE_SIZE,
	    UVM_KMF_TRYLOCK);
	vm_map_unlock(kmem_map);
	ck_assert(va == 0);
	ck_assert_int_eq(uvmexp.free, free0);
	va = uvm_km_kmemalloc(kmem_map, uvmexp.kmem_object, PAGE_SIZE,
	    UVM_KMF_TRYLOCK);
	ck_assert(va != 0);
	uvm_km_free(kmem_map, va, PAGE_SIZE);
}
END_TEST

/*
 * uvm_km_valloc_wait blocks until uvm_km_free_wakeup frees VA.
 */
struct vw_arg {
	vm_map_t map;
	vsize_t size;
	volatile vaddr_t got;
	volatile int done;
};

static void *
vw_thread(void *p)
{
	struct vw_arg *a = p;

	a->got = uvm_km_valloc_wait(a->map, a->size);
	__atomic_store_n(&a->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

START_TEST(test_valloc_wait)
{
	vaddr_t min = 0, max, full;
	vm_map_t sub = uvm_km_suballoc(kernel_map, &min, &max, 16 * PAGE_SIZE,
	    TRUE, FALSE, NULL);
	struct vw_arg a;
	pthread_t th;
	int i;

	ck_assert_ptr_nonnull(sub);
	/* larger than the map: 0 at once */
	ck_assert(uvm_km_valloc_wait(sub, 17 * PAGE_SIZE) == 0);
	full = uvm_km_valloc_wait(sub, 16 * PAGE_SIZE);
	ck_assert_uint_eq(full, min);

	a.map = sub;
	a.size = 4 * PAGE_SIZE;
	a.got = 0;
	a.done = 0;
	ck_assert_int_eq(pthread_create(&th, NULL, vw_thread, &a), 0);
	for (i = 0; i < 20; i++) {
		usleep(10000);
		ck_assert_int_eq(__atomic_load_n(&a.done, __ATOMIC_ACQUIRE), 0);
	}
	uvm_km_free_wakeup(sub, full, 16 * PAGE_SIZE);
	pthread_join(th, NULL);
	ck_assert_int_eq(a.done, 1);
	ck_assert(a.got >= min && a.got + 4 * PAGE_SIZE <= max);
	uvm_km_free(sub, a.got, 4 * PAGE_SIZE);
}
END_TEST

/* A submap never overlaps the parent's other allocations; fixed
 * placement works; the parent never allocates inside it. */
static int
collect(const struct vm_map_entry *e, void *arg)
{
	vaddr_t (*r)[2] = arg;
	int i;

	for (i = 0; r[i][1] != 0; i++)
		;
	if (i < 255) {
		r[i][0] = e->start;
		r[i][1] = e->end;
	}
	return 0;
}

START_TEST(test_submap_no_overlap)
{
	static vaddr_t ranges[256][2];
	vaddr_t smin = 0, smax, fmin, fmax, va[20], sva[16];
	vm_map_t sub, fixed;
	struct vm_map_entry *ent;
	int i, j;

	va[0] = uvm_km_alloc1(kernel_map, PAGE_SIZE, TRUE);
	sub = uvm_km_suballoc(kernel_map, &smin, &smax, 64 * PAGE_SIZE, FALSE,
	    FALSE, NULL);
	ck_assert_ptr_nonnull(sub);
	ck_assert_uint_eq(vm_map_min(sub), smin);
	ck_assert_uint_eq(vm_map_max(sub), smax);
	ck_assert_uint_eq(smax - smin, 64 * PAGE_SIZE);
	for (i = 1; i < 20; i++) {
		va[i] = uvm_km_alloc1(kernel_map, PAGE_SIZE * (size_t)i, TRUE);
		ck_assert(va[i] != 0);
		ck_assert(va[i] + PAGE_SIZE * (size_t)i <= smin || va[i] >= smax);
	}
	/* allocations in the submap stay inside it */
	for (i = 0; i < 16; i++) {
		sva[i] = uvm_km_alloc1(sub, 4 * PAGE_SIZE, TRUE);
		ck_assert(sva[i] >= smin && sva[i] + 4 * PAGE_SIZE <= smax);
	}
	ck_assert(uvm_km_alloc1(sub, PAGE_SIZE, TRUE) == 0);	/* full */
	for (i = 0; i < 16; i++)
		uvm_km_free(sub, sva[i], 4 * PAGE_SIZE);
	/* kernel_map's entries: none overlaps another */
	memset(ranges, 0, sizeof(ranges));
	uvm_map_foreach(kernel_map, collect, ranges);
	for (i = 0; ranges[i][1] != 0; i++)
		for (j = i + 1; ranges[j][1] != 0; j++)
			ck_assert(ranges[i][1] <= ranges[j][0] ||
			    ranges[j][1] <= ranges[i][0]);
	/* fixed placement right after the submap */
	fmin = smax;
	vm_map_lock(kernel_map);
	while (uvm_map_lookup_entry(kernel_map, fmin, &ent))
		fmin += PAGE_SIZE;
	vm_map_unlock(kernel_map);
	fixed = uvm_km_suballoc(kernel_map, &fmin, &fmax, 8 * PAGE_SIZE, FALSE,
	    TRUE, NULL);
	if (fixed != NULL)
		ck_assert_uint_eq(vm_map_min(fixed), fmin);
	for (i = 0; i < 20; i++)
		uvm_km_free(kernel_map, va[i], PAGE_SIZE * (size_t)(i ? i : 1));
}
END_TEST

/* Pool pages: page-aligned, writable, distinct, and no system call. */
START_TEST(test_pool_pages)
{
	vaddr_t p[512];
	long calls;
	int i, j, free0;

	/* warm up physical memory */
	p[0] = uvm_km_alloc_poolpage();
	uvm_km_free_poolpage(p[0]);
	free0 = uvmexp.free;
	pmap_update(pmap_kernel());
	calls = host_calls_now();
	for (i = 0; i < 512; i++) {
		p[i] = uvm_km_alloc_poolpage();
		ck_assert(p[i] != 0);
		ck_assert_uint_eq(p[i] & PAGE_MASK, 0);
		memset((void *)p[i], i & 0xff, PAGE_SIZE);
	}
	for (i = 0; i < 512; i++) {
		for (j = 0; j < (int)PAGE_SIZE; j += 512)
			ck_assert_int_eq(((unsigned char *)p[i])[j], i & 0xff);
	}
	for (i = 0; i < 512; i++)
		uvm_km_free_poolpage(p[i]);
	ck_assert_int_eq(host_calls_now() - calls, 0);
	ck_assert_int_eq(uvmexp.free, free0);
}
END_TEST

/* uvm_km_pgremove on a wired range: pages go, mappings go */
START_TEST(test_pgremove_wired)
{
	vaddr_t va = uvm_km_alloc1(kernel_map, 8 * PAGE_SIZE, TRUE);
	voff_t off = (voff_t)(va - vm_map_min(kernel_map));
	int free0 = uvmexp.free;

	ck_assert(va != 0);
	memset((void *)va, 0x77, 8 * PAGE_SIZE);
	uvm_km_pgremove(uvm.kernel_object, (vm_offset_t)off + 2 * PAGE_SIZE,
	    (vm_offset_t)off + 5 * PAGE_SIZE);
	ck_assert_int_eq(uvmexp.free, free0 + 3);
	ck_assert(!pmap_extract(pmap_kernel(), va + 2 * PAGE_SIZE, NULL));
	ck_assert(!pmap_extract(pmap_kernel(), va + 4 * PAGE_SIZE, NULL));
	ck_assert(pmap_extract(pmap_kernel(), va + 5 * PAGE_SIZE, NULL));
	/* a later touch gets a fresh zero page from kernel_object */
	ck_assert_int_eq(((volatile char *)va)[2 * PAGE_SIZE + 7], 0);
	ck_assert_int_eq(((volatile char *)va)[PAGE_SIZE + 7], 0x77);
	ck_assert_int_lt(uvmexp.free, free0 + 3);
	uvm_km_free(kernel_map, va, 8 * PAGE_SIZE);
	ck_assert_int_eq(uvmexp.free, free0 + 8);
	ck_assert_int_eq(t_probe((char *)va + 2 * PAGE_SIZE, 0), 1);
}
END_TEST

/* Bad input: sizes that overflow or are zero fail cleanly */
START_TEST(test_bad_sizes)
{
	int free0 = uvmexp.free;

	ck_assert(uvm_km_alloc1(kernel_map, 0, TRUE) == 0);
	ck_assert(uvm_km_alloc1(kernel_map, (vsize_t)-1, TRUE) == 0);
	ck_assert(uvm_km_alloc1(kernel_map, (vsize_t)-1 - PAGE_SIZE * 4, TRUE) == 0);
	ck_assert(uvm_km_valloc(kernel_map, (vsize_t)-1) == 0);
	ck_assert(uvm_km_kmemalloc(kmem_map, uvmexp.kmem_object,
	    (vsize_t)1 << 62, UVM_KMF_NOWAIT) == 0);
	ck_assert_int_eq(uvmexp.free, free0);
}
END_TEST

/* kva_fini and kva_init again: a second life works */
START_TEST(test_reinit)
{
	vaddr_t va;

	kva_fini();
	ck_assert(!kva_initialized());
	boot((size_t)64 << 20);
	va = uvm_km_zalloc(kernel_map, 3 * PAGE_SIZE);
	ck_assert(va != 0);
	uvm_km_free(kernel_map, va, 3 * PAGE_SIZE);
	ck_assert_int_eq(uvmexp.free, uvmexp.npages);
}
END_TEST

static Suite *
km_suite(void)
{
	Suite *s = suite_create("km");
	TCase *tc = tcase_create("km"), *small = tcase_create("km_small");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_init_idempotent);
	tcase_add_test(tc, test_kernel_object_offsets);
	tcase_add_test(tc, test_free_returns_pages_and_faults);
	tcase_add_test(tc, test_kmemalloc_valloc_and_trylock);
	tcase_add_test(tc, test_valloc_wait);
	tcase_add_test(tc, test_submap_no_overlap);
	tcase_add_test(tc, test_pool_pages);
	tcase_add_test(tc, test_pgremove_wired);
	tcase_add_test(tc, test_bad_sizes);
	tcase_add_test(tc, test_reinit);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(small, setup_small, teardown);
	tcase_add_test(small, test_nowait_failure_gives_back_all);
	suite_add_tcase(s, small);
	return s;
}

int
main(void)
{
	return t_run_suite(km_suite());
}

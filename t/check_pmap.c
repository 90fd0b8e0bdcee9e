/*
 * check_pmap.c: the pmap over mmap: aliases and pv lists, page_protect,
 * batching into few host mappings, the VMA budget, and RSS.
 */
#include "tcommon.h"
#include "kva_impl.h"
#include "pmap_posix/pmap_md.h"

static void
setup(void)
{
	struct kva_config cfg = { .physmem = (size_t)256 << 20,
	    .kva = (size_t)1 << 30 };

	t_install_handler();
	ck_assert_int_eq(kva_init(&cfg), 0);
}

static void
teardown(void)
{
	kva_fini();
}

/* VA with no object behind it: a fault there is never resolved, so the
 * pmap's protections are what the test sees */
static vaddr_t
raw_va(vsize_t size)
{
	vaddr_t va = uvm_km_kmemalloc(kernel_map, NULL, size, UVM_KMF_VALLOC);

	ck_assert(va != 0);
	return va;
}

/* Two VAs on one physical page see each other's writes; page_protect
 * makes both read-only, then removes both. */
START_TEST(test_alias_and_page_protect)
{
	vaddr_t va = raw_va(2 * PAGE_SIZE);
	struct vm_page *pg;
	volatile char *a, *b;
	paddr_t pa;

	ck_assert(va != 0);
	pg = uvm_pagealloc(NULL, 0, NULL, UVM_PGA_ZERO);
	ck_assert_ptr_nonnull(pg);
	ck_assert_int_eq(pmap_enter(pmap_kernel(), va, VM_PAGE_TO_PHYS(pg),
	    VM_PROT_READ | VM_PROT_WRITE, PMAP_WIRED | PMAP_CANFAIL), 0);
	ck_assert_int_eq(pmap_enter(pmap_kernel(), va + PAGE_SIZE,
	    VM_PAGE_TO_PHYS(pg), VM_PROT_READ | VM_PROT_WRITE,
	    PMAP_WIRED | PMAP_CANFAIL), 0);
	pmap_update(pmap_kernel());
	a = (volatile char *)va;
	b = (volatile char *)(va + PAGE_SIZE);
	ck_assert(pmap_extract(pmap_kernel(), va + 5, &pa));
	ck_assert_uint_eq(pa, VM_PAGE_TO_PHYS(pg) + 5);

	a[10] = 'x';
	ck_assert_int_eq(b[10], 'x');
	b[20] = 'y';
	ck_assert_int_eq(a[20], 'y');

	pmap_page_protect(pg, VM_PROT_READ);
	pmap_update(pmap_kernel());
	ck_assert_int_eq(t_probe(a, 0), 0);
	ck_assert_int_eq(t_probe(b, 0), 0);
	ck_assert_int_eq(t_probe(a, 1), 1);
	ck_assert_int_eq(t_probe(b, 1), 1);
	ck_assert_int_eq(a[20], 'y');

	pmap_page_protect(pg, VM_PROT_NONE);
	pmap_update(pmap_kernel());
	ck_assert_int_eq(t_probe(a, 0), 1);
	ck_assert_int_eq(t_probe(b, 0), 1);
	ck_assert(!pmap_extract(pmap_kernel(), va, NULL));
	ck_assert(!pmap_page_is_mapped(pg));
	/* the data lives on in the page */
	ck_assert_int_eq(((char *)pmap_direct_map(VM_PAGE_TO_PHYS(pg)))[10], 'x');
	uvm_pagefree(pg);
	uvm_km_free(kernel_map, va, 2 * PAGE_SIZE);
}
END_TEST

/* pmap_protect and pmap_remove on part of a range */
START_TEST(test_protect_remove_range)
{
	vaddr_t va = raw_va(4 * PAGE_SIZE);
	struct vm_page *run = uvm_pglistalloc_contig(4, 0);
	volatile char *p = (volatile char *)va;
	int i;

	ck_assert_ptr_nonnull(run);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(pmap_enter(pmap_kernel(), va + ptoa(i),
		    VM_PAGE_TO_PHYS(run + i), VM_PROT_READ | VM_PROT_WRITE,
		    PMAP_WIRED | PMAP_CANFAIL), 0);
	pmap_update(pmap_kernel());
	pmap_protect(pmap_kernel(), va + PAGE_SIZE, va + 3 * PAGE_SIZE,
	    VM_PROT_READ);
	pmap_update(pmap_kernel());
	ck_assert_int_eq(t_probe(p, 1), 0);
	ck_assert_int_eq(t_probe(p + PAGE_SIZE, 1), 1);
	ck_assert_int_eq(t_probe(p + 2 * PAGE_SIZE, 1), 1);
	ck_assert_int_eq(t_probe(p + 2 * PAGE_SIZE, 0), 0);
	ck_assert_int_eq(t_probe(p + 3 * PAGE_SIZE, 1), 0);
	pmap_protect(pmap_kernel(), va, va + 4 * PAGE_SIZE,
	    VM_PROT_READ | VM_PROT_WRITE);
	pmap_update(pmap_kernel());
	ck_assert_int_eq(t_probe(p + PAGE_SIZE, 1), 0);
	pmap_remove(pmap_kernel(), va + PAGE_SIZE, va + 2 * PAGE_SIZE);
	pmap_update(pmap_kernel());
	ck_assert_int_eq(t_probe(p + PAGE_SIZE, 0), 1);
	ck_assert_int_eq(t_probe(p, 0), 0);
	ck_assert_int_eq(t_probe(p + 2 * PAGE_SIZE, 0), 0);
	pmap_remove(pmap_kernel(), va, va + 4 * PAGE_SIZE);
	pmap_update(pmap_kernel());
	uvm_pagefree_contig(run, 4);
	uvm_km_free(kernel_map, va, 4 * PAGE_SIZE);
}
END_TEST

/*
 * fork's fallback paths: with no plan from the parent the child copies
 * everything into one memfd; with a parent that does not copy its half
 * the child copies both.  Either way the child has every byte and the
 * parent's later writes do not reach it.
 */
static int
fork_fallback_child(vaddr_t va, size_t sz, int want_fds)
{
	size_t i;
	int bad = 0, n = 0;
	char path[64], target[256];

	for (i = 0; i < sz; i += PAGE_SIZE)
		bad += *(volatile uint32_t *)(va + i) != (uint32_t)(i ^ 0x5a5a);
	for (int fd = 0; fd < 1024; fd++) {
		ssize_t len;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		len = readlink(path, target, sizeof(target) - 1);
		if (len > 0) {
			target[len] = '\0';
			n += strstr(target, "kva-physmem") != NULL;
		}
	}
	if (n != want_fds)
		bad++;
	return bad;
}

START_TEST(test_fork_fallbacks)
{
	size_t sz = (size_t)24 << 20, i;
	vaddr_t va = uvm_km_alloc1(kernel_map, sz, FALSE);
	int mode;

	ck_assert(va != 0);
	for (i = 0; i < sz; i += PAGE_SIZE)
		*(uint32_t *)(va + i) = (uint32_t)(i ^ 0x5a5a);
	for (mode = PMAP_FORK_NOPLAN; mode <= PMAP_FORK_NOPARENT; mode++) {
		int v[2], st;
		pid_t pid;

		ck_assert_int_eq(pipe(v), 0);
		pmap_fork_degrade = mode;
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			char c;

			/* wait until the parent has written over its copy */
			if (read(v[0], &c, 1) != 1)
				_exit(3);
			_exit(fork_fallback_child(va, sz,
			    mode == PMAP_FORK_NOPLAN ? 1 : 2) == 0 ? 0 : 1);
		}
		pmap_fork_degrade = 0;
		memset((void *)va, 0xee, PAGE_SIZE);
		ck_assert_int_eq(write(v[1], "x", 1), 1);
		ck_assert_int_eq(waitpid(pid, &st, 0), pid);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		    "mode %d: child status %#x", mode, st);
		*(uint32_t *)va = (uint32_t)(0 ^ 0x5a5a);
		close(v[0]);
		close(v[1]);
	}
	uvm_km_free(kernel_map, va, sz);
}
END_TEST

/* 64 contiguous pages entered one by one become one host mapping, and
 * the pmap's count matches /proc/self/maps. */
START_TEST(test_batching_and_vma_count)
{
	unsigned long lo = vm_map_min(kernel_map), hi = vm_map_max(kernel_map);
	long before_host = t_count_maps_in(lo, hi);
	long before = pmap_vma_count();
	long calls;
	vaddr_t va;

	/* warm up: the first allocation grows physical memory */
	va = uvm_km_alloc1(kernel_map, PAGE_SIZE, FALSE);
	uvm_km_free(kernel_map, va, PAGE_SIZE);
	calls = uvmexp.hostcalls;
	va = uvm_km_alloc1(kernel_map, 64 * PAGE_SIZE, FALSE);
	ck_assert(va != 0);
	/* one mmap and its populate for the 64 pages (plus at most a drop
	 * of direct-map PTEs); valgrind's own bookkeeping may split one more */
	ck_assert_int_le(uvmexp.hostcalls - calls, 3);
	ck_assert_int_le(t_count_maps_in(lo, hi) - before_host,
	    2 + RUNNING_ON_VALGRIND);
	ck_assert_int_le(labs(pmap_vma_count() - before -
	    (t_count_maps_in(lo, hi) - before_host)), RUNNING_ON_VALGRIND ? 1 : 0);
	uvm_km_free(kernel_map, va, 64 * PAGE_SIZE);
	ck_assert_int_eq(pmap_vma_count(), before);
	ck_assert_int_le(labs(t_count_maps_in(lo, hi) - before_host),
	    RUNNING_ON_VALGRIND ? 1 : 0);
}
END_TEST

/* The pmap's VMA count agrees with the host after scattered mappings. */
START_TEST(test_vma_count_scattered)
{
	unsigned long lo = vm_map_min(kernel_map), hi = vm_map_max(kernel_map);
	long host0 = t_count_maps_in(lo, hi), pm0 = pmap_vma_count();
	vaddr_t va[50], gap[50];
	int i;

	for (i = 0; i < 50; i++) {
		va[i] = uvm_km_alloc1(kernel_map, PAGE_SIZE * (1 + i % 3), FALSE);
		gap[i] = uvm_km_valloc(kernel_map, PAGE_SIZE);
		ck_assert(va[i] != 0 && gap[i] != 0);
	}
	ck_assert_int_le(labs(pmap_vma_count() - pm0 -
	    (t_count_maps_in(lo, hi) - host0)), RUNNING_ON_VALGRIND ? 1 : 0);
	ck_assert_int_ge(pmap_vma_count() - pm0, 50);
	for (i = 0; i < 50; i += 2)
		uvm_km_free(kernel_map, va[i], PAGE_SIZE * (1 + i % 3));
	ck_assert_int_le(labs(pmap_vma_count() - pm0 -
	    (t_count_maps_in(lo, hi) - host0)), RUNNING_ON_VALGRIND ? 1 : 0);
	for (i = 1; i < 50; i += 2)
		uvm_km_free(kernel_map, va[i], PAGE_SIZE * (1 + i % 3));
	for (i = 0; i < 50; i++)
		uvm_km_free(kernel_map, gap[i], PAGE_SIZE);
	ck_assert_int_eq(pmap_vma_count(), pm0);
	ck_assert_int_le(labs(t_count_maps_in(lo, hi) - host0),
	    RUNNING_ON_VALGRIND ? 1 : 0);
}
END_TEST

/* Running out of host mappings fails cleanly: with the limit lowered,
 * isolated allocations fail with 0, nothing is half-mapped, and pages and
 * VA come back. */
START_TEST(test_vma_exhaustion)
{
	vaddr_t va[400], gap[400], big;
	int i, n, free0;
	long limit = pmap_vma_count() + 40;

	pmap_set_vma_limit(limit);
	for (n = 0; n < 400; n++) {
		int free_before = uvmexp.free;
		int entries_before = kernel_map->nentries;

		gap[n] = uvm_km_valloc(kernel_map, PAGE_SIZE);
		ck_assert(gap[n] != 0);
		entries_before = kernel_map->nentries;
		va[n] = uvm_km_alloc1(kernel_map, PAGE_SIZE, TRUE);
		if (va[n] == 0) {
			/* a clean failure: no page, no VA, no mapping kept */
			ck_assert_int_eq(uvmexp.free, free_before);
			ck_assert_int_eq(kernel_map->nentries, entries_before);
			break;
		}
		ck_assert_int_le(pmap_vma_count(), limit);
	}
	ck_assert_int_lt(n, 400);
	ck_assert_int_le(pmap_vma_count(), limit);
	/* a contiguous allocation that needs more mappings than are left
	 * fails as a whole too */
	free0 = uvmexp.free;
	for (i = 0; i < n; i++)
		((volatile char *)va[i])[0] = 1;	/* still all usable */
	big = uvm_km_alloc1(kernel_map, 4 * PAGE_SIZE, TRUE);
	if (big == 0)
		ck_assert_int_eq(uvmexp.free, free0);
	else
		uvm_km_free(kernel_map, big, 4 * PAGE_SIZE);
	for (i = 0; i < n; i++)
		uvm_km_free(kernel_map, va[i], PAGE_SIZE);
	for (i = 0; i <= n && i < 400; i++)
		uvm_km_free(kernel_map, gap[i], PAGE_SIZE);
	/* with the mappings back, allocation works again */
	big = uvm_km_alloc1(kernel_map, PAGE_SIZE, TRUE);
	ck_assert(big != 0);
	uvm_km_free(kernel_map, big, PAGE_SIZE);
}
END_TEST

/* RSS counts each mapping: 64 MiB of uvm_km_alloc1, touched, must raise
 * VmRSS by about 64 MiB, not 128, also when the pages were zeroed or used
 * through the direct map before. */
START_TEST(test_rss_not_double)
{
	size_t sz = (size_t)64 << 20, i;
	long rss0, rss1, rss2;
	vaddr_t va, pool[256];
	int k;

	/* dirty some pages through the direct map first, then free them */
	for (k = 0; k < 256; k++) {
		pool[k] = uvm_km_alloc_poolpage();
		ck_assert(pool[k] != 0);
		memset((void *)pool[k], 0x33, PAGE_SIZE);
	}
	for (k = 0; k < 256; k++)
		uvm_km_free_poolpage(pool[k]);

	rss0 = t_status_kib("VmRSS:");
	va = uvm_km_alloc1(kernel_map, sz, TRUE);
	ck_assert(va != 0);
	for (i = 0; i < sz; i += PAGE_SIZE)
		((volatile char *)va)[i] = 1;
	rss1 = t_status_kib("VmRSS:");
	ck_assert_int_ge(rss1 - rss0, 60 * 1024);
	ck_assert_int_le(rss1 - rss0, 72 * 1024);
	/* and free + again: the same pages come back, still counted once */
	uvm_km_free(kernel_map, va, sz);
	va = uvm_km_alloc1(kernel_map, sz, TRUE);
	ck_assert(va != 0);
	for (i = 0; i < sz; i += PAGE_SIZE)
		ck_assert_int_eq(((volatile char *)va)[i], 0);
	rss2 = t_status_kib("VmRSS:");
	ck_assert_int_le(rss2 - rss0, 72 * 1024);
	uvm_km_free(kernel_map, va, sz);
}
END_TEST

/* pmap_zero_page / pmap_copy_page */
START_TEST(test_zero_copy_page)
{
	struct vm_page *a = uvm_pagealloc(NULL, 0, NULL, 0);
	struct vm_page *b = uvm_pagealloc(NULL, 0, NULL, 0);
	char *pa, *pb;
	size_t i;

	ck_assert(a != NULL && b != NULL);
	pa = (char *)pmap_direct_map(VM_PAGE_TO_PHYS(a));
	pb = (char *)pmap_direct_map(VM_PAGE_TO_PHYS(b));
	for (i = 0; i < PAGE_SIZE; i++)
		pa[i] = (char)i;
	pmap_copy_page(VM_PAGE_TO_PHYS(a), VM_PAGE_TO_PHYS(b));
	ck_assert_int_eq(memcmp(pa, pb, PAGE_SIZE), 0);
	pmap_zero_page(VM_PAGE_TO_PHYS(a));
	for (i = 0; i < PAGE_SIZE; i++)
		ck_assert_int_eq(pa[i], 0);
	uvm_pagefree(a);
	uvm_pagefree(b);
}
END_TEST

/* pmap_kmove: the translations and contents move to the new VA in a few
 * host calls, the old VA faults, the VMA count stays true; a move that
 * would take the count over the limit changes nothing. */
START_TEST(test_kmove)
{
	const size_t n1 = 1000, n2 = 100, n = n1 + n2, al = (size_t)2 << 20;
	unsigned long lo = vm_map_min(kernel_map), hi = vm_map_max(kernel_map);
	vaddr_t r1 = raw_va(ptoa(n) + al), r2 = raw_va(ptoa(n) + al);
	vaddr_t src = (r1 + al - 1) & ~(vaddr_t)(al - 1);
	vaddr_t dst = (r2 + al - 1) & ~(vaddr_t)(al - 1);
	struct vm_page *a = uvm_pglistalloc_contig(n1, 0);
	struct vm_page *b = uvm_pglistalloc_contig(n2, 0);
	long pm0, host0, base = pmap_vma_count(), calls;
	size_t i;

	ck_assert(a != NULL && b != NULL);
	for (i = 0; i < n; i++) {
		paddr_t pa = i < n1 ? VM_PAGE_TO_PHYS(a) + ptoa(i) :
		    VM_PAGE_TO_PHYS(b) + ptoa(i - n1);

		ck_assert_int_eq(pmap_enter(pmap_kernel(), src + ptoa(i), pa,
		    VM_PROT_READ | VM_PROT_WRITE, PMAP_WIRED | PMAP_CANFAIL), 0);
	}
	ck_assert_int_eq(pmap_sync(pmap_kernel()), 0);
	for (i = 0; i < n; i++)
		*(volatile size_t *)(src + ptoa(i)) = i * 7 + 1;
	pm0 = pmap_vma_count();
	host0 = t_count_maps_in(lo, hi);
	calls = uvmexp.hostcalls;
	ck_assert_int_eq(pmap_kmove(src, src + ptoa(n), dst), 0);
	/* a move per run and one reservation; a fresh mapping where the
	 * host would not move (valgrind): a map and a populate per run */
	ck_assert_int_le(uvmexp.hostcalls - calls, 6);
	ck_assert_int_eq(pmap_vma_count(), pm0);
	ck_assert_int_le(labs(t_count_maps_in(lo, hi) - host0),
	    RUNNING_ON_VALGRIND ? 1 : 0);
	for (i = 0; i < n; i++) {
		paddr_t pa, want = i < n1 ? VM_PAGE_TO_PHYS(a) + ptoa(i) :
		    VM_PAGE_TO_PHYS(b) + ptoa(i - n1);

		ck_assert(pmap_extract(pmap_kernel(), dst + ptoa(i), &pa));
		ck_assert_uint_eq(pa, want);
		ck_assert(!pmap_extract(pmap_kernel(), src + ptoa(i), &pa));
		ck_assert_uint_eq(*(volatile size_t *)(dst + ptoa(i)), i * 7 + 1);
	}
	ck_assert(t_probe((volatile char *)src, 0));
	ck_assert(t_probe((volatile char *)src + ptoa(n - 1), 1));
	ck_assert(!t_probe((volatile char *)dst + ptoa(n - 1), 0));
	ck_assert_int_eq(pmap_chunk_mapped(src), 0);
	ck_assert_int_eq(pmap_chunk_mapped(dst), 512);

	/* the middle of a run moved elsewhere splits it: with no mapping to
	 * spare, refused and nothing changed */
	pmap_set_vma_limit(pmap_vma_count());
	ck_assert_int_eq(pmap_kmove(dst + ptoa(10), dst + ptoa(20), src),
	    ENOMEM);
	for (i = 0; i < n; i++) {
		paddr_t pa;

		ck_assert(pmap_extract(pmap_kernel(), dst + ptoa(i), &pa));
		ck_assert_uint_eq(*(volatile size_t *)(dst + ptoa(i)), i * 7 + 1);
	}
	ck_assert(!pmap_extract(pmap_kernel(), src, NULL));
	pmap_set_vma_limit(pmap_vma_count() + 10);
	ck_assert_int_eq(pmap_kmove(dst + ptoa(10), dst + ptoa(20), src), 0);
	ck_assert_uint_eq(*(volatile size_t *)(src + ptoa(5)), 15 * 7 + 1);
	ck_assert(t_probe((volatile char *)dst + ptoa(15), 0));
	ck_assert_uint_eq(*(volatile size_t *)(dst + ptoa(20)), 20 * 7 + 1);

	pmap_remove(pmap_kernel(), dst, dst + ptoa(n));
	pmap_remove(pmap_kernel(), src, src + ptoa(10));
	pmap_update(pmap_kernel());
	ck_assert_int_eq(pmap_vma_count(), base);
	uvm_pagefree_contig(a, n1);
	uvm_pagefree_contig(b, n2);
	uvm_km_free(kernel_map, r1, ptoa(n) + al);
	uvm_km_free(kernel_map, r2, ptoa(n) + al);
}
END_TEST

/* Warm runs: the host mapping of a whole 2 MiB of pageable memory is
 * kept aside when it is taken away and moved back when that run is mapped
 * whole again; the new memory still reads zero, the old VA faults, and a
 * fork (whose child must not share them) drops them. */
START_TEST(test_warm_runs)
{
	const size_t sz = (size_t)8 << 20;
	struct pmap_warm_stats w0, w1, w2, w3;
	vaddr_t va, old;
	size_t i;
	pid_t pid;
	int st;

	pmap_warm_stats(&w0);
	old = va = uvm_km_valloc(kernel_map, sz);
	ck_assert(va != 0);
	for (i = 0; i < sz; i += PAGE_SIZE)
		*(volatile uint32_t *)(va + i + 8) = 0x5a5a5a5a;
	uvm_km_free(kernel_map, va, sz);
	pmap_warm_stats(&w1);
	if (RUNNING_ON_VALGRIND) {	/* no mremap(MREMAP_DONTUNMAP) there */
		ck_assert_int_eq(w1.parks, w0.parks);
		return;
	}
	ck_assert_int_ge(w1.parks - w0.parks, 3);	/* of 4 runs */
	ck_assert(t_probe((volatile char *)old + 8, 0));
	va = uvm_km_valloc(kernel_map, sz);
	ck_assert(va != 0);
	for (i = 0; i < sz; i += PAGE_SIZE) {
		ck_assert_uint_eq(*(volatile uint32_t *)(va + i + 8), 0);
		ck_assert_uint_eq(*(volatile uint32_t *)(va + i + PAGE_SIZE - 4),
		    0);
		*(volatile uint32_t *)(va + i + 8) = 0x6b6b6b6b;
	}
	pmap_warm_stats(&w2);
	ck_assert_int_ge(w2.hits - w1.hits, 3);
	uvm_km_free(kernel_map, va, sz);
	pmap_warm_stats(&w2);
	ck_assert_int_gt(w2.nwarm, 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	pmap_warm_stats(&w3);
	ck_assert_int_eq(w3.nwarm, 0);

	/* warm=0 keeps nothing */
	kva_fini();
	{
		struct kva_config cfg = { .physmem = (size_t)256 << 20,
		    .kva = (size_t)1 << 30, .options = "warm=0" };

		ck_assert_int_eq(kva_init(&cfg), 0);
	}
	va = uvm_km_valloc(kernel_map, sz);
	ck_assert(va != 0);
	for (i = 0; i < sz; i += PAGE_SIZE)
		*(volatile uint32_t *)(va + i + 8) = 0x5a5a5a5a;
	uvm_km_free(kernel_map, va, sz);
	pmap_warm_stats(&w3);
	ck_assert_int_eq(w3.parks, 0);
	ck_assert_int_eq(w3.nwarm, 0);
}
END_TEST

/* Parked chunks: a whole 2 MiB of pageable memory whose pages all lose
 * their referenced bit moves aside instead of losing access page by
 * page; a touch anywhere in it references the whole chunk and moves it
 * back with its contents; a partly removed one moves back; a wholly
 * removed one is kept as a warm run, whose frames swap I/O can reach
 * through pmap_io_pin; fork moves every parked chunk back first. */
static int
park_all(vaddr_t c, struct vm_page **pgs)
{
	int n = pmap_chunk_pages(c, pgs);

	for (int i = 0; i < n; i++)
		(void)pmap_clear_reference(pgs[i]);
	pmap_update(pmap_kernel());
	return n;
}

static void
check_pattern(vaddr_t c, uint32_t tag)
{
	for (size_t i = 0; i < (size_t)2 << 20; i += PAGE_SIZE)
		ck_assert_uint_eq(*(volatile uint32_t *)(c + i + 16),
		    tag ^ (uint32_t)i);
}

START_TEST(test_parked_chunks)
{
	const size_t sz = (size_t)8 << 20, csz = (size_t)2 << 20;
	struct vm_page *pgs[512];
	struct pmap_warm_stats w0, w1;
	vaddr_t va, c, pva;
	paddr_t pa;
	pid_t pid;
	int st, n;

	va = uvm_km_valloc(kernel_map, sz);
	ck_assert(va != 0);
	c = (va + csz - 1) & ~(csz - 1);
	for (size_t i = 0; i < csz; i += PAGE_SIZE)
		*(volatile uint32_t *)(c + i + 16) = 0xc0ffee ^ (uint32_t)i;
	pmap_warm_stats(&w0);
	n = park_all(c, pgs);
	ck_assert_int_eq(n, 512);
	pmap_warm_stats(&w1);
	if (RUNNING_ON_VALGRIND) {	/* no mremap(MREMAP_DONTUNMAP) there */
		ck_assert_int_eq(w1.chunk_parks, w0.chunk_parks);
		uvm_km_free(kernel_map, va, sz);
		return;
	}
	ck_assert_int_eq(w1.chunk_parks - w0.chunk_parks, 1);
	ck_assert_int_eq(w1.nparked, 1);
	ck_assert(!pmap_is_referenced(pgs[300]));

	/* a touch of one page brings the chunk back, all of it referenced */
	ck_assert_uint_eq(*(volatile uint32_t *)(c + ptoa(7) + 16),
	    0xc0ffee ^ (uint32_t)ptoa(7));
	pmap_warm_stats(&w1);
	ck_assert_int_eq(w1.nparked, 0);
	ck_assert_int_eq(w1.chunk_unparks - w0.chunk_unparks, 1);
	ck_assert(pmap_is_referenced(pgs[300]));
	check_pattern(c, 0xc0ffee);

	/* a partly removed chunk moves back; the rest keeps its data and
	 * the removed page faults back in from its object */
	ck_assert_int_eq(park_all(c, pgs), 512);
	pmap_page_protect(pgs[100], VM_PROT_NONE);
	pmap_update(pmap_kernel());
	pmap_warm_stats(&w1);
	ck_assert_int_eq(w1.nparked, 0);
	check_pattern(c, 0xc0ffee);

	/* fork moves parked chunks back; both sides keep the data */
	ck_assert_int_eq(park_all(c, pgs), 512);
	pmap_warm_stats(&w1);
	ck_assert_int_eq(w1.nparked, 1);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		for (size_t i = 0; i < csz; i += PAGE_SIZE)
			if (*(volatile uint32_t *)(c + i + 16) !=
			    (0xc0ffee ^ (uint32_t)i))
				_exit(1);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	pmap_warm_stats(&w1);
	ck_assert_int_eq(w1.nparked, 0);
	check_pattern(c, 0xc0ffee);

	/* removed whole, a parked chunk stays where it is as a warm run, and
	 * its frames can be reached there */
	ck_assert_int_eq(park_all(c, pgs), 512);
	pa = VM_PAGE_TO_PHYS(pgs[5]);
	uvm_km_free(kernel_map, va, sz);
	pmap_warm_stats(&w1);
	ck_assert_int_eq(w1.nparked, 0);
	ck_assert_int_ge(w1.chunk_kept - w0.chunk_kept, 1);
	pva = pmap_io_pin(pa);
	ck_assert(pva != 0);
	ck_assert_uint_eq(*(volatile uint32_t *)(pva + (pa & (csz - 1)) + 16),
	    0xc0ffee ^ (uint32_t)ptoa(5));
	pmap_io_unpin(pa);

	/* parked chunks count against the host mapping limit */
	va = uvm_km_valloc(kernel_map, 4 * sz);
	ck_assert(va != 0);
	c = (va + csz - 1) & ~(csz - 1);
	for (size_t i = 0; i < 8 * csz; i += PAGE_SIZE)
		*(volatile uint32_t *)(c + i + 16) = 0xbeef ^ (uint32_t)i;
	pmap_warm_stats(&w0);
	pmap_set_vma_limit(pmap_vma_count() + w0.nwarm + 2);
	for (int k = 0; k < 8; k++)
		ck_assert_int_eq(park_all(c + (vaddr_t)k * csz, pgs), 512);
	pmap_warm_stats(&w1);
	ck_assert_int_le(w1.nparked, 2);
	ck_assert_int_ge(w1.nparked, 1);
	for (int k = 0; k < 8; k++)
		check_pattern(c + (vaddr_t)k * csz, 0xbeef ^ (uint32_t)k *
		    (uint32_t)csz);
	uvm_km_free(kernel_map, va, 4 * sz);
}
END_TEST

static Suite *
pmap_suite(void)
{
	Suite *s = suite_create("pmap");
	TCase *tc = tcase_create("pmap");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_alias_and_page_protect);
	tcase_add_test(tc, test_protect_remove_range);
	tcase_add_test(tc, test_batching_and_vma_count);
	tcase_add_test(tc, test_fork_fallbacks);
	tcase_add_test(tc, test_vma_count_scattered);
	tcase_add_test(tc, test_vma_exhaustion);
	tcase_add_test(tc, test_rss_not_double);
	tcase_add_test(tc, test_zero_copy_page);
	tcase_add_test(tc, test_kmove);
	tcase_add_test(tc, test_warm_runs);
	tcase_add_test(tc, test_parked_chunks);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return t_run_suite(pmap_suite());
}

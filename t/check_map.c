/*
 * check_map.c: Check suite "map", for lib/uvm_map.c through the public
 * interface of kva.h.
 *
 * Each test runs between kva_init and kva_fini.  Tests that need a map of
 * their own take VA from kernel_map with uvm_km_valloc and lay a private
 * map (uvm_map_create) over it, so other users of kernel_map cannot move
 * the addresses they expect.  The randomized test drives a private map
 * with 20,000 map and unmap calls and checks it after each one against a
 * page bitmap and uvm_map_check.
 */
#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kva.h"

#define MAPFLAGS(prot, flags) \
	UVM_MAPFLAG((prot), UVM_PROT_ALL, UVM_INH_NONE, UVM_ADV_RANDOM, (flags))
#define RW MAPFLAGS(UVM_PROT_RW, 0)

/*
 * REQUIRE: ck_assert_msg for hot loops.  Every passing ck_assert writes
 * a checkpoint to Check's pipe (a system call); this one costs nothing
 * until it fails.
 */
#define REQUIRE(cond, ...) do { \
	if (!(cond)) \
		ck_abort_msg(__VA_ARGS__); \
} while (0)

static void
setup(void)
{
	struct kva_config cfg = { .physmem = 64 << 20, .kva = 1ULL << 30,
	    .debug = 3 };

	ck_assert_int_eq(kva_init(&cfg), 0);
}

static void
teardown(void)
{
	kva_fini();
}

/*
 * A private map over npages pages of kernel_map.
 */
struct pmap_area {
	struct vm_map *map;
	vaddr_t base;
	vsize_t size;
};

static void
area_create(struct pmap_area *a, size_t npages)
{
	a->size = npages * PAGE_SIZE;
	a->base = uvm_km_valloc(kernel_map, a->size);
	ck_assert(a->base != 0);
	pmap_reference(pmap_kernel());	/* the map's; dropped by its death */
	a->map = uvm_map_create(pmap_kernel(), a->base, a->base + a->size,
	    FALSE);
	ck_assert_ptr_nonnull(a->map);
	ck_assert(vm_map_min(a->map) == a->base);
	ck_assert(vm_map_max(a->map) == a->base + a->size);
}

static void
area_destroy(struct pmap_area *a)
{
	uvm_map_deallocate(a->map);
	uvm_km_free(kernel_map, a->base, a->size);
}

static void
assert_sound(struct vm_map *map)
{
	char why[256];

	if (uvm_map_check(map, why, sizeof(why)) != 0)
		ck_abort_msg("uvm_map_check: %s", why);
}

/* entry: copy of the entry holding va (fails the test if there is none) */
static struct vm_map_entry
entry_at(struct vm_map *map, vaddr_t va)
{
	struct vm_map_entry *e, copy;
	boolean_t found;

	vm_map_lock(map);
	found = uvm_map_lookup_entry(map, va, &e);
	if (found)
		copy = *e;
	vm_map_unlock(map);
	ck_assert_msg(found, "no entry at %#lx", (unsigned long)va);
	return copy;
}

static int
map_nentries(struct vm_map *map)
{
	int n;

	vm_map_lock(map);
	n = map->nentries;
	vm_map_unlock(map);
	return n;
}

/* map n pages at the hint *va; returns the KERN_* result */
static int
map_pages(struct vm_map *map, vaddr_t *va, size_t n, uvm_flag_t flags)
{
	return uvm_map(map, va, n * PAGE_SIZE, NULL, UVM_UNKNOWN_OFFSET, flags);
}

START_TEST(test_kernel_map_sound)
{
	assert_sound(kernel_map);
	ck_assert(map_nentries(kernel_map) >= 1);
}
END_TEST

START_TEST(test_first_fit_and_hint)
{
	struct pmap_area a;
	vaddr_t va, b;

	area_create(&a, 64);
	b = a.base;

	/* from the bottom, the first fit follows what is there */
	va = b;
	ck_assert_int_eq(map_pages(a.map, &va, 4, RW), KERN_SUCCESS);
	ck_assert(va == b);
	va = b;
	ck_assert_int_eq(map_pages(a.map, &va, 2, RW), KERN_SUCCESS);
	ck_assert(va == b + 4 * PAGE_SIZE);

	/* a free hint is taken as it is */
	va = b + 20 * PAGE_SIZE;
	ck_assert_int_eq(map_pages(a.map, &va, 4, RW), KERN_SUCCESS);
	ck_assert(va == b + 20 * PAGE_SIZE);

	/* a mapped hint: the first fit above it */
	va = b + 21 * PAGE_SIZE;
	ck_assert_int_eq(map_pages(a.map, &va, 3, RW), KERN_SUCCESS);
	ck_assert(va == b + 24 * PAGE_SIZE);

	/* a hint whose gap is too small: the next gap that fits */
	va = b + 10 * PAGE_SIZE;	/* 10 free pages from 10 to 20 */
	ck_assert_int_eq(map_pages(a.map, &va, 11, RW), KERN_SUCCESS);
	ck_assert(va == b + 27 * PAGE_SIZE);

	/* nothing above the hint: the lowest fit of all */
	va = b + 60 * PAGE_SIZE;
	ck_assert_int_eq(map_pages(a.map, &va, 8, RW), KERN_SUCCESS);
	ck_assert(va == b + 6 * PAGE_SIZE);

	/* a hint below the map means its start */
	va = 0;
	ck_assert_int_eq(map_pages(a.map, &va, 1, RW), KERN_SUCCESS);
	ck_assert(va == b + 14 * PAGE_SIZE);

	/* an unaligned hint is rounded up */
	va = b + 40 * PAGE_SIZE + 1;
	ck_assert_int_eq(map_pages(a.map, &va, 1, RW), KERN_SUCCESS);
	ck_assert(va == b + 41 * PAGE_SIZE);

	assert_sound(a.map);
	area_destroy(&a);
}
END_TEST

START_TEST(test_fixed)
{
	struct pmap_area a;
	vaddr_t va;
	vsize_t size;
	int n;

	area_create(&a, 32);
	va = a.base + 8 * PAGE_SIZE;
	ck_assert_int_eq(map_pages(a.map, &va, 4, MAPFLAGS(UVM_PROT_RW,
	    UVM_FLAG_FIXED)), KERN_SUCCESS);
	ck_assert(va == a.base + 8 * PAGE_SIZE);
	n = map_nentries(a.map);
	size = a.map->size;

	/* overlaps at the front, at the back, inside, around */
	for (int s = 6; s <= 11; s++) {
		for (int len = 1; len <= 8; len++) {
			if (s + len <= 8 || s >= 12)
				continue;
			va = a.base + (vaddr_t)s * PAGE_SIZE;
			ck_assert_int_eq(map_pages(a.map, &va, (size_t)len,
			    MAPFLAGS(UVM_PROT_RW, UVM_FLAG_FIXED)),
			    KERN_NO_SPACE);
			ck_assert(va == a.base + (vaddr_t)s * PAGE_SIZE);
		}
	}
	/* beyond the map's end, and below its start */
	va = a.base + 30 * PAGE_SIZE;
	ck_assert_int_eq(map_pages(a.map, &va, 4, MAPFLAGS(UVM_PROT_RW,
	    UVM_FLAG_FIXED)), KERN_NO_SPACE);
	va = a.base - PAGE_SIZE;
	ck_assert_int_eq(map_pages(a.map, &va, 1, MAPFLAGS(UVM_PROT_RW,
	    UVM_FLAG_FIXED)), KERN_NO_SPACE);
	ck_assert_int_eq(map_nentries(a.map), n);
	ck_assert(a.map->size == size);

	/* right against it on both sides is fine, and the last page too */
	va = a.base + 12 * PAGE_SIZE;
	ck_assert_int_eq(map_pages(a.map, &va, 2, MAPFLAGS(UVM_PROT_RW,
	    UVM_FLAG_FIXED)), KERN_SUCCESS);
	va = a.base + 7 * PAGE_SIZE;
	ck_assert_int_eq(map_pages(a.map, &va, 1, MAPFLAGS(UVM_PROT_RW,
	    UVM_FLAG_FIXED)), KERN_SUCCESS);
	va = a.base + 31 * PAGE_SIZE;
	ck_assert_int_eq(map_pages(a.map, &va, 1, MAPFLAGS(UVM_PROT_RW,
	    UVM_FLAG_FIXED)), KERN_SUCCESS);
	ck_assert(a.map->size == 8 * PAGE_SIZE);
	assert_sound(a.map);
	area_destroy(&a);
}
END_TEST

START_TEST(test_merge_and_nomerge)
{
	struct pmap_area a;
	struct vm_map_entry e;
	vaddr_t va, b;

	area_create(&a, 64);
	b = a.base;

	/* compatible neighbours become one entry, in either order */
	va = b;
	ck_assert_int_eq(map_pages(a.map, &va, 2, RW), KERN_SUCCESS);
	va = b;
	ck_assert_int_eq(map_pages(a.map, &va, 2, RW), KERN_SUCCESS);
	va = b + 6 * PAGE_SIZE;
	ck_assert_int_eq(map_pages(a.map, &va, 2, MAPFLAGS(UVM_PROT_RW,
	    UVM_FLAG_FIXED)), KERN_SUCCESS);
	ck_assert_int_eq(map_nentries(a.map), 2);
	/* filling the hole joins all three */
	va = b + 4 * PAGE_SIZE;
	ck_assert_int_eq(map_pages(a.map, &va, 2, MAPFLAGS(UVM_PROT_RW,
	    UVM_FLAG_FIXED)), KERN_SUCCESS);
	ck_assert_int_eq(map_nentries(a.map), 1);
	e = entry_at(a.map, b);
	ck_assert(e.start == b && e.end == b + 8 * PAGE_SIZE);

	/* different protection: no merge */
	va = b;
	ck_assert_int_eq(map_pages(a.map, &va, 1, MAPFLAGS(UVM_PROT_R, 0)),
	    KERN_SUCCESS);
	ck_assert(va == b + 8 * PAGE_SIZE);
	ck_assert_int_eq(map_nentries(a.map), 2);

	/* NOMERGE entries stay apart from everything */
	va = b + 16 * PAGE_SIZE;
	ck_assert_int_eq(map_pages(a.map, &va, 2, MAPFLAGS(UVM_PROT_RW,
	    UVM_FLAG_NOMERGE)), KERN_SUCCESS);
	va = b + 18 * PAGE_SIZE;
	ck_assert_int_eq(map_pages(a.map, &va, 2, MAPFLAGS(UVM_PROT_RW,
	    UVM_FLAG_NOMERGE)), KERN_SUCCESS);
	va = b + 20 * PAGE_SIZE;
	ck_assert_int_eq(map_pages(a.map, &va, 2, RW), KERN_SUCCESS);
	ck_assert_int_eq(map_nentries(a.map), 5);
	e = entry_at(a.map, b + 17 * PAGE_SIZE);
	ck_assert(e.start == b + 16 * PAGE_SIZE);
	ck_assert(e.end == b + 18 * PAGE_SIZE);
	ck_assert(e.flags & UVM_MAP_NOMERGE);
	e = entry_at(a.map, b + 20 * PAGE_SIZE);
	ck_assert(!(e.flags & UVM_MAP_NOMERGE));
	ck_assert(e.start == b + 20 * PAGE_SIZE);

	/* kernel_object pieces at contiguous offsets merge */
	va = b + 32 * PAGE_SIZE;
	ck_assert_int_eq(uvm_map(a.map, &va, 4 * PAGE_SIZE, uvm.kernel_object,
	    UVM_UNKNOWN_OFFSET, RW), KERN_SUCCESS);
	va = b + 36 * PAGE_SIZE;
	ck_assert_int_eq(uvm_map(a.map, &va, 4 * PAGE_SIZE, uvm.kernel_object,
	    UVM_UNKNOWN_OFFSET, MAPFLAGS(UVM_PROT_RW, UVM_FLAG_FIXED)),
	    KERN_SUCCESS);
	e = entry_at(a.map, b + 39 * PAGE_SIZE);
	ck_assert(e.start == b + 32 * PAGE_SIZE);
	ck_assert(e.end == b + 40 * PAGE_SIZE);
	ck_assert_int_eq(map_nentries(a.map), 6);

	/* unmapping the middle of an entry clips it in two */
	uvm_unmap(a.map, b + 34 * PAGE_SIZE, b + 35 * PAGE_SIZE);
	ck_assert_int_eq(map_nentries(a.map), 7);
	e = entry_at(a.map, b + 35 * PAGE_SIZE);
	ck_assert(e.offset == (voff_t)(b + 35 * PAGE_SIZE -
	    vm_map_min(kernel_map)));
	assert_sound(a.map);
	area_destroy(&a);
}
END_TEST

START_TEST(test_unknown_offset)
{
	struct vm_map_entry e;
	struct pmap_area a;
	vaddr_t va = vm_map_min(kernel_map);
	vsize_t size = 3 * PAGE_SIZE;

	/* in kernel_map itself (no merge, so the entry is ours alone) */
	ck_assert_int_eq(uvm_map(kernel_map, &va, size, uvm.kernel_object,
	    UVM_UNKNOWN_OFFSET, MAPFLAGS(UVM_PROT_RW, UVM_FLAG_NOMERGE)),
	    KERN_SUCCESS);
	e = entry_at(kernel_map, va);
	ck_assert(e.start == va && e.end == va + size);
	ck_assert(UVM_ET_ISOBJ(&e));
	ck_assert_ptr_eq(e.object.uvm_obj, uvm.kernel_object);
	ck_assert(e.offset == (voff_t)(va - vm_map_min(kernel_map)));
	uvm_unmap(kernel_map, va, va + size);

	/* in another map the offset is still relative to kernel_map */
	area_create(&a, 16);
	va = a.base + 5 * PAGE_SIZE;
	ck_assert_int_eq(uvm_map(a.map, &va, size, uvm.kernel_object,
	    UVM_UNKNOWN_OFFSET, RW), KERN_SUCCESS);
	e = entry_at(a.map, va);
	ck_assert(e.offset == (voff_t)(va - vm_map_min(kernel_map)));

	/* no object: offset 0 */
	va = a.base;
	ck_assert_int_eq(map_pages(a.map, &va, 1, RW), KERN_SUCCESS);
	e = entry_at(a.map, va);
	ck_assert(!UVM_ET_ISOBJ(&e));
	ck_assert(e.offset == 0);
	area_destroy(&a);
}
END_TEST

struct holder {
	struct vm_map *map;
	pthread_barrier_t locked, release;
};

static void *
lock_holder(void *arg)
{
	struct holder *h = arg;

	vm_map_lock(h->map);
	pthread_barrier_wait(&h->locked);
	pthread_barrier_wait(&h->release);
	vm_map_unlock(h->map);
	return NULL;
}

START_TEST(test_trylock)
{
	struct pmap_area a;
	struct holder h;
	pthread_t t;
	vaddr_t va;
	int n;

	area_create(&a, 16);
	h.map = a.map;
	pthread_barrier_init(&h.locked, NULL, 2);
	pthread_barrier_init(&h.release, NULL, 2);
	ck_assert_int_eq(pthread_create(&t, NULL, lock_holder, &h), 0);
	pthread_barrier_wait(&h.locked);

	va = a.base;
	ck_assert_int_eq(map_pages(a.map, &va, 1, MAPFLAGS(UVM_PROT_RW,
	    UVM_FLAG_TRYLOCK)), KERN_FAILURE);
	ck_assert(!vm_map_lock_try(a.map));
	n = a.map->nentries;		/* frozen while the lock is held */
	ck_assert_int_eq(n, 0);

	pthread_barrier_wait(&h.release);
	pthread_join(t, NULL);
	ck_assert_int_eq(map_pages(a.map, &va, 1, MAPFLAGS(UVM_PROT_RW,
	    UVM_FLAG_TRYLOCK)), KERN_SUCCESS);
	ck_assert(va == a.base);
	ck_assert(vm_map_lock_try(a.map));
	vm_map_unlock(a.map);
	pthread_barrier_destroy(&h.locked);
	pthread_barrier_destroy(&h.release);
	area_destroy(&a);
}
END_TEST

START_TEST(test_no_space)
{
	struct pmap_area a;
	vaddr_t va, first;
	int i;

	area_create(&a, 32);
	/* fill it with NOMERGE pieces of 4 pages */
	for (i = 0; i < 8; i++) {
		va = a.base;
		ck_assert_int_eq(map_pages(a.map, &va, 4, MAPFLAGS(UVM_PROT_RW,
		    UVM_FLAG_NOMERGE)), KERN_SUCCESS);
		ck_assert(va == a.base + (vaddr_t)i * 4 * PAGE_SIZE);
	}
	va = a.base;
	ck_assert_int_eq(map_pages(a.map, &va, 1, RW), KERN_NO_SPACE);
	va = a.base;
	ck_assert_int_eq(map_pages(a.map, &va, 33, RW), KERN_NO_SPACE);

	/* free 4 pages in the middle: 4 fit there, 5 still do not */
	first = a.base + 12 * PAGE_SIZE;
	uvm_unmap(a.map, first, first + 4 * PAGE_SIZE);
	va = a.base;
	ck_assert_int_eq(map_pages(a.map, &va, 5, RW), KERN_NO_SPACE);
	va = a.base + 20 * PAGE_SIZE;	/* the hint wraps round */
	ck_assert_int_eq(map_pages(a.map, &va, 4, RW), KERN_SUCCESS);
	ck_assert(va == first);
	va = a.base;
	ck_assert_int_eq(map_pages(a.map, &va, 1, RW), KERN_NO_SPACE);

	/* unmapping what is not mapped is harmless; partly mapped works */
	uvm_unmap(a.map, a.base + 2 * PAGE_SIZE, a.base + 2 * PAGE_SIZE);
	uvm_unmap(a.map, a.base + 30 * PAGE_SIZE, a.base + 40 * PAGE_SIZE);
	va = a.base;
	ck_assert_int_eq(map_pages(a.map, &va, 2, RW), KERN_SUCCESS);
	ck_assert(va == a.base + 30 * PAGE_SIZE);
	uvm_unmap(a.map, a.base, a.base + a.size);
	ck_assert_int_eq(map_nentries(a.map), 0);
	ck_assert(a.map->size == 0);
	va = a.base + 7 * PAGE_SIZE;
	ck_assert_int_eq(map_pages(a.map, &va, 32, RW), KERN_SUCCESS);
	ck_assert(va == a.base);
	assert_sound(a.map);
	area_destroy(&a);
}
END_TEST

START_TEST(test_invalid_arguments)
{
	struct pmap_area a;
	vaddr_t va;
	unsigned ts;

	area_create(&a, 16);
	ts = a.map->timestamp;
	va = a.base;
	ck_assert_int_eq(uvm_map(a.map, &va, 0, NULL, UVM_UNKNOWN_OFFSET, RW),
	    KERN_INVALID_ARGUMENT);
	ck_assert_int_eq(uvm_map(a.map, &va, PAGE_SIZE + 1, NULL,
	    UVM_UNKNOWN_OFFSET, RW), KERN_INVALID_ARGUMENT);
	va = a.base + 1;
	ck_assert_int_eq(map_pages(a.map, &va, 1, MAPFLAGS(UVM_PROT_RW,
	    UVM_FLAG_FIXED)), KERN_INVALID_ARGUMENT);
	va = trunc_page(UINTPTR_MAX);
	ck_assert_int_eq(map_pages(a.map, &va, 2, MAPFLAGS(UVM_PROT_RW,
	    UVM_FLAG_FIXED)), KERN_INVALID_ARGUMENT);
	va = a.base;
	ck_assert_int_eq(uvm_map(a.map, &va, PAGE_SIZE, uvm.kernel_object, 5,
	    RW), KERN_INVALID_ARGUMENT);
	ck_assert_int_eq(uvm_map(a.map, &va, PAGE_SIZE, NULL,
	    UVM_UNKNOWN_OFFSET, UVM_MAPFLAG(UVM_PROT_RW, UVM_PROT_R,
	    UVM_INH_NONE, UVM_ADV_RANDOM, 0)), KERN_PROTECTION_FAILURE);
	/* bigger than the whole map */
	ck_assert_int_eq(map_pages(a.map, &va, 17, RW), KERN_NO_SPACE);
	ck_assert(va == a.base);
	ck_assert_int_eq(map_nentries(a.map), 0);
	ck_assert_uint_eq(a.map->timestamp, ts);

	/* uvm_map_submap wants exactly one object-less entry */
	va = a.base;
	ck_assert_int_eq(map_pages(a.map, &va, 4, MAPFLAGS(UVM_PROT_RW,
	    UVM_FLAG_NOMERGE)), KERN_SUCCESS);
	ck_assert_int_eq(uvm_map_submap(a.map, a.base, a.base + 3 * PAGE_SIZE,
	    kmem_map), KERN_INVALID_ARGUMENT);
	ck_assert_int_eq(uvm_map_submap(a.map, a.base, a.base + 5 * PAGE_SIZE,
	    kmem_map), KERN_INVALID_ARGUMENT);
	ck_assert_int_eq(uvm_map_submap(a.map, a.base + 8 * PAGE_SIZE,
	    a.base + 9 * PAGE_SIZE, kmem_map), KERN_INVALID_ARGUMENT);
	va = a.base + 8 * PAGE_SIZE;
	ck_assert_int_eq(uvm_map(a.map, &va, PAGE_SIZE, uvm.kernel_object,
	    UVM_UNKNOWN_OFFSET, RW), KERN_SUCCESS);
	ck_assert_int_eq(uvm_map_submap(a.map, va, va + PAGE_SIZE, kmem_map),
	    KERN_INVALID_ARGUMENT);
	assert_sound(a.map);
	area_destroy(&a);
}
END_TEST

static int
overlaps(vaddr_t s1, vaddr_t e1, vaddr_t s2, vaddr_t e2)
{
	return s1 < e2 && s2 < e1;
}

START_TEST(test_submap)
{
	vaddr_t min = 0, max = 0, va[64], sva[16];
	vsize_t sz = 64 * PAGE_SIZE;
	struct vm_map *sub;
	struct vm_map_entry e;
	int i;

	sub = uvm_km_suballoc(kernel_map, &min, &max, sz, TRUE, FALSE, NULL);
	ck_assert_ptr_nonnull(sub);
	ck_assert(max == min + sz);
	ck_assert(vm_map_min(sub) == min && vm_map_max(sub) == max);
	e = entry_at(kernel_map, min);
	ck_assert(UVM_ET_ISSUBMAP(&e));
	ck_assert_ptr_eq(e.object.sub_map, sub);
	ck_assert(e.start == min && e.end == max);

	/* the parent never hands out space inside the submap */
	for (i = 0; i < 64; i++) {
		vsize_t s = (vsize_t)(1 + i % 5) * PAGE_SIZE;

		va[i] = uvm_km_valloc(kernel_map, s);
		ck_assert(va[i] != 0);
		ck_assert(!overlaps(va[i], va[i] + s, min, max));
		if (i % 3 == 0) {	/* leave holes behind */
			uvm_km_free(kernel_map, va[i], s);
			va[i] = 0;
		}
	}
	/* not even when asked for exactly that place */
	va[0] = min + PAGE_SIZE;
	ck_assert_int_eq(uvm_map(kernel_map, &va[0], PAGE_SIZE, NULL,
	    UVM_UNKNOWN_OFFSET, MAPFLAGS(UVM_PROT_RW, UVM_FLAG_FIXED)),
	    KERN_NO_SPACE);
	va[0] = min;		/* a hint inside it goes past it */
	ck_assert_int_eq(uvm_map(kernel_map, &va[0], PAGE_SIZE, NULL,
	    UVM_UNKNOWN_OFFSET, RW), KERN_SUCCESS);
	ck_assert(!overlaps(va[0], va[0] + PAGE_SIZE, min, max));
	uvm_unmap(kernel_map, va[0], va[0] + PAGE_SIZE);
	va[0] = 0;

	/* the submap allocates inside itself */
	for (i = 0; i < 16; i++) {
		sva[i] = uvm_km_valloc(sub, 4 * PAGE_SIZE);
		ck_assert(sva[i] >= min && sva[i] + 4 * PAGE_SIZE <= max);
	}
	ck_assert(uvm_km_valloc(sub, PAGE_SIZE) == 0);	/* full */
	assert_sound(sub);
	assert_sound(kernel_map);

	for (i = 0; i < 16; i++)
		uvm_km_free(sub, sva[i], 4 * PAGE_SIZE);
	for (i = 0; i < 64; i++)
		if (va[i] != 0)
			uvm_km_free(kernel_map, va[i],
			    (vsize_t)(1 + i % 5) * PAGE_SIZE);
	uvm_unmap(kernel_map, min, max);	/* drops the entry's reference */
	uvm_map_deallocate(sub);		/* and ours: the submap dies */
	assert_sound(kernel_map);
}
END_TEST

struct walk {
	vaddr_t last;
	int n, stop;
};

static int
walk_fn(const struct vm_map_entry *e, void *arg)
{
	struct walk *w = arg;

	ck_assert(e->start >= w->last);
	w->last = e->end;
	return ++w->n == w->stop;
}

START_TEST(test_foreach)
{
	struct pmap_area a;
	struct walk w = { 0, 0, 0 };
	vaddr_t va;
	int i;

	area_create(&a, 64);
	for (i = 0; i < 10; i++) {
		va = a.base + (vaddr_t)(63 - 6 * i) * PAGE_SIZE;
		ck_assert_int_eq(map_pages(a.map, &va, 1, RW), KERN_SUCCESS);
	}
	ck_assert_int_eq(uvm_map_foreach(a.map, walk_fn, &w), 0);
	ck_assert_int_eq(w.n, 10);
	w.last = 0;
	w.n = 0;
	w.stop = 4;
	ck_assert_int_eq(uvm_map_foreach(a.map, walk_fn, &w), 1);
	ck_assert_int_eq(w.n, 4);
	area_destroy(&a);
}
END_TEST

/*
 * The randomized test: a reference model of NPG pages, each free or
 * mapped with an (object, offset, protection, mapping id, nomerge).
 */
#define NPG   512
#define NOPS  20000

struct mpage {
	int used, kobj, prot, nomerge, id;
	voff_t off;
};

struct model {
	struct mpage pg[NPG];
	vaddr_t base;
	long step, covered;
	uint64_t rs;
};

static uint64_t
rnd(struct model *m)
{
	m->rs ^= m->rs << 13;
	m->rs ^= m->rs >> 7;
	m->rs ^= m->rs << 17;
	return m->rs;
}

/* the model's answer: first fit at or above hint, else the lowest */
static long
model_fit(const struct model *m, long hint, long n)
{
	long i, run = 0;

	for (i = hint; i < NPG; i++) {
		run = m->pg[i].used ? 0 : run + 1;
		if (run == n)
			return i - n + 1;
	}
	for (i = 0, run = 0; i < NPG; i++) {
		run = m->pg[i].used ? 0 : run + 1;
		if (run == n)
			return i - n + 1;
	}
	return -1;
}

static int
model_cmp(const struct vm_map_entry *e, void *arg)
{
	struct model *m = arg;
	long s = (long)((e->start - m->base) / PAGE_SIZE);
	long n = (long)((e->end - e->start) / PAGE_SIZE), i;
	int kobj = UVM_ET_ISOBJ(e);

	REQUIRE(e->start >= m->base && s + n <= NPG,
	    "step %ld: entry %#lx-%#lx outside", m->step,
	    (unsigned long)e->start, (unsigned long)e->end);
	for (i = s; i < s + n; i++) {
		const struct mpage *p = &m->pg[i];

		REQUIRE(p->used, "step %ld: page %ld mapped, model free",
		    m->step, i);
		REQUIRE(p->kobj == kobj && p->prot == e->protection &&
		    p->nomerge == ((e->flags & UVM_MAP_NOMERGE) != 0),
		    "step %ld: page %ld attributes differ", m->step, i);
		REQUIRE(!kobj ||
		    p->off == e->offset + (voff_t)(i - s) * (voff_t)PAGE_SIZE,
		    "step %ld: page %ld offset differs", m->step, i);
		REQUIRE(!p->nomerge || p->id == m->pg[s].id,
		    "step %ld: NOMERGE mapping %d merged", m->step, p->id);
	}
	m->covered += n;
	return 0;
}

static void
model_verify(struct model *m, struct vm_map *map)
{
	long i, used = 0;
	char why[256];

	if (uvm_map_check(map, why, sizeof(why)) != 0)
		ck_abort_msg("step %ld: uvm_map_check: %s", m->step, why);
	m->covered = 0;
	REQUIRE(uvm_map_foreach(map, model_cmp, m) == 0, "foreach");
	for (i = 0; i < NPG; i++)
		used += m->pg[i].used;
	REQUIRE(used == m->covered, "step %ld: %ld pages in the model, "
	    "%ld in the map", m->step, used, m->covered);
	REQUIRE(map->size == (vsize_t)used * PAGE_SIZE, "step %ld: size %#lx",
	    m->step, (unsigned long)map->size);
}

static void
model_map(struct model *m, struct vm_map *map, int *nmap)
{
	int fixed = rnd(m) % 3 == 0, kobj = rnd(m) % 2 == 0;
	int nomerge = rnd(m) % 8 == 0;
	int prot = rnd(m) % 6 == 0 ? UVM_PROT_R : UVM_PROT_RW;
	long n = rnd(m) % 4 == 0 ? 1 + (long)(rnd(m) % 100) :
	    1 + (long)(rnd(m) % 8);
	long hint = (long)(rnd(m) % (NPG + 8)), expect, i;
	vaddr_t va = m->base + (vaddr_t)hint * PAGE_SIZE;
	uvm_flag_t flags = MAPFLAGS(prot, (fixed ? UVM_FLAG_FIXED : 0) |
	    (nomerge ? UVM_FLAG_NOMERGE : 0));
	int rv;

	if (fixed) {
		expect = hint + n <= NPG ? hint : -1;
		for (i = hint; expect >= 0 && i < hint + n; i++)
			if (m->pg[i].used)
				expect = -1;
	} else {
		expect = model_fit(m, hint < NPG ? hint : NPG, n);
	}
	rv = uvm_map(map, &va, (vsize_t)n * PAGE_SIZE,
	    kobj ? uvm.kernel_object : NULL, UVM_UNKNOWN_OFFSET, flags);
	if (expect < 0) {
		REQUIRE(rv == KERN_NO_SPACE, "step %ld: uvm_map %d, "
		    "expected KERN_NO_SPACE", m->step, rv);
		return;
	}
	REQUIRE(rv == KERN_SUCCESS &&
	    va == m->base + (vaddr_t)expect * PAGE_SIZE,
	    "step %ld: uvm_map %d at page %ld, expected page %ld (fixed %d, "
	    "hint %ld, %ld pages)", m->step, rv,
	    (long)((va - m->base) / PAGE_SIZE), expect, fixed, hint, n);
	++*nmap;
	for (i = expect; i < expect + n; i++) {
		struct mpage *p = &m->pg[i];

		p->used = 1;
		p->kobj = kobj;
		p->prot = prot;
		p->nomerge = nomerge;
		p->id = *nmap;
		p->off = kobj ? (voff_t)(m->base + (vaddr_t)i * PAGE_SIZE -
		    vm_map_min(kernel_map)) : 0;
	}
}

START_TEST(test_random_model)
{
	static struct model m;
	struct pmap_area a;
	int nmap = 0, maxent = 0;
	long i;

	memset(&m, 0, sizeof(m));
	m.rs = 0x9e3779b97f4a7c15ULL + (uint64_t)_i;
	area_create(&a, NPG);
	m.base = a.base;
	for (m.step = 0; m.step < NOPS; m.step++) {
		if (rnd(&m) % 10 < 6) {
			model_map(&m, a.map, &nmap);
		} else {
			/* a random range, often clipping entries at both ends */
			long s = (long)(rnd(&m) % NPG) - 2;
			long n = rnd(&m) % 3 == 0 ? (long)(rnd(&m) % 200) :
			    1 + (long)(rnd(&m) % 12);

			if (s < 0)
				s = 0;
			uvm_unmap(a.map, a.base + (vaddr_t)s * PAGE_SIZE,
			    a.base + (vaddr_t)(s + n) * PAGE_SIZE);
			for (i = s; i < s + n && i < NPG; i++)
				m.pg[i].used = 0;
		}
		model_verify(&m, a.map);
		if (map_nentries(a.map) > maxent)
			maxent = map_nentries(a.map);
	}
	ck_assert_int_gt(maxent, 20);	/* the tree was exercised */
	area_destroy(&a);
}
END_TEST

static Suite *
map_suite(void)
{
	Suite *s = suite_create("map");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_kernel_map_sound);
	tcase_add_test(tc, test_first_fit_and_hint);
	tcase_add_test(tc, test_fixed);
	tcase_add_test(tc, test_merge_and_nomerge);
	tcase_add_test(tc, test_unknown_offset);
	tcase_add_test(tc, test_trylock);
	tcase_add_test(tc, test_no_space);
	tcase_add_test(tc, test_invalid_arguments);
	tcase_add_test(tc, test_submap);
	tcase_add_test(tc, test_foreach);
	tcase_add_loop_test(tc, test_random_model, 0, 1);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(map_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

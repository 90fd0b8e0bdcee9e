/*
 * uvm_page.c: the physical page allocator and the (object, offset) page
 * lookup of kva.
 *
 * Theory of operation
 *
 * 1. Frames.  Physical memory is a memfd; page frame n is physical
 *    address n << PAGE_SHIFT and is described by vm_page_array[n].  The
 *    array has room for every frame the physmem cap allows
 *    (vm_page_array_max) but only the first vm_page_array_n frames are
 *    loaded: physical memory grows lazily, one segment at a time, when
 *    the free lists run dry (pmap_physmem_grow, then uvm_page_physload).
 *    Frames not loaded yet count as free, so uvmexp.free is the same
 *    before and after growth: uvmexp.free = free loaded frames + frames
 *    not loaded.  PHYS_TO_VM_PAGE is an index into the array.
 *
 * 2. Buddies.  Free frames are kept by a binary buddy allocator over
 *    frame numbers, as FreeBSD's vm_phys: a free block of order k is
 *    2^k frames starting at a multiple of 2^k, listed on uvm_freeq[k]
 *    through its first page's pageq.  Every page of a free block carries
 *    PQ_FREE; the first page (the head) carries the order in buddy_order,
 *    the others UVM_BUDDY_NONE.  Freeing a block merges it with its buddy
 *    (frame ^ 2^k) while the buddy is a free head of the same order, so
 *    free memory coalesces back into blocks of up to 2^UVM_BUDDY_MAXORDER
 *    frames.  A bitmap of non-empty orders finds a block in one step.
 *
 * 3. Runs.  An allocation of order k takes the first block of the lowest
 *    order >= k that has one, and splits it: it keeps the low half and
 *    puts the upper halves at the head of their lists, so the next
 *    allocations take the frames that follow.  Consecutive one-page
 *    allocations thus get consecutive frames, and the pmap can map them
 *    with one host mapping.  A contiguous run of n frames
 *    (uvm_pglistalloc_contig) takes a block of the smallest order that
 *    holds n and gives the tail back.  Freed blocks also go to the head:
 *    recently used memory is populated in the host and cache-warm.
 *
 * 4. Zero pages.  A fresh memfd page reads zero, so loaded frames start
 *    with PG_ZERO; uvmexp.zeropages counts free pages with PG_ZERO.
 *    uvm_pagefree clears PG_ZERO (the contents are unknown).
 *    uvm_pagealloc(UVM_PGA_ZERO) zeroes through the direct map only when
 *    the page is not known to be zero.  Pages from uvm_pagealloc come
 *    back without PG_ZERO, as in NetBSD; runs from uvm_pglistalloc_contig
 *    keep it so that their caller zeroes only what it must.  PG_ZERO on a
 *    page in use is a hint that its owner must clear before writing to
 *    the page (uvm_pagezero clears it).
 *
 * 5. The reserve.  uvmexp.reserve_pagedaemon pages may be taken only by
 *    allocations with UVM_PGA_USERESERVE (the page daemon's).  Nothing
 *    here sleeps: an allocation that fails returns NULL and its caller
 *    may uvm_wait, which sleeps on &uvmexp.free with the free lock as
 *    interlock, so a free that comes between the check and the sleep is
 *    never missed.  Frees call wakeup only when someone waits.
 *
 * 6. Lookup.  One global hash table maps (object, offset) to a page,
 *    chained through pg->hnext.  Consecutive offsets of an object fall in
 *    consecutive buckets.  Buckets are shared by all objects, so each is
 *    protected by one of UVM_PAGEHASH_NLOCKS striped mutexes; the page's
 *    own fields, and the object's memq, are protected by the object lock.
 *
 * 7. Hot path.  uvm_pagealloc(NULL, ...) of one page is a bitmap scan,
 *    a list removal and at most UVM_BUDDY_MAXORDER splits under the free
 *    lock: no system call unless physical memory must grow.
 *
 * Locks, in the order they are taken (kva_impl.h ranks them): object
 * lock (2), page queue lock (3), free page lock (4).  The hash stripe
 * locks are leaves, taken with at most the object lock held.
 * uvm_pagefree takes the page queue lock itself, for queued or wired
 * pages only.
 *
 *   (F) uvm_fpageqlock: uvm_freeq, the PQ_FREE bit and buddy_order of
 *       every page, vm_page_array_n, uvmexp.free, uvmexp.zeropages,
 *       uvm_free_waiters, the flags of free pages.
 *   (Q) uvm_pageqlock: the paging queues, PQ_ACTIVE/PQ_INACTIVE,
 *       wire_count, uvmexp.active/inactive/wired.
 *   (O) the object's vmobjlock: flags, uobject, offset, listq of its pages.
 *   (H) a hash stripe lock: hnext and the bucket heads.
 */

#include "kva_impl.h"
#include "pmap_posix/pmap_md.h"

#include <stdio.h>		/* snprintf, for uvm_page_check only */

/*
 * UVM_BUDDY_MAXORDER: the largest free block is 2^18 frames, 1 GiB with
 * 4 KiB pages.  Larger blocks would buy nothing: no caller asks for runs
 * that long, and merging stops there anyway.
 */
#define UVM_BUDDY_MAXORDER	18
#define UVM_BUDDY_NORDERS	(UVM_BUDDY_MAXORDER + 1)
#define UVM_BUDDY_NONE		0xff	/* buddy_order of a non-head page */

/*
 * Hash table sizing: one bucket for every two frames of the cap (a page
 * is tabled in at most one object), at least 256, at most 2^20 buckets
 * (8 MiB of bootstrap memory).  64 stripe locks, each on its own cache
 * line, keep threads that work on different objects apart.
 */
#define UVM_PAGEHASH_MIN	256
#define UVM_PAGEHASH_MAX	((size_t)1 << 20)
#define UVM_PAGEHASH_NLOCKS	64

struct vm_page *vm_page_array;		/* (C) frame n is vm_page_array[n] */
size_t vm_page_array_n;			/* (F) frames loaded; read lock-free */
size_t vm_page_array_max;		/* (F) frames the physmem cap allows */
kmutex_t uvm_pageqlock = PTHREAD_MUTEX_INITIALIZER;
struct pglist uvm_page_active;		/* (Q) */
struct pglist uvm_page_inactive;	/* (Q) */

static kmutex_t uvm_fpageqlock = PTHREAD_MUTEX_INITIALIZER;
static struct pglist uvm_freeq[UVM_BUDDY_NORDERS];	/* (F) */
static uint32_t uvm_freeq_mask;		/* (F) bit k: uvm_freeq[k] non-empty */
static int uvm_free_waiters;		/* (F) threads in uvm_wait */

static struct vm_page **uvm_pagehash;	/* (H) bucket heads */
static size_t uvm_pagehash_mask;	/* (C) buckets - 1 */
static struct uvm_pagehash_lock {
	kmutex_t lock;
} __attribute__((aligned(64))) uvm_pagehash_locks[UVM_PAGEHASH_NLOCKS];

/* uvm_count: bump a statistics counter that no lock protects. */
static inline void
uvm_count(long *counter)
{
	__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

static inline size_t
pg_frame(const struct vm_page *pg)
{
	return vm_page_index(pg);
}

static inline paddr_t
frame_pa(size_t frame)
{
	return (paddr_t)frame << PAGE_SHIFT;
}

/* ------------------------------------------------------------------ */
/* The buddy allocator.  Everything in this section runs with (F) held. */

/* uvm_freeq_insert: put the free block of 2^order frames at pg on its list. */
static inline void
uvm_freeq_insert(struct vm_page *pg, unsigned order, bool head)
{
	pg->buddy_order = (uint8_t)order;
	if (head)
		TAILQ_INSERT_HEAD(&uvm_freeq[order], pg, pageq);
	else
		TAILQ_INSERT_TAIL(&uvm_freeq[order], pg, pageq);
	uvm_freeq_mask |= 1u << order;
}

/* uvm_freeq_remove: take the free block at pg off its list. */
static inline void
uvm_freeq_remove(struct vm_page *pg)
{
	unsigned order = pg->buddy_order;

	TAILQ_REMOVE(&uvm_freeq[order], pg, pageq);
	if (TAILQ_EMPTY(&uvm_freeq[order]))
		uvm_freeq_mask &= ~(1u << order);
	pg->buddy_order = UVM_BUDDY_NONE;
}

/*
 * uvm_buddy_free: give the block of 2^order frames at frame back,
 * merging it with its buddies.  Its pages already carry PQ_FREE and
 * UVM_BUDDY_NONE.
 */
static void
uvm_buddy_free(size_t frame, unsigned order, bool head)
{
	while (order < UVM_BUDDY_MAXORDER) {
		size_t buddy = frame ^ ((size_t)1 << order);
		struct vm_page *bpg;

		if (buddy >= vm_page_array_n)
			break;
		bpg = &vm_page_array[buddy];
		if ((bpg->pqflags & PQ_FREE) == 0 || bpg->buddy_order != order)
			break;
		uvm_freeq_remove(bpg);
		frame &= ~((size_t)1 << order);
		order++;
	}
	uvm_freeq_insert(&vm_page_array[frame], order, head);
}

/*
 * uvm_buddy_free_range: give back frames [frame, frame + n), as the
 * largest aligned blocks that tile it, merging each with its buddies.
 */
static void
uvm_buddy_free_range(size_t frame, size_t n, bool head)
{
	while (n > 0) {
		unsigned order = 0;

		while (order < UVM_BUDDY_MAXORDER &&
		    (frame & ((size_t)1 << order)) == 0 &&
		    ((size_t)2 << order) <= n)
			order++;
		uvm_buddy_free(frame, order, head);
		frame += (size_t)1 << order;
		n -= (size_t)1 << order;
	}
}

/*
 * uvm_buddy_take: take a block of 2^order frames off the free lists.
 * The first block of the lowest order that has one is split; the upper
 * halves go to the head of their lists, so the frames after the block
 * are the next to be handed out.
 * => returns the first page, still marked PQ_FREE, or NULL.
 */
static struct vm_page *
uvm_buddy_take(unsigned order)
{
	uint32_t avail = uvm_freeq_mask >> order;
	struct vm_page *pg;
	unsigned k;

	if (avail == 0)
		return NULL;
	k = order + (unsigned)__builtin_ctz(avail);
	pg = TAILQ_FIRST(&uvm_freeq[k]);
	uvm_freeq_remove(pg);
	while (k > order) {
		k--;
		uvm_freeq_insert(pg + ((size_t)1 << k), k, true);
	}
	return pg;
}

/*
 * uvm_buddy_claim: mark the n pages at pg allocated; count the zero ones.
 */
static void
uvm_buddy_claim(struct vm_page *pg, size_t n)
{
	int zero = 0;

	for (size_t i = 0; i < n; i++) {
		pg[i].pqflags &= (uint16_t)~PQ_FREE;
		zero += (pg[i].flags & PG_ZERO) != 0;
	}
	uvmexp.free -= (int)n;
	uvmexp.zeropages -= zero;
}

/*
 * uvm_page_physload_locked: load frames [first, first + n): initialise
 * their pages and free them.  They were counted free already.
 */
static void
uvm_page_physload_locked(size_t first, size_t n)
{
	if (first != vm_page_array_n || n > vm_page_array_max - first)
		panic("uvm_page_physload(%zu, %zu): frames loaded %zu, max %zu",
		    first, n, vm_page_array_n, vm_page_array_max);
	for (size_t i = first; i < first + n; i++) {
		struct vm_page *pg = &vm_page_array[i];

		memset(pg, 0, sizeof(*pg));
		pg->phys_addr = frame_pa(i);
		pg->flags = PG_ZERO;		/* fresh memfd pages read zero */
		pg->pqflags = PQ_FREE;
		pg->buddy_order = UVM_BUDDY_NONE;
	}
	__atomic_store_n(&vm_page_array_n, first + n, __ATOMIC_RELEASE);
	uvmexp.zeropages += (int)n;
	uvm_buddy_free_range(first, n, false);
}

/*
 * uvm_page_grow_locked: load one more segment of physical memory.
 * => (F) held; it stays held across pmap_physmem_grow.
 * => true if frames were loaded.  At the cap pmap has the last word:
 *    if it has fewer frames than we counted, the rest stop counting.
 */
static bool
uvm_page_grow_locked(void)
{
	size_t first, n;
	int error;

	if (vm_page_array_n >= vm_page_array_max)
		return false;
	error = pmap_physmem_grow(&first, &n);
	if (error == -ENOMEM) {
		size_t lost = vm_page_array_max - vm_page_array_n;

		uvmexp.free -= (int)lost;
		uvmexp.npages -= (int)lost;
		vm_page_array_max = vm_page_array_n;
		return false;
	}
	if (error != 0 || n == 0)
		return false;
	uvm_page_physload_locked(first, n);
	return true;
}

/*
 * uvm_page_take: take 2^order frames, growing physical memory if need be.
 * => (F) held.  NULL if the reserve or physical memory forbids it.
 */
static struct vm_page *
uvm_page_take(unsigned order, size_t npages, int flags)
{
	struct vm_page *pg;

	if ((flags & UVM_PGA_USERESERVE) == 0 &&
	    (size_t)uvmexp.free < npages + (size_t)uvmexp.reserve_pagedaemon)
		return NULL;
	while ((pg = uvm_buddy_take(order)) == NULL) {
		if (!uvm_page_grow_locked())
			return NULL;
	}
	return pg;
}

/*
 * uvm_free_wake_locked: note that sleepers in uvm_wait must be woken.
 * => (F) held; the caller calls wakeup(&uvmexp.free) after dropping it
 *    when this returned true.
 */
static inline bool
uvm_free_wake_locked(void)
{
	if (KVA_LIKELY(uvm_free_waiters == 0))
		return false;
	uvm_free_waiters = 0;
	return true;
}

/* ------------------------------------------------------------------ */
/* Set up and tear down. */

/*
 * uvm_page_init: take charge of the page array at pgs, with room for
 * npages_max frames, none loaded yet.
 * => called once by kva_init, after pmap_bootstrap, before any thread
 *    uses kva.
 */
void
uvm_page_init(struct vm_page *pgs, size_t npages_max)
{
	size_t nbuckets = UVM_PAGEHASH_MIN;

	if (pgs == NULL || npages_max == 0 || npages_max > INT32_MAX)
		panic("uvm_page_init(%p, %zu): bad arguments", pgs, npages_max);
	mutex_init(&uvm_pageqlock);
	mutex_init(&uvm_fpageqlock);
	for (int i = 0; i < UVM_PAGEHASH_NLOCKS; i++)
		mutex_init(&uvm_pagehash_locks[i].lock);
	for (int k = 0; k < UVM_BUDDY_NORDERS; k++)
		TAILQ_INIT(&uvm_freeq[k]);
	uvm_freeq_mask = 0;
	uvm_free_waiters = 0;
	TAILQ_INIT(&uvm_page_active);
	TAILQ_INIT(&uvm_page_inactive);

	vm_page_array = pgs;
	vm_page_array_n = 0;
	vm_page_array_max = npages_max;
	uvmexp.npages = (int)npages_max;
	uvmexp.free = (int)npages_max;
	uvmexp.zeropages = 0;
	uvmexp.active = uvmexp.inactive = uvmexp.wired = 0;
	uvmexp.pga_zerohit = uvmexp.pga_zeromiss = 0;

	while (nbuckets < npages_max / 2 && nbuckets < UVM_PAGEHASH_MAX)
		nbuckets <<= 1;
	/* if the bootstrap region is short, live with longer chains */
	while ((uvm_pagehash = pmap_bootstrap_alloc(nbuckets *
	    sizeof(*uvm_pagehash))) == NULL && nbuckets > 16)
		nbuckets >>= 1;
	if (uvm_pagehash == NULL)
		panic("uvm_page_init(%p, %zu): no room for the page hash",
		    pgs, npages_max);
	uvm_pagehash_mask = nbuckets - 1;
}

/*
 * uvm_page_physload: load frames [first, first + n) (frame numbers) and
 * free them.  Segments are loaded in order: first is the number of
 * frames loaded so far.
 * => free lock not held; may be called by any thread.
 */
void
uvm_page_physload(size_t first, size_t n)
{
	bool wake;

	mutex_enter(&uvm_fpageqlock);
	uvm_page_physload_locked(first, n);
	wake = uvm_free_wake_locked();
	mutex_exit(&uvm_fpageqlock);
	if (wake)
		wakeup(&uvmexp.free);
}

/*
 * uvm_page_fini: forget everything, for a later kva_init.
 * => no other thread uses kva; the page array and the hash table belong
 *    to the bootstrap region, which pmap_shutdown takes back.
 */
void
uvm_page_fini(void)
{
	mutex_destroy(&uvm_pageqlock);
	mutex_destroy(&uvm_fpageqlock);
	for (int i = 0; i < UVM_PAGEHASH_NLOCKS; i++)
		mutex_destroy(&uvm_pagehash_locks[i].lock);
	for (int k = 0; k < UVM_BUDDY_NORDERS; k++)
		TAILQ_INIT(&uvm_freeq[k]);
	uvm_freeq_mask = 0;
	uvm_free_waiters = 0;
	TAILQ_INIT(&uvm_page_active);
	TAILQ_INIT(&uvm_page_inactive);
	vm_page_array = NULL;
	vm_page_array_n = 0;
	vm_page_array_max = 0;
	uvm_pagehash = NULL;
	uvm_pagehash_mask = 0;
	uvmexp.npages = uvmexp.free = uvmexp.zeropages = 0;
	uvmexp.active = uvmexp.inactive = uvmexp.wired = 0;
	uvmexp.reserve_pagedaemon = 0;
}

/*
 * kva_phys_to_vm_page: PHYS_TO_VM_PAGE(pa).
 * => pa must lie in a loaded frame; panics otherwise.
 */
struct vm_page *
kva_phys_to_vm_page(paddr_t pa)
{
	size_t frame = (size_t)(pa >> PAGE_SHIFT);
	size_t loaded = __atomic_load_n(&vm_page_array_n, __ATOMIC_ACQUIRE);

	if (KVA_UNLIKELY(frame >= loaded))
		panic("PHYS_TO_VM_PAGE(%#jx): beyond the %zu frames loaded",
		    (uintmax_t)pa, loaded);
	return &vm_page_array[frame];
}

/* ------------------------------------------------------------------ */
/* Object page lookup. */

static inline size_t
uvm_pagehash_bucket(const struct uvm_object *obj, voff_t off)
{
	uint64_t base = (uint64_t)(uintptr_t)obj * 0x9e3779b97f4a7c15ull;

	return (size_t)((base >> 32) + ((uint64_t)off >> PAGE_SHIFT)) &
	    uvm_pagehash_mask;
}

static inline kmutex_t *
uvm_pagehash_lock(size_t bucket)
{
	return &uvm_pagehash_locks[bucket % UVM_PAGEHASH_NLOCKS].lock;
}

/*
 * uvm_pageinsert: table pg in obj at offset off.
 * => object locked; pg not tabled.
 */
void
uvm_pageinsert(struct vm_page *pg, struct uvm_object *obj, voff_t off)
{
	size_t b = uvm_pagehash_bucket(obj, off);

	if (KVA_UNLIKELY(pg->flags & PG_TABLED))
		panic("uvm_pageinsert(%p, %p, %#jx): page already tabled in "
		    "%p at %#jx", pg, obj, (uintmax_t)off, pg->uobject,
		    (uintmax_t)pg->offset);
	if (kva_debug >= 2 && uvm_pagelookup(obj, off) != NULL)
		panic("uvm_pageinsert(%p, %p, %#jx): offset already has "
		    "page %p", pg, obj, (uintmax_t)off, uvm_pagelookup(obj, off));
	pg->uobject = obj;
	pg->offset = off;
	mutex_enter(uvm_pagehash_lock(b));
	pg->hnext = uvm_pagehash[b];
	uvm_pagehash[b] = pg;
	mutex_exit(uvm_pagehash_lock(b));
	TAILQ_INSERT_TAIL(&obj->memq, pg, listq);
	obj->uo_npages++;
	pg->flags |= PG_TABLED;
}

/*
 * uvm_pageremove: untable pg from its object.
 * => object locked; pg tabled.
 */
void
uvm_pageremove(struct vm_page *pg)
{
	struct uvm_object *obj = pg->uobject;
	size_t b;
	struct vm_page **pp;

	if (KVA_UNLIKELY((pg->flags & PG_TABLED) == 0 || obj == NULL))
		panic("uvm_pageremove(%p): page not tabled (pa %#jx, obj %p)",
		    pg, (uintmax_t)pg->phys_addr, obj);
	b = uvm_pagehash_bucket(obj, pg->offset);
	mutex_enter(uvm_pagehash_lock(b));
	for (pp = &uvm_pagehash[b]; *pp != NULL && *pp != pg;
	    pp = &(*pp)->hnext)
		continue;
	if (KVA_UNLIKELY(*pp == NULL))
		panic("uvm_pageremove(%p): not in the hash (obj %p, off %#jx)",
		    pg, obj, (uintmax_t)pg->offset);
	*pp = pg->hnext;
	mutex_exit(uvm_pagehash_lock(b));
	pg->hnext = NULL;
	TAILQ_REMOVE(&obj->memq, pg, listq);
	obj->uo_npages--;
	pg->flags &= (uint16_t)~PG_TABLED;
	pg->uobject = NULL;
	pg->offset = 0;
}

/*
 * uvm_pagelookup: the page of obj at offset off, or NULL.
 * => object locked (it keeps the page tabled while the caller looks).
 */
struct vm_page *
uvm_pagelookup(struct uvm_object *obj, voff_t off)
{
	size_t b = uvm_pagehash_bucket(obj, off);
	struct vm_page *pg;

	mutex_enter(uvm_pagehash_lock(b));
	for (pg = uvm_pagehash[b]; pg != NULL; pg = pg->hnext)
		if (pg->uobject == obj && pg->offset == off)
			break;
	mutex_exit(uvm_pagehash_lock(b));
	return pg;
}

/* ------------------------------------------------------------------ */
/* Allocation and freeing. */

/*
 * uvm_pagealloc: allocate one page and, if obj is given, table it there.
 * => if obj != NULL, obj is locked; anon is not used yet (no amaps).
 * => flags: UVM_PGA_USERESERVE may dip into the reserve; UVM_PGA_ZERO
 *    asks for a zero-filled page.
 * => the page comes back PG_BUSY|PG_FAKE|PG_CLEAN, off every queue, not
 *    wired, owned by the caller.  Never sleeps.
 * => NULL when no page is free (the caller may uvm_wait and retry).
 */
struct vm_page *
uvm_pagealloc(struct uvm_object *obj, voff_t off, struct vm_anon *anon,
    int flags)
{
	struct vm_page *pg;
	bool zero;

	if (KVA_UNLIKELY(obj != NULL && anon != NULL))
		panic("uvm_pagealloc(%p, %#jx, %p, %#x): object and anon",
		    obj, (uintmax_t)off, anon, flags);
	if (KVA_UNLIKELY(vm_page_array == NULL))
		return NULL;
	mutex_enter(&uvm_fpageqlock);
	pg = uvm_page_take(0, 1, flags);
	if (pg != NULL)
		uvm_buddy_claim(pg, 1);
	mutex_exit(&uvm_fpageqlock);
	if (pg == NULL)
		return NULL;

	zero = (pg->flags & PG_ZERO) != 0;
	pg->flags = PG_BUSY | PG_FAKE | PG_CLEAN;
	pg->owner_tag = "uvm_pagealloc";
	if (flags & UVM_PGA_ZERO) {
		if (zero) {
			uvm_count(&uvmexp.pga_zerohit);
		} else {
			uvm_count(&uvmexp.pga_zeromiss);
			pmap_zero_page(VM_PAGE_TO_PHYS(pg));
		}
	}
	if (obj != NULL)
		uvm_pageinsert(pg, obj, off);
	return pg;
}

/*
 * uvm_pglistalloc_contig: allocate npages physically contiguous pages,
 * not owned by any object (kva_impl.h has the contract).
 * => UVM_PGA_ZERO zeroes the pages not known to be zero and leaves
 *    PG_ZERO on all of them.
 */
struct vm_page *
uvm_pglistalloc_contig(size_t npages, int flags)
{
	struct vm_page *pg;
	unsigned order = 0;

	if (npages == 0 || npages > ((size_t)1 << UVM_BUDDY_MAXORDER) ||
	    vm_page_array == NULL)
		return NULL;
	while (((size_t)1 << order) < npages)
		order++;
	mutex_enter(&uvm_fpageqlock);
	pg = uvm_page_take(order, npages, flags);
	if (pg != NULL) {
		uvm_buddy_claim(pg, npages);
		uvm_buddy_free_range(pg_frame(pg) + npages,
		    ((size_t)1 << order) - npages, true);
	}
	mutex_exit(&uvm_fpageqlock);
	if (pg == NULL)
		return NULL;

	for (size_t i = 0; i < npages; i++) {
		uint16_t zero = pg[i].flags & PG_ZERO;

		if ((flags & UVM_PGA_ZERO) && !zero) {
			pmap_zero_page(VM_PAGE_TO_PHYS(&pg[i]));
			uvm_count(&uvmexp.pga_zeromiss);
			zero = PG_ZERO;
		} else if (flags & UVM_PGA_ZERO) {
			uvm_count(&uvmexp.pga_zerohit);
		}
		pg[i].flags = PG_BUSY | PG_CLEAN | zero;
		pg[i].owner_tag = "uvm_pglistalloc_contig";
	}
	return pg;
}

/*
 * uvm_pagefree_twice: panic on a page that is free already.  Called
 * before the free and again under (F), where racing frees meet.
 */
static inline void
uvm_pagefree_twice(const char *fn, struct vm_page *pg)
{
	if (KVA_UNLIKELY(pg->pqflags & PQ_FREE))
		panic("%s(%p): page already free (pa %#jx)", fn, pg,
		    (uintmax_t)pg->phys_addr);
}

/*
 * uvm_pagefree_check: the checks every free makes of a page in use.
 */
static inline void
uvm_pagefree_check(const char *fn, struct vm_page *pg)
{
	uvm_pagefree_twice(fn, pg);
	if (kva_debug >= 2 && pmap_page_is_mapped(pg))
		panic("%s(%p): page still mapped at va %#jx (pa %#jx)", fn, pg,
		    (uintmax_t)pg->pv.va, (uintmax_t)pg->phys_addr);
}

/*
 * uvm_pageunqueue: take pg off the paging queues and unwire it.
 * => page queue lock not held; taken here.
 */
static void
uvm_pageunqueue(struct vm_page *pg)
{
	uvm_lock_pageq();
	uvm_pagedequeue(pg);
	if (pg->wire_count != 0) {
		uvmexp.wired--;
		pg->wire_count = 0;
	}
	uvm_unlock_pageq();
}

/*
 * uvm_pagefree: free a page.
 * => if pg is tabled its object is locked; it is untabled here.
 * => the page queues and the free lock are not held: if pg is on a
 *    paging queue or wired, the page queue lock is taken here (as in
 *    later NetBSD; the seed's callers held it).  Only the page's owner
 *    queues or wires a page, so the test without the lock is stable.
 * => sleepers on the page (PG_WANTED) and in uvm_wait are woken.
 */
void
uvm_pagefree(struct vm_page *pg)
{
	bool wake;

	uvm_pagefree_check("uvm_pagefree", pg);
	if (pg->flags & PG_TABLED)
		uvm_pageremove(pg);
	if ((pg->pqflags & (PQ_ACTIVE | PQ_INACTIVE)) || pg->wire_count)
		uvm_pageunqueue(pg);
	if (pg->flags & PG_WANTED)
		wakeup(pg);
	pg->flags = 0;			/* PG_ZERO too: contents unknown */
	pg->owner_tag = NULL;

	mutex_enter(&uvm_fpageqlock);
	uvm_pagefree_twice("uvm_pagefree", pg);
	pg->pqflags = PQ_FREE;
	pg->buddy_order = UVM_BUDDY_NONE;
	uvm_buddy_free(pg_frame(pg), 0, true);
	uvmexp.free++;
	wake = uvm_free_wake_locked();
	mutex_exit(&uvm_fpageqlock);
	if (wake)
		wakeup(&uvmexp.free);
}

/*
 * uvm_pagefree_contig: free npages pages starting at pg.
 * => none is tabled, queued or wired; the free lock is not held.
 */
void
uvm_pagefree_contig(struct vm_page *pg, size_t npages)
{
	bool wake;

	for (size_t i = 0; i < npages; i++) {
		struct vm_page *p = &pg[i];

		uvm_pagefree_check("uvm_pagefree_contig", p);
		if (KVA_UNLIKELY((p->flags & PG_TABLED) || p->wire_count ||
		    (p->pqflags & (PQ_ACTIVE | PQ_INACTIVE))))
			panic("uvm_pagefree_contig(%p, %zu): page %p (pa %#jx) "
			    "tabled, queued or wired (flags %#x, pqflags %#x)",
			    pg, npages, p, (uintmax_t)p->phys_addr, p->flags,
			    p->pqflags);
		if (p->flags & PG_WANTED)
			wakeup(p);
		p->flags = 0;
		p->owner_tag = NULL;
	}
	mutex_enter(&uvm_fpageqlock);
	for (size_t i = 0; i < npages; i++) {
		uvm_pagefree_twice("uvm_pagefree_contig", &pg[i]);
		pg[i].pqflags = PQ_FREE;
		pg[i].buddy_order = UVM_BUDDY_NONE;
	}
	uvm_buddy_free_range(pg_frame(pg), npages, true);
	uvmexp.free += (int)npages;
	wake = uvm_free_wake_locked();
	mutex_exit(&uvm_fpageqlock);
	if (wake)
		wakeup(&uvmexp.free);
}

/*
 * uvm_pagezero: zero-fill pg through the direct map, unless it is known
 * to be zero.  Clears PG_ZERO: the caller zeroes a page to write to it.
 * => object locked (or the page is the caller's alone).
 */
void
uvm_pagezero(struct vm_page *pg)
{
	if ((pg->flags & PG_ZERO) == 0)
		pmap_zero_page(VM_PAGE_TO_PHYS(pg));
	pg->flags &= (uint16_t)~(PG_ZERO | PG_CLEAN);
}

/* ------------------------------------------------------------------ */
/* Busy pages and sleepers. */

/*
 * uvm_pagewakeup: wake the threads that sleep on pg.
 * => object locked.
 */
void
uvm_pagewakeup(struct vm_page *pg)
{
	if (pg->flags & PG_WANTED) {
		pg->flags &= (uint16_t)~PG_WANTED;
		wakeup(pg);
	}
}

/*
 * uvm_page_unbusy: unbusy npgs pages, skipping NULL and PGO_DONTCARE.
 * Sleepers are woken; pages marked PG_RELEASED are handed to their
 * pager's pgo_releasepg, or freed.
 * => the pages' object is locked; the page queues are not.
 */
void
uvm_page_unbusy(struct vm_page **pgs, int npgs)
{
	for (int i = 0; i < npgs; i++) {
		struct vm_page *pg = pgs[i];
		struct uvm_object *obj;

		if (pg == NULL || pg == PGO_DONTCARE)
			continue;
		if (KVA_UNLIKELY((pg->flags & PG_BUSY) == 0))
			panic("uvm_page_unbusy(%p, %d): page %p (pa %#jx) not "
			    "busy", pgs, npgs, pg, (uintmax_t)pg->phys_addr);
		uvm_pagewakeup(pg);
		if ((pg->flags & PG_RELEASED) == 0) {
			pg->flags &= (uint16_t)~PG_BUSY;
			pg->owner_tag = NULL;
			continue;
		}
		obj = pg->uobject;
		if (obj != NULL && obj->pgops != NULL &&
		    obj->pgops->pgo_releasepg != NULL)
			obj->pgops->pgo_releasepg(pg);
		else
			uvm_pagefree(pg);
	}
}

/*
 * uvm_wait: sleep until a page can be allocated without the reserve.
 * => no locks held.  Returns at once if one can be now; the caller
 *    retries its allocation (and may lose the page to another thread).
 */
void
uvm_wait(const char *wmsg)
{
	mutex_enter(&uvm_fpageqlock);
	while (uvmexp.free <= uvmexp.reserve_pagedaemon) {
		uvm_free_waiters++;
		(void)ltsleep(&uvmexp.free, PVM, wmsg, 0, &uvm_fpageqlock);
	}
	mutex_exit(&uvm_fpageqlock);
}

/*
 * uvm_page_free_ok: n pages could be allocated now without the reserve.
 * => a hint: no lock is taken.
 */
int
uvm_page_free_ok(size_t n)
{
	int free = __atomic_load_n(&uvmexp.free, __ATOMIC_RELAXED);

	return free >= 0 &&
	    (size_t)free >= n + (size_t)uvmexp.reserve_pagedaemon;
}

/* ------------------------------------------------------------------ */
/* Paging queues and wiring.  Page queue lock held throughout. */

/* uvm_pagedequeue: take pg off the active or inactive queue. */
void
uvm_pagedequeue(struct vm_page *pg)
{
	if (pg->pqflags & PQ_ACTIVE) {
		TAILQ_REMOVE(&uvm_page_active, pg, pageq);
		uvmexp.active--;
	} else if (pg->pqflags & PQ_INACTIVE) {
		TAILQ_REMOVE(&uvm_page_inactive, pg, pageq);
		uvmexp.inactive--;
	}
	pg->pqflags &= (uint16_t)~(PQ_ACTIVE | PQ_INACTIVE);
}

/* uvm_pageactivate: put pg at the tail of the active queue (not wired). */
void
uvm_pageactivate(struct vm_page *pg)
{
	uvm_pagedequeue(pg);
	if (pg->wire_count == 0) {
		TAILQ_INSERT_TAIL(&uvm_page_active, pg, pageq);
		pg->pqflags |= PQ_ACTIVE;
		uvmexp.active++;
	}
}

/* uvm_pagedeactivate: move pg to the tail of the inactive queue. */
void
uvm_pagedeactivate(struct vm_page *pg)
{
	if ((pg->pqflags & PQ_INACTIVE) || pg->wire_count != 0)
		return;
	uvm_pagedequeue(pg);
	TAILQ_INSERT_TAIL(&uvm_page_inactive, pg, pageq);
	pg->pqflags |= PQ_INACTIVE;
	uvmexp.inactive++;
}

/* uvm_pagewire: wire pg; a wired page is on no paging queue. */
void
uvm_pagewire(struct vm_page *pg)
{
	if (pg->wire_count == 0) {
		uvm_pagedequeue(pg);
		uvmexp.wired++;
	}
	if (KVA_UNLIKELY(pg->wire_count == UINT16_MAX))
		panic("uvm_pagewire(%p): wire_count overflow (pa %#jx)", pg,
		    (uintmax_t)pg->phys_addr);
	pg->wire_count++;
}

/* uvm_pageunwire: unwire pg; the last unwire puts it on the active queue. */
void
uvm_pageunwire(struct vm_page *pg)
{
	if (KVA_UNLIKELY(pg->wire_count == 0))
		panic("uvm_pageunwire(%p): page not wired (pa %#jx)", pg,
		    (uintmax_t)pg->phys_addr);
	if (--pg->wire_count == 0) {
		uvmexp.wired--;
		uvm_pageactivate(pg);
	}
}

/* ------------------------------------------------------------------ */
/* Invariants. */

/*
 * uvm_page_check: check the free lists against the page array and the
 * counters (debug level 3, and the tests).
 * => no locks held.  0 when sound; else -1 and the first fault in why.
 */
int
uvm_page_check(char *why, size_t whylen)
{
	size_t nfree = 0, nzero = 0, nmarked = 0;
	int error = 0;

#define UVM_PAGE_FAIL(...) do {						\
	snprintf(why, whylen, __VA_ARGS__);				\
	error = -1;							\
	goto out;							\
} while (0)

	mutex_enter(&uvm_fpageqlock);
	for (unsigned k = 0; k < UVM_BUDDY_NORDERS; k++) {
		struct vm_page *pg;

		if (TAILQ_EMPTY(&uvm_freeq[k]) != !(uvm_freeq_mask & (1u << k)))
			UVM_PAGE_FAIL("order %u: mask bit wrong", k);
		TAILQ_FOREACH(pg, &uvm_freeq[k], pageq) {
			size_t f = pg_frame(pg), n = (size_t)1 << k;

			if (pg->buddy_order != k || (f & (n - 1)) != 0 ||
			    f + n > vm_page_array_n)
				UVM_PAGE_FAIL("order %u: bad block at frame %zu "
				    "(order %u)", k, f, pg->buddy_order);
			for (size_t i = 0; i < n; i++) {
				if ((pg[i].pqflags & PQ_FREE) == 0 ||
				    (i > 0 && pg[i].buddy_order != UVM_BUDDY_NONE))
					UVM_PAGE_FAIL("order %u: frame %zu in "
					    "block %zu badly marked", k, f + i, f);
				nzero += (pg[i].flags & PG_ZERO) != 0;
			}
			nfree += n;
		}
	}
	for (size_t i = 0; i < vm_page_array_n; i++)
		nmarked += (vm_page_array[i].pqflags & PQ_FREE) != 0;
	if (nmarked != nfree)
		UVM_PAGE_FAIL("%zu pages marked free, %zu on the lists",
		    nmarked, nfree);
	if (nfree + (vm_page_array_max - vm_page_array_n) !=
	    (size_t)uvmexp.free)
		UVM_PAGE_FAIL("uvmexp.free %d, counted %zu + %zu not loaded",
		    uvmexp.free, nfree, vm_page_array_max - vm_page_array_n);
	if (nzero != (size_t)uvmexp.zeropages)
		UVM_PAGE_FAIL("uvmexp.zeropages %d, counted %zu",
		    uvmexp.zeropages, nzero);
out:
	mutex_exit(&uvm_fpageqlock);
	return error;
#undef UVM_PAGE_FAIL
}

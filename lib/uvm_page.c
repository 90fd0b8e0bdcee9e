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
 *    with PG_ZERO (and PG_DECOMMIT, section 9); uvmexp.zeropages counts
 *    free pages with PG_ZERO.
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
 *    lock: no system call unless physical memory must grow.  Freeing a
 *    page adds one load from a small table (section 8).
 *
 * 8. Reservations.  Pageable memory is filled one fault at a time, in any
 *    order, and the host merges two mappings only when VA and frame are
 *    both contiguous (pmap.c, section 4): pages given arbitrary frames
 *    would need one host mapping each.  So, as FreeBSD's vm_reserv does
 *    for superpages, uvm_pagealloc(obj, off, UVM_PGA_RESERV) takes its
 *    page from the reservation of the chunk (obj, off / UVM_RESV_SIZE):
 *    an aligned run of UVM_RESV_PAGES frames (2 MiB; a buddy block of
 *    order uvm_resv_order) that the chunk's first allocation takes off the
 *    free lists.  Every later allocation in the chunk takes the frame at
 *    run + (off mod UVM_RESV_SIZE) / PAGE_SIZE, so whatever the order in
 *    which a chunk is filled, its pages end where their offsets say and
 *    merge into one host mapping.
 *
 *    A reservation is described by uvm_resv[run], one slot per aligned
 *    run of physical memory: a page's reservation is the slot of its
 *    frame >> uvm_resv_order, found in O(1) with no field in vm_page.  A
 *    hash on (obj, chunk), chained through the slots, finds the
 *    reservation for an allocation.  The free frames of a reservation
 *    keep PQ_FREE (a double free is still caught) and UVM_BUDDY_NONE (so
 *    no neighbour merges with them), are on no free list, and count in
 *    uvmexp.free and uvmexp.zeropages: reserving changes no counter, only
 *    allocating does.  A page freed into a live reservation stays there;
 *    when its last used page is freed the run goes back to the free lists
 *    as one block and merges with its buddies.
 *
 *    Reserved frames go to nobody else while the free lists have frames
 *    or physical memory can grow.  When both fail, uvm_page_take breaks
 *    the partly used reservation that was allocated into or freed from
 *    least recently (the head of uvm_resv_partq) and frees its free
 *    frames to the lists, so an allocation fails only when no frame is
 *    free.  Fully used reservations are off that queue: breaking them
 *    would free nothing.  If the frame at the page's place is in use (the
 *    page at that offset was untabled but not freed), or no run can be
 *    reserved, UVM_PGA_RESERV takes an ordinary page instead.  A broken
 *    reservation's pages in use become ordinary pages.
 *
 * 9. Classes.  Each order has three free lists, one per class: dirty
 *    (contents unknown), zero (every page PG_ZERO, populated in the
 *    memfd) and decommitted (every page PG_DECOMMIT: punched, reads zero,
 *    holds no memory; fresh frames start so).  The per-page flags are
 *    exact; a block's class (PQ_FCLASS in its head's pqflags) is the
 *    worst that is true of all its pages, so a merge takes the worse of
 *    the two (dirty < zero < decommitted) and a split passes it on.  A
 *    block's head also carries in its offset the coarse tick (ms, moved
 *    by the background zeroer) at which it was freed; a merge keeps the
 *    later one.  uvmexp.zeropages counts free pages with PG_ZERO, and
 *    uvm_fq_prezeroed those that are also populated.
 *
 *    Allocations try the classes in an order of preference: a zeroed one
 *    (UVM_PGA_ZERO, or UVM_PGA_ZEROPREF for uvm_km_zalloc, which zeroes
 *    through its own VA) zero, decommitted, then dirty (zeroed by the
 *    caller then: pga_zeromiss); any other dirty first (recently freed
 *    and populated: a free-then-alloc loop takes no host fault), then
 *    zero, then decommitted.  Reservations are taken zero-first.
 *
 *    The background zeroer (uvm_pdzero.c) takes blocks off the lists
 *    (uvm_pdz_take: dirty ones to zero, idle ones to punch).  They stay
 *    free, PQ_FREE and counted in uvmexp.free, but are "in transit": on
 *    no list and merged with nothing (their heads carry UVM_BUDDY_NONE),
 *    until uvm_pdz_put gives them back with their new flags.  An
 *    allocation that finds the lists empty while pages are in transit
 *    sleeps (at most hz/10 at a time) until a batch comes back, rather
 *    than failing.  As a block's class is only an upper bound, a take
 *    splits a large block towards the pages that need the work
 *    (uvm_pdz_split), recomputing the halves' classes from their pages.
 *
 * Locks, in the order they are taken (kva_impl.h ranks them): object
 * lock (2), page queue lock (3), free page lock (4).  The hash stripe
 * locks are leaves, taken with at most the object lock held.
 * uvm_pagefree takes the page queue lock itself, for queued or wired
 * pages only.
 *
 *   (F) uvm_fpageqlock: uvm_freeq, the PQ_FREE bit and buddy_order of
 *       every page, vm_page_array_n, uvmexp.free, uvmexp.zeropages,
 *       the classes and ticks of free blocks, the pages in transit,
 *       uvm_free_waiters, the flags of free pages, and the reservations
 *       (uvm_resv, its hash and uvm_resv_partq): they are free page state.
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
static int uvm_free_waiters;		/* (F) threads in uvm_wait */
static int uvm_exhausted;		/* (F) the page daemon gave up */

/*
 * Free-list classes (section 9).  A free block's class is kept in its
 * head's pqflags (PQ_FCLASS), its free tick in the head's offset.
 */
#define UVM_FQ_DIRTY	0	/* contents unknown */
#define UVM_FQ_ZERO	1	/* every page PG_ZERO */
#define UVM_FQ_DECOMMIT	2	/* every page PG_DECOMMIT (and PG_ZERO) */
#define UVM_FQ_NCLASS	3
#define PQ_FCLASS_SHIFT	8
#define PQ_FCLASS	(0x3 << PQ_FCLASS_SHIFT)	/* free head's class */

static struct pglist uvm_freeq[UVM_FQ_NCLASS][UVM_BUDDY_NORDERS]; /* (F) */
static uint32_t uvm_freeq_mask[UVM_FQ_NCLASS];	/* (F) bit k: list k non-empty */
static size_t uvm_freeq_npages[UVM_FQ_NCLASS];	/* (F) pages on each class */
static size_t uvm_fq_prezeroed;		/* (F) free pages PG_ZERO, not
					 * PG_DECOMMIT: zero and populated */
static size_t uvm_fq_transit;		/* (F) free pages taken off the lists
					 * by the background zeroer */
static int uvm_fq_transit_waiters;	/* (F) allocations waiting for them */
static uint64_t uvm_fq_now;		/* the coarse clock, ms (relaxed) */

/* allocation preferences: the classes in the order they are tried */
#define UVM_FQ_PREF_DIRTY 0
#define UVM_FQ_PREF_ZERO  1
static const uint8_t uvm_fq_pref[2][UVM_FQ_NCLASS] = {
	{ UVM_FQ_DIRTY, UVM_FQ_ZERO, UVM_FQ_DECOMMIT },
	{ UVM_FQ_ZERO, UVM_FQ_DECOMMIT, UVM_FQ_DIRTY },
};

static struct vm_page **uvm_pagehash;	/* (H) bucket heads */
static size_t uvm_pagehash_mask;	/* (C) buckets - 1 */
static struct uvm_pagehash_lock {
	kmutex_t lock;
} __attribute__((aligned(64))) uvm_pagehash_locks[UVM_PAGEHASH_NLOCKS];

/*
 * Reservations (section 8).  Slot r of uvm_resv describes physical run r,
 * frames [r << uvm_resv_order, (r + 1) << uvm_resv_order); it is live
 * while obj is set.  Hash chains and the bucket heads hold slot + 1, so
 * that 0 ends a chain.  uvm_resv is NULL when reservations are off (no
 * room in the bootstrap region, or pages of 2 MiB or more).
 */
#define UVM_RESV_SHIFT	21		/* log2(UVM_RESV_SIZE) */
_Static_assert(((vsize_t)1 << UVM_RESV_SHIFT) == UVM_RESV_SIZE,
    "UVM_RESV_SHIFT does not match UVM_RESV_SIZE");

struct uvm_resv {
	struct uvm_object *obj;		/* (F) owner; NULL when not live */
	uint64_t chunk;			/* (F) offset / UVM_RESV_SIZE in obj */
	uint32_t hnext;			/* (F) next slot + 1 in the chain */
	uint32_t npopulated;		/* (F) frames of the run in use */
	TAILQ_ENTRY(uvm_resv) partq;	/* (F) on uvm_resv_partq when partly
					 * used (0 < npopulated < pages) */
};

static struct uvm_resv *uvm_resv;	/* (C) a slot per physical run */
static size_t uvm_resv_nruns;		/* (C) slots */
static unsigned uvm_resv_order;		/* (C) log2(UVM_RESV_PAGES) */
static uint32_t *uvm_resv_hash;		/* (F) bucket heads, slot + 1 */
static size_t uvm_resv_hmask;		/* (C) buckets - 1 */
static TAILQ_HEAD(, uvm_resv) uvm_resv_partq;	/* (F) partly used, least
						 * recently touched first */
static size_t uvm_resv_live;		/* (F) live reservations */

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

/* uvm_fq_tick: the coarse clock, for stamping freed blocks */
static inline uint64_t
uvm_fq_tick(void)
{
	return __atomic_load_n(&uvm_fq_now, __ATOMIC_RELAXED);
}

/* uvm_fq_class: the class of the free block headed by pg */
static inline unsigned
uvm_fq_class(const struct vm_page *pg)
{
	return (pg->pqflags & PQ_FCLASS) >> PQ_FCLASS_SHIFT;
}

/*
 * uvm_freeq_insert: put the free block of 2^order frames at pg on the
 * list of its order and class cls, stamped with tick.
 */
static inline void
uvm_freeq_insert(struct vm_page *pg, unsigned order, unsigned cls,
    uint64_t tick, bool head)
{
	pg->buddy_order = (uint8_t)order;
	pg->pqflags = (uint16_t)((pg->pqflags & ~PQ_FCLASS) |
	    (cls << PQ_FCLASS_SHIFT));
	pg->offset = (voff_t)tick;
	if (head)
		TAILQ_INSERT_HEAD(&uvm_freeq[cls][order], pg, pageq);
	else
		TAILQ_INSERT_TAIL(&uvm_freeq[cls][order], pg, pageq);
	uvm_freeq_mask[cls] |= 1u << order;
	uvm_freeq_npages[cls] += (size_t)1 << order;
}

/* uvm_freeq_remove: take the free block at pg off its list. */
static inline void
uvm_freeq_remove(struct vm_page *pg)
{
	unsigned order = pg->buddy_order, cls = uvm_fq_class(pg);

	TAILQ_REMOVE(&uvm_freeq[cls][order], pg, pageq);
	if (TAILQ_EMPTY(&uvm_freeq[cls][order]))
		uvm_freeq_mask[cls] &= ~(1u << order);
	uvm_freeq_npages[cls] -= (size_t)1 << order;
	pg->buddy_order = UVM_BUDDY_NONE;
	pg->pqflags &= (uint16_t)~PQ_FCLASS;
	pg->offset = 0;
}

/*
 * uvm_fq_range_class: the class that frames [frame, frame + n) earn
 * from their own flags: dirty if any is not known zero, decommitted if
 * all are punched, else zero.
 */
static unsigned
uvm_fq_range_class(size_t frame, size_t n)
{
	unsigned cls = UVM_FQ_DECOMMIT;

	for (size_t i = 0; i < n; i++) {
		uint16_t f = vm_page_array[frame + i].flags;

		if ((f & PG_ZERO) == 0)
			return UVM_FQ_DIRTY;
		if ((f & PG_DECOMMIT) == 0)
			cls = UVM_FQ_ZERO;
	}
	return cls;
}

/*
 * uvm_buddy_free: give the block of 2^order frames at frame back,
 * merging it with its buddies.  Its pages already carry PQ_FREE and
 * UVM_BUDDY_NONE; cls is a class true of all of them.  A merged block
 * takes the worse class of the two (dirty < zero < decommitted: the
 * one still true of every page) and the later tick.
 */
static void
uvm_buddy_free(size_t frame, unsigned order, unsigned cls, uint64_t tick,
    bool head)
{
	while (order < UVM_BUDDY_MAXORDER) {
		size_t buddy = frame ^ ((size_t)1 << order);
		struct vm_page *bpg;
		unsigned bcls;
		uint64_t btick;

		if (buddy >= vm_page_array_n)
			break;
		bpg = &vm_page_array[buddy];
		if ((bpg->pqflags & PQ_FREE) == 0 || bpg->buddy_order != order)
			break;
		bcls = uvm_fq_class(bpg);
		btick = (uint64_t)bpg->offset;
		uvm_freeq_remove(bpg);
		if (bcls < cls)
			cls = bcls;
		if (btick > tick)
			tick = btick;
		frame &= ~((size_t)1 << order);
		order++;
	}
	uvm_freeq_insert(&vm_page_array[frame], order, cls, tick, head);
}

/*
 * uvm_buddy_free_range: give back frames [frame, frame + n), as the
 * largest aligned blocks that tile it, merging each with its buddies.
 */
static void
uvm_buddy_free_range(size_t frame, size_t n, unsigned cls, uint64_t tick,
    bool head)
{
	while (n > 0) {
		unsigned order = 0;

		while (order < UVM_BUDDY_MAXORDER &&
		    (frame & ((size_t)1 << order)) == 0 &&
		    ((size_t)2 << order) <= n)
			order++;
		uvm_buddy_free(frame, order, cls, tick, head);
		frame += (size_t)1 << order;
		n -= (size_t)1 << order;
	}
}

/*
 * uvm_buddy_split: pg heads a block of order k just taken off the lists;
 * keep its first 2^order frames and give the upper halves back with the
 * block's class and tick.
 */
static void
uvm_buddy_split(struct vm_page *pg, unsigned k, unsigned order,
    unsigned cls, uint64_t tick, bool head)
{
	while (k > order) {
		k--;
		uvm_freeq_insert(pg + ((size_t)1 << k), k, cls, tick, head);
	}
}

/*
 * uvm_buddy_take: take a block of 2^order frames off the free lists.
 * The classes are tried in the order of preference pref; in a class,
 * the first block of the lowest order that has one is split; the upper
 * halves go to the head of their lists, so the frames after the block
 * are the next to be handed out.
 * => returns the first page, still marked PQ_FREE, or NULL; *clsp and
 *    *tickp (if not NULL) say what the block was.
 */
static struct vm_page *
uvm_buddy_take(unsigned order, int pref, unsigned *clsp, uint64_t *tickp)
{
	for (int i = 0; i < UVM_FQ_NCLASS; i++) {
		unsigned cls = uvm_fq_pref[pref][i], k;
		uint32_t avail = uvm_freeq_mask[cls] >> order;
		struct vm_page *pg;
		uint64_t tick;

		if (avail == 0)
			continue;
		k = order + (unsigned)__builtin_ctz(avail);
		pg = TAILQ_FIRST(&uvm_freeq[cls][k]);
		tick = (uint64_t)pg->offset;
		uvm_freeq_remove(pg);
		uvm_buddy_split(pg, k, order, cls, tick, true);
		if (clsp != NULL)
			*clsp = cls;
		if (tickp != NULL)
			*tickp = tick;
		return pg;
	}
	return NULL;
}

/*
 * uvm_buddy_extract: take the aligned block of 2^order frames at frame
 * off the free lists, if it is free: the free block that holds it is
 * split around it, the other parts going back with its class and tick.
 * => its first page, still marked PQ_FREE, or NULL.
 */
static struct vm_page *
uvm_buddy_extract(size_t frame, unsigned order)
{
	unsigned o;

	for (o = order; o <= UVM_BUDDY_MAXORDER; o++) {
		size_t head = frame & ~(((size_t)1 << o) - 1);
		struct vm_page *hp;
		unsigned cls;
		uint64_t tick;

		if (head + ((size_t)1 << o) > vm_page_array_n)
			return NULL;
		hp = &vm_page_array[head];
		if ((hp->pqflags & PQ_FREE) == 0)
			return NULL;
		if (hp->buddy_order != o)
			continue;
		cls = uvm_fq_class(hp);
		tick = (uint64_t)hp->offset;
		uvm_freeq_remove(hp);
		while (o > order) {
			size_t half;

			o--;
			half = head + ((size_t)1 << o);
			if (frame >= half) {
				uvm_freeq_insert(&vm_page_array[head], o, cls,
				    tick, true);
				head = half;
			} else {
				uvm_freeq_insert(&vm_page_array[half], o, cls,
				    tick, true);
			}
		}
		return &vm_page_array[head];
	}
	return NULL;
}

/*
 * uvm_buddy_claim: mark the n pages at pg allocated; count the zero ones.
 */
static void
uvm_buddy_claim(struct vm_page *pg, size_t n)
{
	int zero = 0;
	size_t prezeroed = 0;

	for (size_t i = 0; i < n; i++) {
		uint16_t f = pg[i].flags;

		pg[i].pqflags &= (uint16_t)~PQ_FREE;
		zero += (f & PG_ZERO) != 0;
		prezeroed += (f & (PG_ZERO | PG_DECOMMIT)) == PG_ZERO;
		pg[i].flags = (uint16_t)(f & ~PG_DECOMMIT);
	}
	uvmexp.free -= (int)n;
	uvmexp.zeropages -= zero;
	uvm_fq_prezeroed -= prezeroed;
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
		/* fresh memfd pages are holes: they read zero */
		pg->flags = PG_ZERO | PG_DECOMMIT;
		pg->pqflags = PQ_FREE;
		pg->buddy_order = UVM_BUDDY_NONE;
	}
	__atomic_store_n(&vm_page_array_n, first + n, __ATOMIC_RELEASE);
	uvmexp.zeropages += (int)n;
	uvm_buddy_free_range(first, n, UVM_FQ_DECOMMIT, 0, false);
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

/* ------------------------------------------------------------------ */
/* Reservations (section 8).  Everything in this section runs with (F)
 * held, and only while uvm_resv != NULL. */

static inline size_t
uvm_resv_pages(void)
{
	return (size_t)1 << uvm_resv_order;
}

/* uvm_resv_first: the first frame of r's run */
static inline size_t
uvm_resv_first(const struct uvm_resv *r)
{
	return (size_t)(r - uvm_resv) << uvm_resv_order;
}

/* uvm_resv_of: the live reservation whose run holds frame, or NULL */
static inline struct uvm_resv *
uvm_resv_of(size_t frame)
{
	struct uvm_resv *r;

	if (uvm_resv == NULL)
		return NULL;
	r = &uvm_resv[frame >> uvm_resv_order];
	return r->obj != NULL ? r : NULL;
}

/* uvm_resv_bucket: consecutive chunks of an object, consecutive buckets */
static inline size_t
uvm_resv_bucket(const struct uvm_object *obj, uint64_t chunk)
{
	uint64_t base = (uint64_t)(uintptr_t)obj * 0x9e3779b97f4a7c15ull;

	return (size_t)((base >> 32) + chunk) & uvm_resv_hmask;
}

/* uvm_resv_lookup: the live reservation of (obj, chunk), or NULL */
static struct uvm_resv *
uvm_resv_lookup(const struct uvm_object *obj, uint64_t chunk)
{
	uint32_t i = uvm_resv_hash[uvm_resv_bucket(obj, chunk)];

	while (i != 0) {
		struct uvm_resv *r = &uvm_resv[i - 1];

		if (r->obj == obj && r->chunk == chunk)
			return r;
		i = r->hnext;
	}
	return NULL;
}

static inline bool
uvm_resv_partial(uint32_t npopulated)
{
	return npopulated > 0 && npopulated < uvm_resv_pages();
}

/*
 * uvm_resv_setpop: set r's count of pages in use to n, and keep
 * uvm_resv_partq in order: a partly used reservation goes to its tail
 * whenever it is touched.
 */
static inline void
uvm_resv_setpop(struct uvm_resv *r, uint32_t n)
{
	if (uvm_resv_partial(r->npopulated))
		TAILQ_REMOVE(&uvm_resv_partq, r, partq);
	r->npopulated = n;
	if (uvm_resv_partial(n))
		TAILQ_INSERT_TAIL(&uvm_resv_partq, r, partq);
}

/*
 * uvm_resv_create: reserve a run for (obj, chunk), which has none.
 * The run is a free block of order uvm_resv_order; physical memory grows
 * for it if need be, but no other reservation is broken for it.
 * => the reservation, with no page in use; NULL if no run is free.
 */
static struct uvm_resv *
uvm_resv_create(struct uvm_object *obj, uint64_t chunk)
{
	struct vm_page *pg = NULL;
	struct uvm_resv *r;
	size_t b, warm[4];
	int i, nwarm;

	/* a run whose host mapping the pmap kept comes in with no host
	 * fault (pmap.c, section 10): worth more than a zeroed one */
	nwarm = pmap_warm_runs(warm, 4);
	for (i = 0; i < nwarm && pg == NULL; i++)
		if (warm[i] + uvm_resv_pages() <= vm_page_array_n)
			pg = uvm_buddy_extract(warm[i], uvm_resv_order);
	while (pg == NULL && (pg = uvm_buddy_take(uvm_resv_order,
	    UVM_FQ_PREF_ZERO, NULL, NULL)) == NULL) {
		if (!uvm_page_grow_locked())
			return NULL;
	}
	/* its frames stay PQ_FREE, and buddy_take left the head NONE */
	r = &uvm_resv[pg_frame(pg) >> uvm_resv_order];
	if (KVA_UNLIKELY(r->obj != NULL || r->npopulated != 0))
		panic("uvm_resv_create(%p, %#jx): run at frame %zu still "
		    "reserved for %p chunk %#jx (%u in use)", obj,
		    (uintmax_t)chunk, pg_frame(pg), r->obj,
		    (uintmax_t)r->chunk, r->npopulated);
	r->obj = obj;
	r->chunk = chunk;
	r->npopulated = 0;
	b = uvm_resv_bucket(obj, chunk);
	r->hnext = uvm_resv_hash[b];
	uvm_resv_hash[b] = (uint32_t)(r - uvm_resv) + 1;
	uvm_resv_live++;
	return r;
}

/*
 * uvm_resv_unlink: r is no longer live: off its hash chain and the
 * partly used queue.  Its frames are the caller's to dispose of.
 */
static void
uvm_resv_unlink(struct uvm_resv *r)
{
	uint32_t self = (uint32_t)(r - uvm_resv) + 1;
	uint32_t *ip = &uvm_resv_hash[uvm_resv_bucket(r->obj, r->chunk)];

	while (*ip != self) {
		if (KVA_UNLIKELY(*ip == 0))
			panic("uvm_resv_unlink(%p): slot %u (obj %p, chunk "
			    "%#jx) not on its hash chain", r, self - 1, r->obj,
			    (uintmax_t)r->chunk);
		ip = &uvm_resv[*ip - 1].hnext;
	}
	*ip = r->hnext;
	uvm_resv_setpop(r, 0);
	r->hnext = 0;
	r->obj = NULL;
	r->chunk = 0;
	uvm_resv_live--;
}

/*
 * uvm_resv_break: break r: its free frames go to the free lists, its
 * pages in use become ordinary pages.
 * => the number of frames freed.
 */
static size_t
uvm_resv_break(struct uvm_resv *r)
{
	size_t first = uvm_resv_first(r), n = uvm_resv_pages(), freed = 0;

	uvm_resv_unlink(r);
	for (size_t i = 0; i < n; ) {
		size_t j = i;

		while (j < n && (vm_page_array[first + j].pqflags & PQ_FREE))
			j++;
		if (j > i) {
			/* cold frames: to the tail of their lists */
			uvm_buddy_free_range(first + i, j - i,
			    uvm_fq_range_class(first + i, j - i), uvm_fq_tick(),
			    false);
			freed += j - i;
			i = j;
		} else {
			i++;
		}
	}
	return freed;
}

/*
 * uvm_resv_break_one: break the partly used reservation touched least
 * recently.  false if there is none (nothing could be freed).
 */
static bool
uvm_resv_break_one(void)
{
	struct uvm_resv *r;

	if (uvm_resv == NULL || (r = TAILQ_FIRST(&uvm_resv_partq)) == NULL)
		return false;
	(void)uvm_resv_break(r);
	return true;
}

/*
 * uvm_resv_depopulate: frame, a page of live reservation r, was freed
 * (it carries PQ_FREE and UVM_BUDDY_NONE).  The last page frees the run.
 */
static void
uvm_resv_depopulate(struct uvm_resv *r, size_t frame)
{
	if (KVA_UNLIKELY(r->npopulated == 0))
		panic("uvm_resv_depopulate(%p, %zu): reservation of %p chunk "
		    "%#jx has no page in use", r, frame, r->obj,
		    (uintmax_t)r->chunk);
	if (r->npopulated > 1) {
		uvm_resv_setpop(r, r->npopulated - 1);
		return;
	}
	uvm_resv_unlink(r);
	uvm_buddy_free(uvm_resv_first(r), uvm_resv_order,
	    uvm_fq_range_class(uvm_resv_first(r), uvm_resv_pages()),
	    uvm_fq_tick(), true);
}

/*
 * uvm_page_free_range: give back frames [frame, frame + n), marked
 * PQ_FREE and UVM_BUDDY_NONE: to their reservations, the others to the
 * free lists.
 */
static void
uvm_page_free_range(size_t frame, size_t n)
{
	if (uvm_resv == NULL) {
		uvm_buddy_free_range(frame, n, UVM_FQ_DIRTY, uvm_fq_tick(),
		    true);
		return;
	}
	while (n > 0) {
		size_t end = ((frame >> uvm_resv_order) + 1) << uvm_resv_order;
		size_t len = end - frame < n ? end - frame : n;
		struct uvm_resv *r = uvm_resv_of(frame);

		if (r == NULL) {
			uvm_buddy_free_range(frame, len, UVM_FQ_DIRTY,
			    uvm_fq_tick(), true);
		} else {
			for (size_t i = 0; i < len; i++)
				uvm_resv_depopulate(r, frame + i);
		}
		frame += len;
		n -= len;
	}
}

/* ------------------------------------------------------------------ */

/* uvm_page_reserve_ok: npages may be taken, given the page daemon's reserve */
static inline bool
uvm_page_reserve_ok(size_t npages, int flags)
{
	return (flags & UVM_PGA_USERESERVE) != 0 ||
	    (size_t)uvmexp.free >= npages + (size_t)uvmexp.reserve_pagedaemon;
}

/* uvm_page_pref: the class preference of an allocation (section 9) */
static inline int
uvm_page_pref(int flags)
{
	return (flags & (UVM_PGA_ZERO | UVM_PGA_ZEROPREF)) ?
	    UVM_FQ_PREF_ZERO : UVM_FQ_PREF_DIRTY;
}

/*
 * uvm_page_take: take 2^order frames off the free lists, growing
 * physical memory, then breaking reservations, if need be (with
 * UVM_PGA_NOGROW, not while the free frames loaded could make up the
 * npages in pieces: the caller takes smaller runs).  When only
 * the background zeroer's pages in transit are left, wait for them
 * (they come back within one batch).
 * => (F) held (dropped and retaken while waiting).  NULL if the
 *    reserve or physical memory forbids it.  *clsp: the block's class.
 */
static struct vm_page *
uvm_page_take(unsigned order, size_t npages, int flags, unsigned *clsp)
{
	struct vm_page *pg;

	for (;;) {
		if (!uvm_page_reserve_ok(npages, flags))
			return NULL;
		pg = uvm_buddy_take(order, uvm_page_pref(flags), clsp, NULL);
		if (pg != NULL)
			return pg;
		if ((flags & UVM_PGA_NOGROW) && (size_t)uvmexp.free >=
		    (vm_page_array_max - vm_page_array_n) + npages)
			return NULL;
		if (uvm_page_grow_locked() || uvm_resv_break_one())
			continue;
		if (uvm_fq_transit == 0)
			return NULL;
		uvm_fq_transit_waiters++;
		(void)ltsleep(&uvm_fq_transit, PVM, "pdztransit", hz / 10,
		    &uvm_fpageqlock);
	}
}

/*
 * uvm_resv_take: a page for (obj, off) from the chunk's reservation,
 * reserving a run if the chunk has none; else an ordinary page.
 * => (F) held.  The page is still marked free (uvm_buddy_claim it).
 */
static struct vm_page *
uvm_resv_take(struct uvm_object *obj, voff_t off, int flags)
{
	struct uvm_resv *r;
	uint64_t chunk;

	if (uvm_resv == NULL || off < 0 || !uvm_page_reserve_ok(1, flags))
		return uvm_page_take(0, 1, flags, NULL);
	chunk = (uint64_t)off >> UVM_RESV_SHIFT;
	if ((r = uvm_resv_lookup(obj, chunk)) == NULL)
		r = uvm_resv_create(obj, chunk);
	if (r != NULL) {
		size_t idx = (size_t)((uint64_t)off >> PAGE_SHIFT) &
		    (uvm_resv_pages() - 1);
		struct vm_page *pg = &vm_page_array[uvm_resv_first(r) + idx];

		if (KVA_LIKELY(pg->pqflags & PQ_FREE)) {
			uvm_resv_setpop(r, r->npopulated + 1);
			return pg;
		}
	}
	return uvm_page_take(0, 1, flags, NULL);
}

/*
 * uvm_free_wake_locked: note that sleepers in uvm_wait must be woken.
 * => (F) held; the caller calls wakeup(&uvmexp.free) after dropping it
 *    when this returned true.
 */
static inline bool
uvm_free_wake_locked(void)
{
	uvm_exhausted = 0;
	if (KVA_LIKELY(uvm_free_waiters == 0))
		return false;
	uvm_free_waiters = 0;
	return true;
}

/* ------------------------------------------------------------------ */
/* Set up and tear down. */

/* uvm_fq_reset: empty free lists of every class */
static void
uvm_fq_reset(void)
{
	for (int c = 0; c < UVM_FQ_NCLASS; c++) {
		for (int k = 0; k < UVM_BUDDY_NORDERS; k++)
			TAILQ_INIT(&uvm_freeq[c][k]);
		uvm_freeq_mask[c] = 0;
		uvm_freeq_npages[c] = 0;
	}
	uvm_fq_prezeroed = 0;
	uvm_fq_transit = 0;
	uvm_fq_transit_waiters = 0;
}

/*
 * uvm_resv_init: the reservation slots and hash for npages_max frames,
 * from the bootstrap region (about 45 bytes per 2 MiB).  Without room,
 * or with pages of 2 MiB or more, reservations stay off and
 * UVM_PGA_RESERV allocates ordinary pages.
 */
/* uvm_resv_reset: no reservations (before set-up, and at uvm_page_fini) */
static void
uvm_resv_reset(void)
{
	uvm_resv = NULL;
	uvm_resv_nruns = 0;
	uvm_resv_hash = NULL;
	uvm_resv_hmask = 0;
	uvm_resv_live = 0;
	TAILQ_INIT(&uvm_resv_partq);
}

static void
uvm_resv_init(size_t npages_max)
{
	size_t nruns, nbuckets = 16;
	unsigned order;

	uvm_resv_reset();
	if (PAGE_SHIFT >= UVM_RESV_SHIFT ||
	    UVM_RESV_SHIFT - PAGE_SHIFT > UVM_BUDDY_MAXORDER)
		return;
	order = (unsigned)(UVM_RESV_SHIFT - PAGE_SHIFT);
	nruns = (npages_max + ((size_t)1 << order) - 1) >> order;
	while (nbuckets < nruns)
		nbuckets <<= 1;
	uvm_resv_hash = pmap_bootstrap_alloc(nbuckets * sizeof(*uvm_resv_hash));
	uvm_resv = pmap_bootstrap_alloc(nruns * sizeof(*uvm_resv));
	if (uvm_resv_hash == NULL || uvm_resv == NULL) {
		kva_warn("no room for %zu page reservations; pageable memory "
		    "will need more host mappings", nruns);
		uvm_resv = NULL;
		uvm_resv_hash = NULL;
		return;
	}
	uvm_resv_order = order;
	uvm_resv_nruns = nruns;
	uvm_resv_hmask = nbuckets - 1;
}

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
	uvm_fq_reset();
	uvm_free_waiters = 0;
	uvm_exhausted = 0;
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
	uvm_resv_init(npages_max);
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
	uvm_fq_reset();
	uvm_free_waiters = 0;
	uvm_exhausted = 0;
	TAILQ_INIT(&uvm_page_active);
	TAILQ_INIT(&uvm_page_inactive);
	vm_page_array = NULL;
	vm_page_array_n = 0;
	vm_page_array_max = 0;
	uvm_pagehash = NULL;
	uvm_pagehash_mask = 0;
	uvm_resv_reset();
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
 *    asks for a zero-filled page; UVM_PGA_RESERV (with obj) takes the
 *    page from the reservation of its chunk (section 8).
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
	if (KVA_UNLIKELY(flags & UVM_PGA_RESERV) && obj != NULL)
		pg = uvm_resv_take(obj, off, flags);
	else
		pg = uvm_page_take(0, 1, flags, NULL);
	if (pg != NULL)
		uvm_buddy_claim(pg, 1);
	mutex_exit(&uvm_fpageqlock);
	if (KVA_UNLIKELY(uvmexp.free < uvmexp.freemin))
		uvm_pdaemon_kick();
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
	KVA_PROBE_PAGE_ALLOC(VM_PAGE_TO_PHYS(pg), obj, off);
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
	unsigned order = 0, cls = UVM_FQ_DIRTY;

	if (npages == 0 || npages > ((size_t)1 << UVM_BUDDY_MAXORDER) ||
	    vm_page_array == NULL)
		return NULL;
	while (((size_t)1 << order) < npages)
		order++;
	mutex_enter(&uvm_fpageqlock);
	pg = uvm_page_take(order, npages, flags, &cls);
	if (pg != NULL) {
		uvm_buddy_claim(pg, npages);
		uvm_buddy_free_range(pg_frame(pg) + npages,
		    ((size_t)1 << order) - npages, cls, uvm_fq_tick(), true);
	}
	mutex_exit(&uvm_fpageqlock);
	if (KVA_UNLIKELY(uvmexp.free < uvmexp.freemin))
		uvm_pdaemon_kick();
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
 * => a page of a live reservation goes back to it (section 8).
 */
void
uvm_pagefree(struct vm_page *pg)
{
	struct uvm_resv *r;
	bool wake;

	uvm_pagefree_check("uvm_pagefree", pg);
	KVA_PROBE_PAGE_FREE(VM_PAGE_TO_PHYS(pg));
	if (pg->flags & PG_TABLED)
		uvm_pageremove(pg);
	if ((pg->pqflags & (PQ_ACTIVE | PQ_INACTIVE)) || pg->wire_count)
		uvm_pageunqueue(pg);
	if (pg->flags & PG_WANTED)
		wakeup(pg);
	pg->flags = 0;			/* PG_ZERO too: contents unknown */
	pg->owner_tag = NULL;
	pmap_page_freed(pg);

	mutex_enter(&uvm_fpageqlock);
	uvm_pagefree_twice("uvm_pagefree", pg);
	pg->pqflags = PQ_FREE;
	pg->buddy_order = UVM_BUDDY_NONE;
	if (KVA_UNLIKELY((r = uvm_resv_of(pg_frame(pg))) != NULL))
		uvm_resv_depopulate(r, pg_frame(pg));
	else
		uvm_buddy_free(pg_frame(pg), 0, UVM_FQ_DIRTY, uvm_fq_tick(),
		    true);
	uvmexp.free++;
	wake = uvm_free_wake_locked();
	mutex_exit(&uvm_fpageqlock);
	if (wake)
		wakeup(&uvmexp.free);
}

/*
 * uvm_pagefree_contig: free npages pages starting at pg.
 * => none is tabled, queued or wired; the free lock is not held.
 * => pages of live reservations go back to them (single pages from
 *    uvm_pagealloc may be freed here too).
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
		pmap_page_freed(p);
	}
	mutex_enter(&uvm_fpageqlock);
	for (size_t i = 0; i < npages; i++) {
		uvm_pagefree_twice("uvm_pagefree_contig", &pg[i]);
		pg[i].pqflags = PQ_FREE;
		pg[i].buddy_order = UVM_BUDDY_NONE;
	}
	uvm_page_free_range(pg_frame(pg), npages);
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
 * uvm_wait_or_fail: sleep until a page can be allocated without the
 * reserve, waking the page daemon to make one.
 * => no locks held.  0 when one can be now (the caller retries its
 *    allocation, and may lose the page to another thread); ENOMEM when
 *    the daemon has found nothing left to free or page out (RAM and swap
 *    full: uvm_pdaemon.c, section 4).
 */
int
uvm_wait_or_fail(const char *wmsg)
{
	int error = 0;

	mutex_enter(&uvm_fpageqlock);
	while (uvmexp.free <= uvmexp.reserve_pagedaemon) {
		if (uvm_exhausted) {
			error = ENOMEM;
			break;
		}
		uvm_free_waiters++;
		mutex_exit(&uvm_fpageqlock);
		uvm_pdaemon_kick();
		mutex_enter(&uvm_fpageqlock);
		if (uvmexp.free > uvmexp.reserve_pagedaemon || uvm_exhausted)
			continue;
		(void)ltsleep(&uvmexp.free, PVM, wmsg, hz / 10,
		    &uvm_fpageqlock);
	}
	mutex_exit(&uvm_fpageqlock);
	return error;
}

/*
 * uvm_wait: sleep until a page can be allocated without the reserve.
 * => no locks held.  A wait that can never end (nothing left to page
 *    out, swap full) is a panic that names the sizes, not a hang.
 */
void
uvm_wait(const char *wmsg)
{
	char why[160];

	if (uvm_wait_or_fail(wmsg) == 0)
		return;
	uvm_pdaemon_oom_message(why, sizeof(why));
	panic("uvm_wait(%s): %s", wmsg, why);
}

/*
 * uvm_page_set_exhausted: the page daemon found nothing to free while
 * threads wait: tell them (they fail or panic).  The next page freed
 * clears it.
 */
void
uvm_page_set_exhausted(void)
{
	mutex_enter(&uvm_fpageqlock);
	if (uvmexp.free <= uvmexp.reserve_pagedaemon) {
		uvm_exhausted = 1;
		uvm_free_waiters = 0;
		mutex_exit(&uvm_fpageqlock);
		wakeup(&uvmexp.free);
		return;
	}
	mutex_exit(&uvm_fpageqlock);
}

/* uvm_pdaemon_exhausted: memory and swap are exhausted (a hint) */
int
uvm_pdaemon_exhausted(void)
{
	return __atomic_load_n(&uvm_exhausted, __ATOMIC_RELAXED);
}

/* uvm_free_waiters_count: threads sleeping for memory (a hint) */
int
uvm_free_waiters_count(void)
{
	return __atomic_load_n(&uvm_free_waiters, __ATOMIC_RELAXED);
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

/*
 * uvm_reserv_populated: how many pages of the reservation of the chunk
 * of obj that holds off are in use; 0 if the chunk has no reservation.
 * => the free lock is not held (the object lock may be).
 */
int
uvm_reserv_populated(struct uvm_object *obj, voff_t off)
{
	struct uvm_resv *r;
	int n = 0;

	if (uvm_resv == NULL || obj == NULL || off < 0)
		return 0;
	mutex_enter(&uvm_fpageqlock);
	r = uvm_resv_lookup(obj, (uint64_t)off >> UVM_RESV_SHIFT);
	if (r != NULL)
		n = (int)r->npopulated;
	mutex_exit(&uvm_fpageqlock);
	return n;
}

/*
 * uvm_reserv_break_all: break every reservation; their free frames go
 * to the free lists (no counter changes).  For tests and for callers
 * that want large runs back.
 * => the free lock is not held.  Returns how many were broken.
 */
size_t
uvm_reserv_break_all(void)
{
	size_t n = 0;

	if (uvm_resv == NULL)
		return 0;
	mutex_enter(&uvm_fpageqlock);
	for (size_t i = 0; i < uvm_resv_nruns && uvm_resv_live > 0; i++) {
		if (uvm_resv[i].obj != NULL) {
			(void)uvm_resv_break(&uvm_resv[i]);
			n++;
		}
	}
	mutex_exit(&uvm_fpageqlock);
	return n;
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
/* The background zeroer's side of the free lists (section 9). */

/* how many blocks a take looks at, per list, before it gives up */
#define UVM_PDZ_SCAN	64

/* uvm_pdz_settick: the coarse clock moves on (the zeroer's thread) */
void
uvm_pdz_settick(uint64_t ms)
{
	__atomic_store_n(&uvm_fq_now, ms, __ATOMIC_RELAXED);
}

/* uvm_pdz_prezeroed: free pages zero and populated (a hint) */
size_t
uvm_pdz_prezeroed(void)
{
	return __atomic_load_n(&uvm_fq_prezeroed, __ATOMIC_RELAXED);
}

/*
 * uvm_pdz_split: pg heads a block of order k just taken off the lists
 * for the zeroer; keep a part of order o that holds pages of a class
 * below goal (dirty ones to zero, populated ones to punch), and give
 * the rest back with the class its pages earn.  (A block's class is
 * only the worst of what merged into it: a block of clean pages with
 * one dirty page is dirty.  Descending towards the pages that need the
 * work is what makes each batch of the zeroer do some.)
 * => the head of the part kept.
 */
static struct vm_page *
uvm_pdz_split(struct vm_page *pg, unsigned k, unsigned o, unsigned goal,
    uint64_t tick, bool head)
{
	while (k > o) {
		size_t half;
		struct vm_page *hi;
		unsigned clo, chi;

		k--;
		half = (size_t)1 << k;
		hi = pg + half;
		clo = uvm_fq_range_class(pg_frame(pg), half);
		chi = uvm_fq_range_class(pg_frame(hi), half);
		if (clo < goal || chi >= goal) {
			uvm_freeq_insert(hi, k, chi, tick, head);
		} else {
			uvm_freeq_insert(pg, k, clo, tick, head);
			pg = hi;
		}
	}
	return pg;
}

/*
 * uvm_pdz_take_list: take blocks off list (cls, k) for the zeroer, from
 * the head (UVM_PDZ_ZERO: the most recently freed) or the tail
 * (UVM_PDZ_IDLE: the oldest, stamped no later than before).  A block
 * larger than the room left is split and only its first part taken.
 * => (F) held.  Returns the pages taken; *nb and *roomp move on.
 */
static size_t
uvm_pdz_take_list(int what, unsigned cls, unsigned k, uint64_t before,
    size_t *roomp, struct uvm_pdz_blk *b, int maxb, int *nb)
{
	struct vm_page *pg, *next;
	size_t got = 0;
	int scanned = 0;

	pg = what == UVM_PDZ_ZERO ? TAILQ_FIRST(&uvm_freeq[cls][k]) :
	    TAILQ_LAST(&uvm_freeq[cls][k], pglist);
	for (; pg != NULL && *nb < maxb && *roomp > 0 &&
	    scanned < UVM_PDZ_SCAN; pg = next, scanned++) {
		unsigned o = k;
		uint64_t tick = (uint64_t)pg->offset;

		next = what == UVM_PDZ_ZERO ? TAILQ_NEXT(pg, pageq) :
		    TAILQ_PREV(pg, pglist, pageq);
		if (what == UVM_PDZ_IDLE && tick > before)
			continue;
		while (o > 0 && ((size_t)1 << o) > *roomp)
			o--;
		if (((size_t)1 << o) > *roomp)
			break;
		uvm_freeq_remove(pg);
		/* the rest stays where a later take finds it */
		pg = uvm_pdz_split(pg, k, o, what == UVM_PDZ_ZERO ?
		    UVM_FQ_ZERO : UVM_FQ_DECOMMIT, tick, what == UVM_PDZ_ZERO);
		b[*nb].frame = pg_frame(pg);
		b[*nb].order = o;
		b[*nb].tick = tick;
		(*nb)++;
		got += (size_t)1 << o;
		*roomp -= (size_t)1 << o;
		uvm_fq_transit += (size_t)1 << o;
	}
	return got;
}

/*
 * uvm_pdz_take: take free blocks off the lists for the background
 * zeroer; they stay free (PQ_FREE, counted in uvmexp.free) but are in
 * transit: on no list, merged with nothing, until uvm_pdz_put.
 * => what: UVM_PDZ_ZERO takes dirty blocks, most recently freed first,
 *    to zero them; UVM_PDZ_IDLE takes blocks freed no later than tick
 *    before, oldest first, to punch them: dirty ones, and zero ones
 *    while more than keepzero pages are zero and populated.
 * => at most maxpages pages in at most maxb blocks, larger blocks first.
 * => free lock not held.  Returns the number of blocks in b.
 */
int
uvm_pdz_take(int what, uint64_t before, size_t maxpages, size_t keepzero,
    struct uvm_pdz_blk *b, int maxb)
{
	size_t left = maxpages;
	int nb = 0;

	mutex_enter(&uvm_fpageqlock);
	for (unsigned c = UVM_FQ_DIRTY; c <= UVM_FQ_ZERO; c++) {
		size_t room = left;

		if (c == UVM_FQ_ZERO) {
			if (what != UVM_PDZ_IDLE || uvm_fq_prezeroed <= keepzero)
				break;
			if (uvm_fq_prezeroed - keepzero < room)
				room = uvm_fq_prezeroed - keepzero;
		}
		for (int k = UVM_BUDDY_MAXORDER; k >= 0 && room > 0 &&
		    nb < maxb; k--) {
			if (uvm_freeq_mask[c] & (1u << k))
				left -= uvm_pdz_take_list(what, c, (unsigned)k,
				    before, &room, b, maxb, &nb);
		}
	}
	mutex_exit(&uvm_fpageqlock);
	return nb;
}

/*
 * uvm_pdz_put: the zeroer gives back the nb blocks of b, taken by
 * uvm_pdz_take.  result[i]: UVM_PDZ_ZEROED (the pages that were not
 * known zero have been zeroed in place and stay populated),
 * UVM_PDZ_PUNCHED (the whole block was punched: zero, decommitted), or
 * UVM_PDZ_FAILED (nothing happened to it).
 * => free lock not held.  Sleepers waiting for pages in transit wake.
 */
void
uvm_pdz_put(const struct uvm_pdz_blk *b, const int *result, int nb)
{
	bool wake = false;

	mutex_enter(&uvm_fpageqlock);
	for (int i = 0; i < nb; i++) {
		size_t n = (size_t)1 << b[i].order;
		struct vm_page *pg = &vm_page_array[b[i].frame];

		for (size_t j = 0; j < n; j++) {
			uint16_t f = pg[j].flags;

			if (result[i] == UVM_PDZ_ZEROED && !(f & PG_ZERO)) {
				f |= PG_ZERO;
				uvmexp.zeropages++;
				uvm_fq_prezeroed++;
				uvmexp.pdzeroed++;
			} else if (result[i] == UVM_PDZ_PUNCHED) {
				if ((f & PG_DECOMMIT) == 0)
					uvmexp.decommitted += PAGE_SIZE;
				if ((f & (PG_ZERO | PG_DECOMMIT)) == PG_ZERO)
					uvm_fq_prezeroed--;
				if ((f & PG_ZERO) == 0)
					uvmexp.zeropages++;
				f |= PG_ZERO | PG_DECOMMIT;
			}
			pg[j].flags = f;
		}
		uvm_fq_transit -= n;
		uvm_buddy_free(b[i].frame, b[i].order,
		    uvm_fq_range_class(b[i].frame, n), b[i].tick,
		    result[i] != UVM_PDZ_PUNCHED);
	}
	if (uvm_fq_transit_waiters > 0) {
		uvm_fq_transit_waiters = 0;
		wake = true;
	}
	wake |= uvm_free_wake_locked();
	mutex_exit(&uvm_fpageqlock);
	if (wake) {
		wakeup(&uvm_fq_transit);
		wakeup(&uvmexp.free);
	}
}

/* ------------------------------------------------------------------ */
/* Invariants. */

/*
 * uvm_page_check_resv: check the reservations; count their free frames
 * in *nresv and the zero ones in *nzero.
 * => (F) held.  0 when sound; else -1 and the first fault in why.
 */
static int
uvm_page_check_resv(char *why, size_t whylen, size_t *nresv, size_t *nzero)
{
	size_t live = 0, partial = 0, onq = 0, chained = 0;
	size_t npg = uvm_resv_pages();
	struct uvm_resv *r;

#define UVM_RESV_FAIL(...) do {						\
	snprintf(why, whylen, __VA_ARGS__);				\
	return -1;							\
} while (0)

	if (uvm_resv == NULL)
		return 0;
	for (size_t c = 0; c < uvm_resv_nruns; c++) {
		size_t first = c << uvm_resv_order, used = 0;

		r = &uvm_resv[c];
		if (r->obj == NULL) {
			if (r->npopulated != 0 || r->hnext != 0)
				UVM_RESV_FAIL("run %zu: dead slot with %u in "
				    "use, chained to %u", c, r->npopulated,
				    r->hnext);
			continue;
		}
		live++;
		if (first + npg > vm_page_array_n)
			UVM_RESV_FAIL("run %zu: reserved beyond the %zu frames "
			    "loaded", c, vm_page_array_n);
		if (uvm_resv_lookup(r->obj, r->chunk) != r)
			UVM_RESV_FAIL("run %zu: (%p, chunk %#jx) finds %p", c,
			    r->obj, (uintmax_t)r->chunk,
			    uvm_resv_lookup(r->obj, r->chunk));
		for (size_t i = 0; i < npg; i++) {
			const struct vm_page *pg = &vm_page_array[first + i];

			if ((pg->pqflags & PQ_FREE) == 0) {
				used++;
				continue;
			}
			if (pg->buddy_order != UVM_BUDDY_NONE)
				UVM_RESV_FAIL("run %zu: free frame %zu has "
				    "order %u", c, first + i, pg->buddy_order);
			(*nresv)++;
			*nzero += (pg->flags & PG_ZERO) != 0;
		}
		if (used == 0 || used != r->npopulated)
			UVM_RESV_FAIL("run %zu (%p, chunk %#jx): %zu frames in "
			    "use, count %u", c, r->obj, (uintmax_t)r->chunk,
			    used, r->npopulated);
		partial += used < npg;
	}
	if (live != uvm_resv_live)
		UVM_RESV_FAIL("%zu reservations live, count %zu", live,
		    uvm_resv_live);
	TAILQ_FOREACH(r, &uvm_resv_partq, partq) {
		if (r->obj == NULL || !uvm_resv_partial(r->npopulated))
			UVM_RESV_FAIL("run %zu on the partly used queue with "
			    "%u in use (obj %p)", (size_t)(r - uvm_resv),
			    r->npopulated, r->obj);
		if (++onq > partial)
			break;
	}
	if (onq != partial)
		UVM_RESV_FAIL("%zu partly used reservations, %zu%s queued",
		    partial, onq, onq > partial ? " or more" : "");
	for (size_t b = 0; b <= uvm_resv_hmask; b++) {
		for (uint32_t i = uvm_resv_hash[b]; i != 0;
		    i = uvm_resv[i - 1].hnext) {
			if (i > uvm_resv_nruns || uvm_resv[i - 1].obj == NULL ||
			    uvm_resv_bucket(uvm_resv[i - 1].obj,
			    uvm_resv[i - 1].chunk) != b)
				UVM_RESV_FAIL("bucket %zu: slot %u dead or "
				    "misplaced", b, i - 1);
			if (++chained > live)
				UVM_RESV_FAIL("hash chains hold more than "
				    "the %zu reservations live", live);
		}
	}
	if (chained != live)
		UVM_RESV_FAIL("%zu reservations live, %zu on hash chains",
		    live, chained);
	return 0;
#undef UVM_RESV_FAIL
}

/*
 * uvm_page_check: check the free lists against the page array and the
 * counters (debug level 3, and the tests).
 * => no locks held.  0 when sound; else -1 and the first fault in why.
 */
int
uvm_page_check(char *why, size_t whylen)
{
	size_t nfree = 0, nzero = 0, nmarked = 0, nresv = 0, nprez = 0;
	int error = 0;

#define UVM_PAGE_FAIL(...) do {						\
	snprintf(why, whylen, __VA_ARGS__);				\
	error = -1;							\
	goto out;							\
} while (0)

	mutex_enter(&uvm_fpageqlock);
	for (unsigned c = 0; c < UVM_FQ_NCLASS; c++) {
		size_t ncls = 0;

		for (unsigned k = 0; k < UVM_BUDDY_NORDERS; k++) {
			struct vm_page *pg;

			if (TAILQ_EMPTY(&uvm_freeq[c][k]) !=
			    !(uvm_freeq_mask[c] & (1u << k)))
				UVM_PAGE_FAIL("class %u order %u: mask bit "
				    "wrong", c, k);
			TAILQ_FOREACH(pg, &uvm_freeq[c][k], pageq) {
				size_t f = pg_frame(pg), n = (size_t)1 << k;

				if (pg->buddy_order != k || (f & (n - 1)) != 0 ||
				    f + n > vm_page_array_n ||
				    uvm_fq_class(pg) != c)
					UVM_PAGE_FAIL("class %u order %u: bad "
					    "block at frame %zu (order %u, "
					    "class %u)", c, k, f,
					    pg->buddy_order, uvm_fq_class(pg));
				for (size_t i = 0; i < n; i++) {
					if ((pg[i].pqflags & PQ_FREE) == 0 ||
					    (i > 0 && (pg[i].buddy_order !=
					    UVM_BUDDY_NONE || (pg[i].pqflags &
					    PQ_FCLASS))))
						UVM_PAGE_FAIL("order %u: frame "
						    "%zu in block %zu badly "
						    "marked", k, f + i, f);
					if (uvm_resv_of(f + i) != NULL)
						UVM_PAGE_FAIL("order %u: frame "
						    "%zu in block %zu is "
						    "reserved", k, f + i, f);
				}
				if (uvm_fq_range_class(f, n) < c)
					UVM_PAGE_FAIL("class %u block at frame "
					    "%zu has pages of class %u", c, f,
					    uvm_fq_range_class(f, n));
				nfree += n;
				ncls += n;
			}
		}
		if (ncls != uvm_freeq_npages[c])
			UVM_PAGE_FAIL("class %u: %zu pages listed, count %zu",
			    c, ncls, uvm_freeq_npages[c]);
	}
	if (uvm_page_check_resv(why, whylen, &nresv, &nzero) != 0) {
		error = -1;
		goto out;
	}
	nzero = 0;
	for (size_t i = 0; i < vm_page_array_n; i++) {
		const struct vm_page *pg = &vm_page_array[i];

		if ((pg->pqflags & PQ_FREE) == 0)
			continue;
		nmarked++;
		nzero += (pg->flags & PG_ZERO) != 0;
		nprez += (pg->flags & (PG_ZERO | PG_DECOMMIT)) == PG_ZERO;
		if ((pg->flags & (PG_ZERO | PG_DECOMMIT)) == PG_DECOMMIT)
			UVM_PAGE_FAIL("free frame %zu decommitted but not "
			    "zero", i);
	}
	if (nmarked != nfree + nresv + uvm_fq_transit)
		UVM_PAGE_FAIL("%zu pages marked free, %zu on the lists, %zu "
		    "reserved, %zu in transit", nmarked, nfree, nresv,
		    uvm_fq_transit);
	if (nfree + nresv + uvm_fq_transit +
	    (vm_page_array_max - vm_page_array_n) != (size_t)uvmexp.free)
		UVM_PAGE_FAIL("uvmexp.free %d, counted %zu + %zu reserved + "
		    "%zu in transit + %zu not loaded", uvmexp.free, nfree,
		    nresv, uvm_fq_transit, vm_page_array_max - vm_page_array_n);
	if (nzero != (size_t)uvmexp.zeropages)
		UVM_PAGE_FAIL("uvmexp.zeropages %d, counted %zu",
		    uvmexp.zeropages, nzero);
	if (nprez != uvm_fq_prezeroed)
		UVM_PAGE_FAIL("%zu free pages zero and populated, count %zu",
		    nprez, uvm_fq_prezeroed);
out:
	mutex_exit(&uvm_fpageqlock);
	return error;
#undef UVM_PAGE_FAIL
}

/*
 * Fork (kva_init.c, section "fork"): the free page lock and the hash
 * stripes, taken in prepare and given back in the parent and the child.
 */
void
uvm_page_fork_lock(void)
{
	mutex_enter(&uvm_fpageqlock);
	for (int i = 0; i < UVM_PAGEHASH_NLOCKS; i++)
		mutex_enter(&uvm_pagehash_locks[i].lock);
}

void
uvm_page_fork_unlock(void)
{
	for (int i = UVM_PAGEHASH_NLOCKS - 1; i >= 0; i--)
		mutex_exit(&uvm_pagehash_locks[i].lock);
	mutex_exit(&uvm_fpageqlock);
}

/*
 * pmap.c: pmap(9) over mmap of a memfd, for the kernel pmap of kva.
 *
 * Theory of operation.
 *
 * 1. The machine.  pmap_bootstrap reserves the kernel VA as one
 *    PROT_NONE, MAP_NORESERVE region aligned to 2 MiB, creates a memfd
 *    (MFD_CLOEXEC) as physical memory, and reserves a second region, the
 *    direct map, into which each segment of the memfd is mapped read-write
 *    once, as it is grown.  A physical address is a byte offset in the
 *    memfd.  The first part of the kernel VA, [kva_base, virtual_avail),
 *    is the bootstrap region: anonymous read-write memory for the page
 *    table, the vm_page array, the page hash and the VM's pools.
 *
 * 2. The page table.  A flat array of 64-bit PTEs, one per page of
 *    kernel VA (NORESERVE, so it costs only what is touched).  Each PTE
 *    holds the software mapping (valid, frame, protection, wired) and what
 *    the host has at that page now (nothing, this frame, or a stale
 *    frame) with the host's protection.  Software state changes at once;
 *    the host follows at pmap_update.
 *
 * 3. Batching.  pmap_enter, pmap_remove, pmap_protect and friends only
 *    edit PTEs and queue the touched range.  pmap_update walks the queued
 *    ranges and issues one host call per run: one mmap(MAP_SHARED|
 *    MAP_FIXED|MAP_POPULATE) per run of contiguous VA with contiguous
 *    frames and equal protection, one mprotect per run whose frame is
 *    unchanged, one PROT_NONE anonymous mmap per run to take away.  Per
 *    page that is 10-19 times cheaper than a call a page (ARCHITECTURE.md).
 *
 * 4. Host mappings (VMAs).  The host merges neighbouring mappings when
 *    VA and file offset are both contiguous and the protections agree.
 *    So the number of VMAs in the kernel VA equals the number of
 *    "boundaries": pages i-1, i whose keys differ, where the key of a page
 *    is 0 when unmapped and (frame - i, protection) when mapped.  The pmap
 *    keeps that count exactly as PTEs change (O(1) per PTE).
 *    pmap_enter(PMAP_CANFAIL) refuses, with ENOMEM and nothing changed, a
 *    mapping that would take the count over the limit: the host's
 *    vm.max_map_count less headroom for the rest of the process.  Removal
 *    never needs a new VMA budget, so rollback always succeeds.
 *
 * 5. pv lists.  Every mapping of a managed page is on the page's pv list
 *    (the first one inside the vm_page, the rest from a pool), so that
 *    pmap_page_protect reaches them all.
 *
 * 6. The direct map and RSS.  The host counts a page once per mapping in
 *    RSS.  pmap_zero_page and pmap_copy_page write through the direct map;
 *    a page so written is marked PMD_DMAP, and when it is (or already
 *    was) mapped at a kernel VA its direct-map PTEs are dropped with
 *    MADV_DONTNEED in the next pmap_update, so that no page stays mapped
 *    twice.  Pool pages live in the direct map only.
 *
 * 7. Referenced and modified bits.  Kept in vm_page.mdflags.  pmap_enter's
 *    access type sets them.  A page entered without PMAP_WIRED, and any
 *    page whose bit is cleared, is marked PMD_EMUL: its non-wired mappings
 *    then get no access (not referenced) or read-only (not modified) on
 *    the host, and the fault handler sets the bit and restores access
 *    (uvm_fault).  Wired mappings always have their full protection.
 *
 * 9. Background zeroing and decommit (pmap_async.c).  Free frames that
 *    the background zeroer (uvm_pdzero.c) zeroes ahead are written with
 *    zeros through the memfd (pwrite from a zero buffer: no mapping, no
 *    fault, the page stays populated and so maps without a fault later);
 *    what of them was populated in the direct map (PMD_DMAP) is dropped
 *    with MADV_DONTNEED in the same batch.  Idle free frames are punched
 *    (FALLOC_FL_PUNCH_HOLE), which takes them out of every mapping.
 *    Either way their deferred zeroing (PMD_NEEDZERO) is moot and is
 *    dropped (pmap_zero_prepare).  With io_uring the batch is one
 *    submission; without it (no liburing, the ring cannot be set up,
 *    uring=0, valgrind) the same calls are made one by one.
 *
 * 10. Warm runs.  On a host that shadows page tables (PVM), the first
 *    touch of a page at a newly mapped VA exits to the hypervisor, 5-10
 *    us a page (tools/hostcost), however the page was mapped; but mremap
 *    of a whole aligned 2 MiB moves the page table itself and the host
 *    keeps its entries.  So when an update takes away the host mapping
 *    of a whole aligned 2 MiB of pageable memory that maps one aligned
 *    run of frames read-write, the mapping moves (host_move) to a slot
 *    in a private region instead, up to warm= runs (32 by default, the
 *    oldest making way); when an update maps that run whole again at an
 *    aligned 2 MiB, it moves back, its deferred zeroing done through the
 *    slot, and its pages are touched with no exit.  uvm_page.c's
 *    reservations prefer warm runs, and uvm_fault maps a chunk whole at
 *    its first fault while there are any.  A warm run's frames are free
 *    or about to be mapped again; it is dropped (its slot made PROT_NONE
 *    again) when a frame of it is mapped alone, used through the direct
 *    map or punched, so that no page stays mapped twice, and all are
 *    dropped before fork, since the child must not share this memfd.
 *    Removed PTEs keep their frame until the update, for it to see what
 *    the host maps.  The slots are outside the kernel VA and are not in
 *    the VMA count; the headroom left to the process covers them.
 *
 * 11. Parked chunks.  Taking away host access to catch a reference
 *    (section 7) costs the same exit at the next touch, of the page at
 *    its VA or of its frame wherever it is mapped next.  So when an
 *    update takes all access away from a whole aligned 2 MiB that maps
 *    one aligned run of frames with one protection, the mapping moves
 *    aside instead, to the run's place in the park region, which
 *    mirrors physical memory (run r at park.base + r * 2 MiB); the
 *    kernel VA is left a reservation, so a touch still faults.  The
 *    fault sets the referenced bit of every page of the chunk (the
 *    reference is seen per 2 MiB) and the chunk moves back whole.  When
 *    every page of a parked chunk is removed (the page daemon frees or
 *    pages out the chunk), its mapping stays where it is as a warm run;
 *    a partly removed one moves back and the update does the rest page
 *    by page.  Swap I/O reads and writes a warm run's frames through
 *    its place in the park region (pmap_io_pin), where the host has its
 *    page tables, instead of through the direct map.  Warm runs live in
 *    the park region too; their slots are only bookkeeping.  All parked
 *    chunks move back before fork.  A parked chunk is a host mapping
 *    outside the kernel VA: chunks park only while they, the warm runs
 *    and the VMA count together stay within the limit.
 *
 * Locking: one lock, pm_lock, for the PTEs, pv lists, queues and counts
 * (rank 5 in kva_impl.h).  It is held across the host calls of an
 * update; they are short.  Host execute permission is never granted: the
 * host mappings are W^X, VM_PROT_EXECUTE is kept in the PTE only.
 */
#include "pmap_md.h"
#include "host.h"
#include "../uvm_hist.h"
#include "../kva_track.h"

/* PTE layout */
#define PTE_PROT	0x7ULL		/* software protection (VM_PROT_*) */
#define PTE_V		0x8ULL		/* valid software mapping */
#define PTE_W		0x10ULL		/* wired */
#define PTE_HPROT_SHIFT	5		/* host protection, 3 bits */
#define PTE_HPROT	(0x7ULL << PTE_HPROT_SHIFT)
#define PTE_HK_SHIFT	8		/* what the host has, 2 bits */
#define PTE_HK		(0x3ULL << PTE_HK_SHIFT)
#define HK_NONE		0ULL		/* reservation (PROT_NONE) */
#define HK_CUR		1ULL		/* this PTE's frame */
#define HK_STALE	2ULL		/* some other frame: must be replaced */
#define PTE_PFN_SHIFT	12

#define PTE_PFN(p)	((p) >> PTE_PFN_SHIFT)
#define PTE_HKIND(p)	(((p) & PTE_HK) >> PTE_HK_SHIFT)
#define PTE_HPROTV(p)	((int)(((p) & PTE_HPROT) >> PTE_HPROT_SHIFT))

/* vm_page.mdflags */
#define PMD_REF		0x01	/* referenced */
#define PMD_MOD		0x02	/* modified */
#define PMD_EMUL	0x04	/* access restricted to catch ref/mod */
#define PMD_DMAP	0x08	/* may be populated in the direct map */
#define PMD_NEEDZERO	0x10	/* zeroing deferred to the next mapping */
#define PUNCH_MIN	8	/* shortest run zeroed by punching a hole */
#define NO_SPLIT	SIZE_MAX	/* physical memory is one memfd */

#define DQ_MAX		128	/* queued ranges before a forced flush */
#define DROPQ_MAX	512	/* queued direct-map drops */
#define SEG_FIRST	((size_t)4 << 20)	/* physical memory's first segment */
#define SEG_SIZE	((size_t)64 << 20)	/* the largest segment */
#define KVA_ALIGN	((size_t)2 << 20)
#define CHUNK_SHIFT	9	/* pages per chunk count: 2 MiB of 4 KiB */

struct pv_entry {
	struct pv_entry *next;
	vaddr_t va;
};

struct pmap {
	int refs;
};

static struct pmap kernel_pmap_store;

static struct {
	/* (C) from bootstrap on */
	vaddr_t kva_base, kva_end;
	size_t kva_npages;
	vaddr_t boot_end;
	uint64_t *pte;
	int memfd;			/* frames below fd_split */
	int memfd_hi;			/* frames from fd_split on */
	size_t fd_split;		/* NO_SPLIT: one memfd (section 8) */
	vaddr_t dmap_base;
	size_t phys_cap;
	int booted;
	/* (B) boot_lock */
	kmutex_t boot_lock;
	char *boot_cur;
	/* (F) free page lock, held by the caller of pmap_physmem_grow */
	size_t phys_size;
	/* (P) pm_lock */
	kmutex_t lock;
	struct { size_t s, e; } dq[DQ_MAX];
	int ndq;
	size_t dropq[DROPQ_MAX];
	int ndrop;
	long nbound;
	uint16_t *chunk_hmapped;	/* per 2 MiB of VA: pages the host maps */
	long vma_base;
	long vma_limit;
	int sync_error;
	struct kva_pool pv_pool;
} pm;

/* warm runs (section 10), (P) but for slot_of's lock-free reads */
#define WARM_MAX	32	/* parked runs at most: 64 MiB */
#define NO_RUN		UINT64_MAX
static struct {
	uint64_t run[WARM_MAX];		/* run (pfn >> CHUNK_SHIFT) or NO_RUN */
	int pin[WARM_MAX];		/* I/O through it in flight */
	uint8_t dead[WARM_MAX];		/* dropped while pinned: at unpin */
	uint64_t when[WARM_MAX];	/* park order, oldest lowest */
	uint64_t clock;
	uint8_t *slot_of;		/* per run: its slot + 1, or 0 */
	int n, max;			/* kept, and the most kept */
	long parks, hits, drops, io_pinned;
} warm;

/* parked chunks (section 11), (P) */
static struct {
	vaddr_t base;			/* phys_cap rounded to 2 MiB, or 0 */
	size_t nruns;
	uint32_t *vc;			/* per VA chunk: parked run, below */
	uint32_t *run_vc;		/* per run: its VA chunk + 1, or 0 */
	long n, parks, unparks, kept;
	int frozen;			/* fork: park nothing */
} park;
/* park.vc[c]: (run + 1) << 3 | host protection, or 0: not parked */
#define PARK_RUN(v)	((uint64_t)((v) >> 3) - 1)
#define PARK_PROT(v)	((int)((v) & 7))

#define PM_LOCK()   mutex_enter(&pm.lock)
#define PM_UNLOCK() mutex_exit(&pm.lock)

static int pmap_sync_locked(void);
static void zero_now_locked(struct vm_page *pg);

/*
 * Small helpers.
 */
static inline size_t
va_to_idx(vaddr_t va)
{
	return (size_t)((va - pm.kva_base) >> PAGE_SHIFT);
}

static inline vaddr_t
idx_to_va(size_t idx)
{
	return pm.kva_base + ((vaddr_t)idx << PAGE_SHIFT);
}

static inline int
va_in_kva(vaddr_t va)
{
	return va >= pm.boot_end && va < pm.kva_end;
}

static inline struct vm_page *
pfn_to_page(uint64_t pfn)
{
	return &vm_page_array[pfn];
}

/* the memfd that holds frame pfn (at offset ptoa(pfn)), and which one */
static inline int
fd_side(uint64_t pfn)
{
	return pfn >= pm.fd_split;
}

static inline int
fd_of(uint64_t pfn)
{
	return fd_side(pfn) ? pm.memfd_hi : pm.memfd;
}

/* effective host protection of a valid PTE: W^X, and ref/mod emulation */
static inline int
pte_eprot(uint64_t p)
{
	int prot = (int)(p & PTE_PROT) & VM_PROT_DEFAULT;
	uint8_t md;

	if (p & PTE_W)
		return prot;
	md = pfn_to_page(PTE_PFN(p))->mdflags;
	if (md & PMD_EMUL) {
		if ((md & PMD_REF) == 0)
			return VM_PROT_NONE;
		if ((md & PMD_MOD) == 0)
			prot &= ~VM_PROT_WRITE;
	}
	return prot;
}

/* merge key of page idx (section 4); 0 = unmapped */
static inline uint64_t
pte_key(size_t idx)
{
	uint64_t p = pm.pte[idx];

	if ((p & PTE_V) == 0)
		return 0;
	return ((PTE_PFN(p) - idx) << 5) |
	    ((uint64_t)fd_side(PTE_PFN(p)) << 4) | (uint64_t)pte_eprot(p) | 8;
}

/* is there a VMA boundary between pages idx-1 and idx? */
static inline long
pte_bound(size_t idx)
{
	if (idx == 0 || idx >= pm.kva_npages)
		return 0;
	return pte_key(idx - 1) != pte_key(idx);
}

static inline void
pte_write(size_t idx, uint64_t nv)
{
	long before = pte_bound(idx) + pte_bound(idx + 1);

	pm.pte[idx] = nv;
	pm.nbound += pte_bound(idx) + pte_bound(idx + 1) - before;
}

static inline long
vma_count_locked(void)
{
	return pm.vma_base + pm.nbound;
}

/* queue [s, e) (page indices) for the next update */
static void
dq_add(size_t s, size_t e)
{
	if (pm.ndq > 0) {
		size_t ls = pm.dq[pm.ndq - 1].s, le = pm.dq[pm.ndq - 1].e;
		if (s <= le && e >= ls) {
			pm.dq[pm.ndq - 1].s = s < ls ? s : ls;
			pm.dq[pm.ndq - 1].e = e > le ? e : le;
			return;
		}
	}
	if (pm.ndq == DQ_MAX) {
		int rv = pmap_sync_locked();
		if (rv != 0)
			pm.sync_error = rv;
	}
	pm.dq[pm.ndq].s = s;
	pm.dq[pm.ndq].e = e;
	pm.ndq++;
}

static void
dropq_flush(void)
{
	int i = 0;

	while (i < pm.ndrop) {
		size_t first = pm.dropq[i];
		int j = i + 1;

		while (j < pm.ndrop && pm.dropq[j] == first + (size_t)(j - i))
			j++;
		(void)host_dontneed(pm.dmap_base + ptoa(first),
		    (size_t)(j - i) << PAGE_SHIFT);
		i = j;
	}
	pm.ndrop = 0;
}

/* the page's direct-map PTEs should go: it is mapped at a kernel VA */
static void
dropq_add(struct vm_page *pg)
{
	pg->mdflags &= ~PMD_DMAP;
	if (pm.ndrop == DROPQ_MAX)
		dropq_flush();
	pm.dropq[pm.ndrop++] = vm_page_index(pg);
}

/*
 * pv lists.
 */
static int
pv_add(struct vm_page *pg, vaddr_t va)
{
	struct pv_entry *pv;

	if (pg->pv.va == 0) {
		pg->pv.va = va;
		return 0;
	}
	pv = kva_pool_get(&pm.pv_pool);
	if (pv == NULL)
		return ENOMEM;
	pv->va = va;
	pv->next = pg->pv.next;
	pg->pv.next = pv;
	return 0;
}

static void
pv_remove(struct vm_page *pg, vaddr_t va)
{
	struct pv_entry *pv, **pvp;

	if (pg->pv.va == va) {
		pv = pg->pv.next;
		if (pv != NULL) {
			pg->pv.va = pv->va;
			pg->pv.next = pv->next;
			kva_pool_put(&pm.pv_pool, pv);
		} else {
			pg->pv.va = 0;
		}
		return;
	}
	for (pvp = &pg->pv.next; (pv = *pvp) != NULL; pvp = &pv->next) {
		if (pv->va == va) {
			*pvp = pv->next;
			kva_pool_put(&pm.pv_pool, pv);
			return;
		}
	}
	panic("pv_remove(%p, %#lx): no such mapping of pa %#lx", (void *)pg,
	    (unsigned long)va, (unsigned long)pg->phys_addr);
}

/* pv_move: pg's mapping at from is now at to (no allocation) */
static void
pv_move(struct vm_page *pg, vaddr_t from, vaddr_t to)
{
	struct pv_entry *pv;

	if (pg->pv.va == from) {
		pg->pv.va = to;
		return;
	}
	for (pv = pg->pv.next; pv != NULL; pv = pv->next)
		if (pv->va == from) {
			pv->va = to;
			return;
		}
	panic("pv_move(%p, %#lx, %#lx): no such mapping of pa %#lx",
	    (void *)pg, (unsigned long)from, (unsigned long)to,
	    (unsigned long)pg->phys_addr);
}

/* visit every kernel VA at which pg is mapped */
#define PV_FOREACH(pg, va, pv) \
	for ((pv) = NULL, (va) = (pg)->pv.va; (va) != 0; \
	    (pv) = (pv) == NULL ? (pg)->pv.next : (pv)->next, \
	    (va) = (pv) == NULL ? 0 : (pv)->va)

/*
 * reserve_aligned: len bytes of PROT_NONE address space at an address
 * aligned to align (a power of two): more is reserved, the ends go back.
 * => the address, or 0 with *err = -errno.
 */
static uintptr_t
reserve_aligned(size_t len, size_t align, int *err)
{
	uintptr_t raw = host_reserve(0, len + align, err), a;

	if (raw == 0)
		return 0;
	a = (raw + align - 1) & ~(uintptr_t)(align - 1);
	if (a > raw)
		(void)host_unmap(raw, a - raw);
	(void)host_unmap(a + len, raw + align - a);
	return a;
}

/*
 * Warm runs (section 10).
 */
#define RUN_PAGES	((size_t)1 << CHUNK_SHIFT)
#define RUN_BYTES	(RUN_PAGES << PAGE_SHIFT)

static inline vaddr_t
park_va(uint64_t run)
{
	return park.base + (vaddr_t)run * RUN_BYTES;
}

static inline vaddr_t
warm_va(int slot)
{
	return park_va(warm.run[slot]);
}

/* the slot + 1 of the warm run that holds frame pfn, or 0; no lock */
static inline unsigned
warm_slot(uint64_t pfn)
{
	if (warm.slot_of == NULL)
		return 0;
	return __atomic_load_n(&warm.slot_of[pfn >> CHUNK_SHIFT],
	    __ATOMIC_RELAXED);
}

static void
warm_init(long max)
{
	int err, i;

	warm.slot_of = pmap_bootstrap_alloc((pm.phys_cap >> PAGE_SHIFT >>
	    CHUNK_SHIFT) + 1);
	for (i = 0; i < WARM_MAX; i++)
		warm.run[i] = NO_RUN;
	warm.max = max < 0 ? 0 : max > WARM_MAX ? WARM_MAX : (int)max;
	/* the park region, at a 2 MiB boundary (without it, or where the
	 * host will not move mappings, nothing is parked or kept) */
	park.nruns = (pm.phys_cap + RUN_BYTES - 1) / RUN_BYTES;
	park.run_vc = pmap_bootstrap_alloc(park.nruns * sizeof(uint32_t));
	park.vc = pmap_bootstrap_alloc(((pm.kva_npages >> CHUNK_SHIFT) + 1) *
	    sizeof(uint32_t));
	if (park.run_vc == NULL || park.vc == NULL)
		return;
	park.base = reserve_aligned(park.nruns * RUN_BYTES, RUN_BYTES, &err);
}

/* warm_drop: the run in slot forgets its mapping; pm_lock held */
static void
warm_drop(int slot)
{
	int err;

	if (warm.pin[slot] > 0) {
		warm.dead[slot] = 1;	/* I/O through it: at the unpin */
		return;
	}
	warm.dead[slot] = 0;
	(void)host_reserve(warm_va(slot), RUN_BYTES, &err);
	__atomic_store_n(&warm.slot_of[warm.run[slot]], 0, __ATOMIC_RELAXED);
	warm.run[slot] = NO_RUN;
	warm.n--;
	warm.drops++;
}

/* drop the warm runs that hold any of frames [pfn, pfn + n) */
static void
warm_drop_frames(uint64_t pfn, size_t n)
{
	uint64_t r, last;

	if (warm.n == 0 || n == 0)
		return;
	last = (pfn + n - 1) >> CHUNK_SHIFT;
	for (r = pfn >> CHUNK_SHIFT; r <= last; r++)
		if (warm.slot_of[r] != 0)
			warm_drop(warm.slot_of[r] - 1);
}

static void
warm_drop_all(void)
{
	int i;

	for (i = 0; i < WARM_MAX && warm.n > 0; i++)
		if (warm.run[i] != NO_RUN)
			warm_drop(i);
}

/*
 * warm_keep: the host maps frame run `run` read-write at its place in
 * the park region: keep it as a warm run, the oldest unpinned one making
 * way.  => 0, or -1 when every slot is pinned (nothing changed).
 */
static int
warm_keep(uint64_t run)
{
	int slot = -1, i;

	for (i = 0; i < warm.max; i++) {
		if (warm.run[i] == NO_RUN) {
			slot = i;
			break;
		}
		if (warm.pin[i] == 0 &&
		    (slot < 0 || warm.when[i] < warm.when[slot]))
			slot = i;
	}
	if (slot < 0)
		return -1;
	if (warm.run[slot] != NO_RUN)
		warm_drop(slot);
	warm.run[slot] = run;
	warm.when[slot] = ++warm.clock;
	__atomic_store_n(&warm.slot_of[run], (uint8_t)(slot + 1),
	    __ATOMIC_RELAXED);
	warm.n++;
	warm.parks++;
	return 0;
}

/*
 * run_parkable: pages [c, c + RUN_PAGES) (c aligned) are one aligned run
 * of frames that the host maps at them with one protection (hprot != 0),
 * not wired, and the run is neither parked nor warm.  => its first
 * frame, or NO_RUN.
 */
static uint64_t
run_parkable(size_t c, int hprot)
{
	uint64_t pfn0 = PTE_PFN(pm.pte[c]);
	size_t k;

	if (park.base == 0 || (pfn0 & (RUN_PAGES - 1)) != 0 ||
	    park.run_vc[pfn0 >> CHUNK_SHIFT] != 0 ||
	    warm.slot_of[pfn0 >> CHUNK_SHIFT] != 0)
		return NO_RUN;
	for (k = 0; k < RUN_PAGES; k++) {
		uint64_t p = pm.pte[c + k];

		if (PTE_HKIND(p) != HK_CUR || (p & PTE_W) ||
		    PTE_HPROTV(p) != hprot || PTE_PFN(p) != pfn0 + k)
			return NO_RUN;
	}
	/* (an aligned run never straddles the memfd split, which is
	 * FORK_SPLIT_ALIGN aligned) */
	return pfn0;
}

/*
 * warm_park_range: the update is about to take away the host mappings
 * of pages [s, e).  Each aligned 2 MiB in it that the host maps
 * read-write to one aligned run of frames, and that is not wired, moves
 * to its place in the park region instead (host_move) and is kept as a
 * warm run.
 */
static void
warm_park_range(size_t s, size_t e)
{
	size_t c;

	if (park.base == 0 || warm.max == 0)
		return;
	for (c = (s + RUN_PAGES - 1) & ~(RUN_PAGES - 1); c + RUN_PAGES <= e;
	    c += RUN_PAGES) {
		uint64_t pfn0 = PTE_PFN(pm.pte[c]);

		if ((pfn0 & (RUN_PAGES - 1)) == 0 &&
		    warm.slot_of[pfn0 >> CHUNK_SHIFT] != 0)	/* stale */
			warm_drop(warm.slot_of[pfn0 >> CHUNK_SHIFT] - 1);
		if (run_parkable(c, VM_PROT_READ | VM_PROT_WRITE) == NO_RUN)
			continue;
		if (host_move(idx_to_va(c), RUN_BYTES,
		    park_va(pfn0 >> CHUNK_SHIFT)) != 0)
			return;
		if (warm_keep(pfn0 >> CHUNK_SHIFT) != 0) {
			int err;

			(void)host_reserve(park_va(pfn0 >> CHUNK_SHIFT),
			    RUN_BYTES, &err);
		}
	}
}

/*
 * Parked chunks (section 11).
 */

/*
 * park_chunk: move the host mapping of the whole chunk at page c (its
 * pages all losing access in this update) to the park region.
 * => 0 done (the PTEs say the host maps nothing at c); -1 not possible.
 */
static int
park_chunk(size_t c)
{
	int hprot = PTE_HPROTV(pm.pte[c]);
	uint64_t pfn0 = run_parkable(c, hprot), run;
	size_t k;
	int err;

	if (pfn0 == NO_RUN || hprot == VM_PROT_NONE)
		return -1;
	/* each parked chunk is a host mapping outside the kernel VA, not in
	 * the count: they too stay within the limit */
	if (vma_count_locked() + park.n + warm.n + 1 > pm.vma_limit)
		return -1;
	run = pfn0 >> CHUNK_SHIFT;
	if (host_move(idx_to_va(c), RUN_BYTES, park_va(run)) != 0)
		return -1;
	/* the move leaves the source mapped, with no pages: a reservation
	 * again, so that a touch faults */
	if (host_reserve(idx_to_va(c), RUN_BYTES, &err) == 0) {
		(void)host_move(park_va(run), RUN_BYTES, idx_to_va(c));
		(void)host_reserve(park_va(run), RUN_BYTES, &err);
		return -1;
	}
	for (k = 0; k < RUN_PAGES; k++)
		pm.pte[c + k] &= ~(PTE_HK | PTE_HPROT);
	pm.chunk_hmapped[c >> CHUNK_SHIFT] = 0;
	park.vc[c >> CHUNK_SHIFT] = (uint32_t)((run + 1) << 3) |
	    (uint32_t)hprot;
	park.run_vc[run] = (uint32_t)(c >> CHUNK_SHIFT) + 1;
	park.n++;
	park.parks++;
	return 0;
}

/*
 * park_cut: pages [i, j) all lose access in this update.  => how far
 * the update may take them with one mprotect: up to the first whole
 * chunk that may park, or through it when it parked (*parked set).
 */
static size_t
park_cut(size_t i, size_t j, int *parked)
{
	size_t c;

	*parked = 0;
	if (park.base == 0 || park.frozen)
		return j;
	for (c = (i + RUN_PAGES - 1) & ~(RUN_PAGES - 1); c + RUN_PAGES <= j;
	    c += RUN_PAGES) {
		if (run_parkable(c, PTE_HPROTV(pm.pte[c])) == NO_RUN)
			continue;
		if (c > i)
			return c;	/* the part before it first */
		if (park_chunk(c) == 0) {
			*parked = 1;
			return c + RUN_PAGES;
		}
	}
	return j;
}

/* park_forget: chunk c is no longer parked */
static void
park_forget(size_t c, uint64_t run)
{
	park.vc[c] = 0;
	park.run_vc[run] = 0;
	park.n--;
}

/*
 * park_moveback: chunk c moves back from the park region; the PTEs say
 * the host maps each page's old frame with the parked protection again
 * (or nothing, if the host would not move it: the pages map afresh).
 * pm_lock held.
 */
static void
park_moveback(size_t c)
{
	uint32_t v = park.vc[c];
	uint64_t run = PARK_RUN(v), pfn0 = run << CHUNK_SHIFT;
	size_t i0 = c << CHUNK_SHIFT, k;
	int err, moved;

	park.unparks++;
	moved = host_move(park_va(run), RUN_BYTES, idx_to_va(i0)) == 0;
	(void)host_reserve(park_va(run), RUN_BYTES, &err);
	park_forget(c, run);
	if (!moved)
		return;
	for (k = 0; k < RUN_PAGES; k++) {
		uint64_t p = pm.pte[i0 + k];
		uint64_t hk = PTE_PFN(p) == pfn0 + k ? HK_CUR : HK_STALE;

		pm.pte[i0 + k] = (p & ~(PTE_HK | PTE_HPROT)) |
		    (hk << PTE_HK_SHIFT) |
		    ((uint64_t)PARK_PROT(v) << PTE_HPROT_SHIFT);
	}
	pm.chunk_hmapped[c] = RUN_PAGES;
}

/*
 * park_settle: chunk c is parked and the update reaches it.  It stays
 * parked while every page still maps its frame with no access; when
 * every page is removed its mapping is kept as a warm run (or dropped);
 * otherwise it moves back, and the update then does what each page
 * needs.  => 1: the chunk is settled, skip it; 0: it moved back.
 * pm_lock held.
 */
static int
park_settle(size_t c)
{
	uint32_t v = park.vc[c];
	uint64_t run = PARK_RUN(v), pfn0 = run << CHUNK_SHIFT;
	size_t i0 = c << CHUNK_SHIFT, k;
	int stay = 1, gone = 1, err;

	for (k = 0; k < RUN_PAGES; k++) {
		uint64_t p = pm.pte[i0 + k];

		if ((p & PTE_V) == 0) {
			stay = 0;
			continue;
		}
		gone = 0;
		if (PTE_PFN(p) != pfn0 + k || pte_eprot(p) != VM_PROT_NONE)
			stay = 0;
	}
	if (stay)
		return 1;
	if (gone) {
		/* the frames' mapping stays where it is, as a warm run */
		if (warm.max == 0 || (PARK_PROT(v) != (VM_PROT_READ |
		    VM_PROT_WRITE) && host_protect(park_va(run), RUN_BYTES,
		    VM_PROT_READ | VM_PROT_WRITE) != 0) || warm_keep(run) != 0)
			(void)host_reserve(park_va(run), RUN_BYTES, &err);
		else
			park.kept++;
		for (k = 0; k < RUN_PAGES; k++)
			pm.pte[i0 + k] = 0;
		park_forget(c, run);
		return 1;
	}
	park_moveback(c);
	return 0;
}

/*
 * park_unpark_all: move every parked chunk back (fork); the update that
 * follows takes their access away page by page.  pm_lock held.
 */
static void
park_unpark_all(void)
{
	uint64_t run;

	for (run = 0; run < park.nruns && park.n > 0; run++) {
		size_t c;

		if (park.run_vc[run] == 0)
			continue;
		c = park.run_vc[run] - 1;
		park_moveback(c);
		dq_add(c << CHUNK_SHIFT, (c + 1) << CHUNK_SHIFT);
	}
}

/*
 * warm_cut: an update maps pages [i, j) to frames from pfn on: end the
 * run where a whole warm run begins (it comes in by itself), or at the
 * end of the warm run it starts with.  => the new j.
 */
static size_t
warm_cut(size_t i, uint64_t pfn, size_t j)
{
	size_t k;

	if (warm.n == 0 || ((i - pfn) & (RUN_PAGES - 1)) != 0)
		return j;
	if ((i & (RUN_PAGES - 1)) == 0 && j - i >= RUN_PAGES &&
	    warm_slot(pfn) != 0)
		return i + RUN_PAGES;
	for (k = (i + RUN_PAGES) & ~(RUN_PAGES - 1); k + RUN_PAGES <= j;
	    k += RUN_PAGES)
		if (warm_slot(pfn + (k - i)) != 0)
			return k;
	return j;
}

/*
 * warm_unpark: map pages [i, j) (frames from pfn on, host protection ep)
 * by moving a warm run in, when they are one whole warm run.  Deferred
 * zeroing is done through the slot, where the pages are mapped already.
 * => 0 done; else nothing was done (the caller maps them).
 */
static int
warm_unpark(size_t i, uint64_t pfn, size_t j, int ep)
{
	int slot, err;
	size_t k;
	vaddr_t sva;

	if (j - i != RUN_PAGES || (i & (RUN_PAGES - 1)) != 0 ||
	    (pfn & (RUN_PAGES - 1)) != 0 || warm_slot(pfn) == 0)
		return -1;
	slot = (int)warm_slot(pfn) - 1;
	if (warm.pin[slot] > 0 || warm.dead[slot])
		return -1;	/* I/O through it in flight */
	sva = warm_va(slot);
	for (k = 0; k < RUN_PAGES; k++) {
		struct vm_page *pg = pfn_to_page(pfn + k);

		if (pg->mdflags & PMD_NEEDZERO) {
			memset((void *)(sva + ptoa(k)), 0, PAGE_SIZE);
			pg->mdflags &= (uint8_t)~PMD_NEEDZERO;
		}
	}
	if (host_move(sva, RUN_BYTES, idx_to_va(i)) != 0) {
		warm_drop(slot);
		return -1;
	}
	(void)host_reserve(sva, RUN_BYTES, &err);
	__atomic_store_n(&warm.slot_of[pfn >> CHUNK_SHIFT], 0,
	    __ATOMIC_RELAXED);
	warm.run[slot] = NO_RUN;
	warm.n--;
	warm.hits++;
	if (ep != (VM_PROT_READ | VM_PROT_WRITE))
		(void)host_protect(idx_to_va(i), RUN_BYTES, ep);
	return 0;
}

int
pmap_warm_count(void)
{
	return __atomic_load_n(&warm.n, __ATOMIC_RELAXED);
}

int
pmap_warm_runs(size_t *frames, int max)
{
	int slot[WARM_MAX], i, k, n = 0;

	if (pmap_warm_count() == 0)	/* no lock for the common answer */
		return 0;
	PM_LOCK();
	/* the slots in use, newest first */
	for (i = 0; i < WARM_MAX; i++) {
		if (warm.run[i] == NO_RUN || warm.pin[i] > 0 || warm.dead[i])
			continue;
		for (k = n++; k > 0 && warm.when[slot[k - 1]] < warm.when[i];
		    k--)
			slot[k] = slot[k - 1];
		slot[k] = i;
	}
	if (n > max)
		n = max;
	for (i = 0; i < n; i++)
		frames[i] = (size_t)warm.run[slot[i]] << CHUNK_SHIFT;
	PM_UNLOCK();
	return n;
}

void
pmap_warm_stats(struct pmap_warm_stats *ws)
{
	if (!pm.booted) {
		memset(ws, 0, sizeof(*ws));
		return;
	}
	PM_LOCK();
	ws->nwarm = warm.n;
	ws->parks = warm.parks;
	ws->hits = warm.hits;
	ws->drops = warm.drops;
	ws->nparked = park.n;
	ws->chunk_parks = park.parks;
	ws->chunk_unparks = park.unparks;
	ws->chunk_kept = park.kept;
	ws->io_pinned = warm.io_pinned;
	PM_UNLOCK();
}

vaddr_t
pmap_io_pin(paddr_t pa)
{
	uint64_t pfn = pa >> PAGE_SHIFT;
	vaddr_t va = 0;
	unsigned slot;

	if (pmap_warm_count() == 0)
		return 0;
	PM_LOCK();
	slot = warm_slot(pfn);
	if (slot != 0 && !warm.dead[slot - 1]) {
		warm.pin[slot - 1]++;
		warm.io_pinned++;
		va = warm_va((int)slot - 1);
	}
	PM_UNLOCK();
	return va;
}

void
pmap_io_page(paddr_t pa, int overwrite)
{
	struct vm_page *pg = PHYS_TO_VM_PAGE(pa);

	if ((__atomic_load_n(&pg->mdflags, __ATOMIC_RELAXED) &
	    PMD_NEEDZERO) == 0)
		return;
	PM_LOCK();
	if (pg->mdflags & PMD_NEEDZERO) {
		if (overwrite)
			pg->mdflags &= (uint8_t)~PMD_NEEDZERO;
		else
			zero_now_locked(pg);
	}
	PM_UNLOCK();
}

void
pmap_io_unpin(paddr_t pa)
{
	unsigned slot;

	PM_LOCK();
	slot = warm_slot(pa >> PAGE_SHIFT);
	if (KVA_UNLIKELY(slot == 0 || warm.pin[slot - 1] == 0))
		panic("pmap_io_unpin(%#jx): not pinned", (uintmax_t)pa);
	if (--warm.pin[slot - 1] == 0 && warm.dead[slot - 1])
		warm_drop((int)slot - 1);
	PM_UNLOCK();
}

int
pmap_chunk_pages(vaddr_t va, struct vm_page **pgs)
{
	size_t i0, k;
	int n = 0;

	if (!va_in_kva(va))
		return 0;
	i0 = va_to_idx(va) & ~(RUN_PAGES - 1);
	PM_LOCK();
	for (k = 0; k < RUN_PAGES && i0 + k < pm.kva_npages; k++) {
		uint64_t p = pm.pte[i0 + k];

		if ((p & (PTE_V | PTE_W)) == PTE_V)
			pgs[n++] = pfn_to_page(PTE_PFN(p));
	}
	PM_UNLOCK();
	return n;
}

/*
 * Bootstrap.
 */
void *
pmap_bootstrap_alloc(size_t size)
{
	char *p;

	size = (size + 63) & ~(size_t)63;
	mutex_enter(&pm.boot_lock);
	if (pm.boot_cur == NULL ||
	    size > (size_t)((char *)pm.boot_end - pm.boot_cur)) {
		mutex_exit(&pm.boot_lock);
		return NULL;
	}
	p = pm.boot_cur;
	pm.boot_cur += size;
	mutex_exit(&pm.boot_lock);
	return p;
}

int
pmap_bootstrap(const struct kva_params *p, struct pmap_bootinfo *bi)
{
	size_t kva_size, cap, boot_size, pte_bytes, pg_bytes, pools;
	uintptr_t base;
	int error;
	long maxmap, inuse;

	KASSERT(!pm.booted);
	memset(&pm, 0, sizeof(pm));
	pm.memfd = pm.memfd_hi = -1;
	pm.fd_split = NO_SPLIT;
	mutex_init(&pm.lock);
	mutex_init(&pm.boot_lock);

	kva_size = (p->kva + KVA_ALIGN - 1) & ~(KVA_ALIGN - 1);
	cap = round_page(p->physmem);
	if (kva_size < ((size_t)64 << 20) || cap < ((size_t)1 << 20))
		return -EINVAL;

	pte_bytes = (kva_size >> PAGE_SHIFT) * sizeof(uint64_t);
	pte_bytes += (kva_size >> PAGE_SHIFT >> CHUNK_SHIFT) * sizeof(uint16_t) +
	    64;		/* the chunk counts */
	/* warm.slot_of, park.run_vc, park.vc */
	pte_bytes += ((cap >> PAGE_SHIFT >> CHUNK_SHIFT) + 2) *
	    (1 + sizeof(uint32_t)) + 64;
	pte_bytes += ((kva_size >> PAGE_SHIFT >> CHUNK_SHIFT) + 1) *
	    sizeof(uint32_t) + 64;
	pg_bytes = (cap >> PAGE_SHIFT) * sizeof(struct vm_page);
	/* pools: map entries, pv entries, objects, slot tables, the page
	 * hash; 8 MiB plus 1 MiB per GiB of kernel VA holds a million
	 * entries for the default 64 GiB, and costs only what is touched */
	pools = ((size_t)8 << 20) + kva_size / 1024 +
	    (cap >> PAGE_SHIFT) * sizeof(void *);
	boot_size = (pte_bytes + pg_bytes + pools + KVA_ALIGN - 1) &
	    ~(KVA_ALIGN - 1);
	if (boot_size >= kva_size / 2)
		return -EINVAL;		/* kva too small for this physmem */

	error = host_memfd("kva-physmem");
	if (error < 0)
		return error;
	pm.memfd = pm.memfd_hi = error;

	/* the kernel VA, aligned to 2 MiB */
	base = reserve_aligned(kva_size, KVA_ALIGN, &error);
	if (base == 0)
		goto fail_fd;

	/* the direct map */
	pm.dmap_base = host_reserve(0, cap, &error);
	if (pm.dmap_base == 0)
		goto fail_kva;

	/* the bootstrap region */
	error = host_map_anon_rw(base, boot_size);
	if (error != 0)
		goto fail_dmap;

	pm.kva_base = base;
	pm.kva_end = base + kva_size;
	pm.kva_npages = kva_size >> PAGE_SHIFT;
	pm.boot_end = base + boot_size;
	pm.boot_cur = (char *)base;
	pm.phys_cap = cap;
	pm.phys_size = 0;
	pm.pte = pmap_bootstrap_alloc(pte_bytes);
	pm.chunk_hmapped = pmap_bootstrap_alloc((pm.kva_npages >> CHUNK_SHIFT) *
	    sizeof(uint16_t) + sizeof(uint16_t));
	bi->pages = pmap_bootstrap_alloc(pg_bytes);
	KASSERT(pm.pte != NULL && bi->pages != NULL);
	warm_init(p->warm);
	kva_pool_init(&pm.pv_pool, sizeof(struct pv_entry), "pvpl");

	/*
	 * VMAs: the bootstrap region, the rest of the kernel VA, the direct
	 * map's mapped part and reservation.  The limit leaves the rest of
	 * the process its own mappings and headroom.
	 */
	pm.vma_base = 4;
	maxmap = host_max_map_count();
	inuse = host_count_maps();
	if (inuse < 0)
		inuse = 0;
	pm.vma_limit = maxmap - inuse - (maxmap / 8 > 1024 ? maxmap / 8 : 1024);
	if (p->max_vmas > 0 && p->max_vmas < pm.vma_limit)
		pm.vma_limit = p->max_vmas;
	if (pm.vma_limit < 64)
		pm.vma_limit = 64;
	uvmexp.hostmaps_limit = pm.vma_limit;
	uvmexp.hostmaps = uvmexp.hostmaps_peak = pm.vma_base;

	kernel_pmap_store.refs = 1;
	pm.booted = 1;

	bi->kva_base = pm.kva_base;
	bi->kva_end = pm.kva_end;
	bi->virtual_avail = pm.boot_end;
	bi->npages_max = cap >> PAGE_SHIFT;
	return 0;

fail_dmap:
	(void)host_unmap(pm.dmap_base, cap);
fail_kva:
	(void)host_unmap(base, kva_size);
fail_fd:
	(void)host_close(pm.memfd);
	pm.memfd = pm.memfd_hi = -1;
	return error;
}

void
pmap_shutdown(void)
{
	if (!pm.booted)
		return;
	if (park.base != 0)
		(void)host_unmap(park.base, park.nruns * RUN_BYTES);
	memset(&warm, 0, sizeof(warm));
	memset(&park, 0, sizeof(park));
	(void)host_unmap(pm.kva_base, pm.kva_end - pm.kva_base);
	(void)host_unmap(pm.dmap_base, pm.phys_cap);
	if (pm.memfd_hi != pm.memfd)
		(void)host_close(pm.memfd_hi);
	(void)host_close(pm.memfd);
	mutex_destroy(&pm.lock);
	mutex_destroy(&pm.boot_lock);
	memset(&pm, 0, sizeof(pm));
	pm.memfd = pm.memfd_hi = -1;
	pm.fd_split = NO_SPLIT;
}

/*
 * pmap_physmem_grow: see pmap_md.h.  The caller holds the free page lock.
 */
int
pmap_physmem_grow(size_t *first, size_t *n)
{
	size_t cur = pm.phys_size, seg;
	int error;

	if (cur >= pm.phys_cap)
		return -ENOMEM;
	/* segments double from SEG_FIRST up to SEG_SIZE (4, 8, ..., 64, 64
	 * MiB), so that a small process loads (and touches the vm_pages of)
	 * little more than it uses; every boundary stays 4 MiB aligned */
	seg = cur < SEG_FIRST ? SEG_FIRST : cur < SEG_SIZE ? cur : SEG_SIZE;
	if (seg > pm.phys_cap - cur)
		seg = pm.phys_cap - cur;
	/* new frames are past any split: on the high memfd */
	error = host_ftruncate(pm.memfd_hi, (off_t)(cur + seg));
	if (error != 0)
		return error;
	error = host_map_file(pm.dmap_base + cur, seg, VM_PROT_DEFAULT,
	    pm.memfd_hi, (off_t)cur, 0);
	if (error != 0) {
		(void)host_ftruncate(pm.memfd_hi, (off_t)cur);
		return error;
	}
	pm.phys_size = cur + seg;
	*first = cur >> PAGE_SHIFT;
	*n = seg >> PAGE_SHIFT;
	return 0;
}

static void zero_pending(struct vm_page *pg);

/* pmap_direct_map: the direct-map address of pa, with any deferred
 * zeroing of its page done first.  The caller may keep the address, so
 * the page's zeroing is never deferred again while it is PMD_DMAP. */
vaddr_t
pmap_direct_map(paddr_t pa)
{
	struct vm_page *pg = PHYS_TO_VM_PAGE(pa);

	if (KVA_UNLIKELY(warm_slot(pa >> PAGE_SHIFT) != 0)) {
		PM_LOCK();
		warm_drop_frames(pa >> PAGE_SHIFT, 1);
		PM_UNLOCK();
	}

	if (__atomic_load_n(&pg->mdflags, __ATOMIC_RELAXED) & PMD_NEEDZERO)
		zero_pending(pg);
	__atomic_fetch_or(&pg->mdflags, PMD_DMAP, __ATOMIC_RELAXED);
	return pm.dmap_base + pa;
}

/*
 * For the background zeroer (pmap_async.c; section 9).
 */
int
pmap_physmem_fd(paddr_t pa, size_t *span)
{
	uint64_t pfn = pa >> PAGE_SHIFT;

	if (pm.fd_split == NO_SPLIT || fd_side(pfn))
		*span = SIZE_MAX;
	else
		*span = ptoa(pm.fd_split - pfn);
	return fd_of(pfn);
}

uintptr_t
pmap_dmap_va(paddr_t pa)
{
	return pm.dmap_base + pa;
}

int
pmap_zero_prepare(paddr_t pa, size_t len, int punch)
{
	size_t first = (size_t)(pa >> PAGE_SHIFT), n = len >> PAGE_SHIFT;
	int indmap = 0;

	PM_LOCK();
	if (punch)
		warm_drop_frames(first, n);
	for (size_t i = 0; i < n; i++) {
		struct vm_page *pg = pfn_to_page(first + i);

		if (KVA_UNLIKELY(pg->pv.va != 0))
			panic("pmap_zero_prepare(%#jx, %zu): free page %p (pa "
			    "%#jx) mapped at %#jx", (uintmax_t)pa, len, pg,
			    (uintmax_t)pg->phys_addr, (uintmax_t)pg->pv.va);
		indmap |= (pg->mdflags & PMD_DMAP) != 0;
		pg->mdflags &= (uint8_t)~(PMD_DMAP | PMD_NEEDZERO);
	}
	PM_UNLOCK();
	return indmap;
}

void
pmap_set_vma_limit(long limit)
{
	PM_LOCK();
	pm.vma_limit = limit;
	uvmexp.hostmaps_limit = limit;
	PM_UNLOCK();
}

long
pmap_vma_count(void)
{
	long n;

	PM_LOCK();
	n = vma_count_locked();
	PM_UNLOCK();
	return n;
}

unsigned
pmap_chunk_mapped(vaddr_t va)
{
	if (!va_in_kva(va))
		return 0;
	return __atomic_load_n(&pm.chunk_hmapped[va_to_idx(va) >> CHUNK_SHIFT],
	    __ATOMIC_RELAXED);
}

bool
pmap_page_is_mapped(struct vm_page *pg)
{
	bool mapped;

	PM_LOCK();
	mapped = pg->pv.va != 0;
	PM_UNLOCK();
	return mapped;
}

pmap_t
pmap_kernel(void)
{
	return &kernel_pmap_store;
}

void
pmap_reference(pmap_t pmap)
{
	__atomic_fetch_add(&pmap->refs, 1, __ATOMIC_RELAXED);
}

void
pmap_destroy(pmap_t pmap)
{
	/* the kernel pmap lives as long as kva */
	__atomic_fetch_sub(&pmap->refs, 1, __ATOMIC_RELAXED);
}

/*
 * pmap_enter: map pa at va with prot.
 * => flags: PMAP_WIRED, PMAP_CANFAIL, and the access type (VM_PROT_*)
 *    which sets the referenced/modified bits.
 * => returns 0, or ENOMEM (only with PMAP_CANFAIL) when the host mapping
 *    budget or the pv pool is exhausted; nothing is changed then.
 * => takes effect on the host at pmap_update.
 */
static int
enter_locked(pmap_t pmap, vaddr_t va, paddr_t pa, vm_prot_t prot,
    unsigned flags)
{
	struct vm_page *pg = PHYS_TO_VM_PAGE(pa);
	uint64_t pfn = pa >> PAGE_SHIFT, old, nv;
	size_t idx;
	int access = (int)(flags & PMAP_PROT_MASK) & VM_PROT_ALL;

	if (KVA_UNLIKELY(!va_in_kva(va) || (va & PAGE_MASK) != 0))
		panic("pmap_enter(%p, %#lx, %#lx, %d, %#x): bad va",
		    (void *)pmap, (unsigned long)va, (unsigned long)pa, prot,
		    flags);
	idx = va_to_idx(va);
	old = pm.pte[idx];
	if (access & VM_PROT_WRITE)
		pg->mdflags |= PMD_REF | PMD_MOD;
	else if (access)
		pg->mdflags |= PMD_REF;
	/* pageable mappings start under ref/mod emulation (section 7) */
	if ((flags & PMAP_WIRED) == 0 && (pg->mdflags & PMD_EMUL) == 0 &&
	    pg->pv.va == 0)
		pg->mdflags |= PMD_EMUL;
	nv = (pfn << PTE_PFN_SHIFT) | PTE_V | ((uint64_t)prot & PTE_PROT) |
	    ((flags & PMAP_WIRED) ? PTE_W : 0);
	if ((old & PTE_V) && PTE_PFN(old) == pfn) {
		/* same page: new protection or wiring */
		nv |= old & (PTE_HK | PTE_HPROT);
		pte_write(idx, nv);
	} else {
		uint64_t hk = PTE_HKIND(old) == HK_NONE ? HK_NONE : HK_STALE;

		if (flags & PMAP_CANFAIL) {
			/* would this mapping take the VMA count over? */
			uint64_t save = pm.pte[idx];
			long nb = pm.nbound, grow;

			pte_write(idx, nv);
			grow = pm.nbound - nb;
			pm.pte[idx] = save;
			pm.nbound = nb;
			if (grow > 0 &&
			    vma_count_locked() + grow > pm.vma_limit) {
				return ENOMEM;
			}
		}
		if (pv_add(pg, va) != 0) {
			if (flags & PMAP_CANFAIL)
				return ENOMEM;
			panic("pmap_enter(%#lx, %#lx): out of pv entries",
			    (unsigned long)va, (unsigned long)pa);
		}
		if (old & PTE_V)
			pv_remove(pfn_to_page(PTE_PFN(old)), va);
		nv |= hk << PTE_HK_SHIFT;
		pte_write(idx, nv);
		if (pg->mdflags & PMD_DMAP)
			dropq_add(pg);
	}
	dq_add(idx, idx + 1);
	return 0;
}

int
pmap_enter(pmap_t pmap, vaddr_t va, paddr_t pa, vm_prot_t prot,
    unsigned flags)
{
	int rv;
	UVMHIST_FUNC("pmap_enter");
	UVMHIST_LOG(pmaphist, "(va=%#lx, pa=%#lx, prot=%#x, flags=%#x)", va, pa,
	    prot, flags);

	PM_LOCK();
	rv = enter_locked(pmap, va, pa, prot, flags);
	PM_UNLOCK();
	return rv;
}

int
pmap_enter_pages(pmap_t pmap, vaddr_t va, struct vm_page **pgs, int n,
    vm_prot_t prot, unsigned flags, int center)
{
	int rv = 0;

	PM_LOCK();
	for (int i = 0; i < n; i++)
		if (pgs[i] != NULL && enter_locked(pmap, va + ptoa(i),
		    VM_PAGE_TO_PHYS(pgs[i]), prot, flags) != 0 && i == center)
			rv = ENOMEM;
	PM_UNLOCK();
	return rv;
}

void
pmap_kenter_pa(vaddr_t va, paddr_t pa, vm_prot_t prot, unsigned flags)
{
	UVMHIST_FUNC("pmap_kenter_pa");
	UVMHIST_LOG(pmaphist, "(va=%#lx, pa=%#lx, prot=%#x)", va, pa, prot, 0);
	(void)pmap_enter(pmap_kernel(), va, pa, prot,
	    (flags & ~PMAP_CANFAIL) | PMAP_WIRED);
}

/* remove the mappings of [s, e) (indices); pm_lock held */
static void
remove_range_locked(size_t s, size_t e)
{
	size_t idx, lo = e, hi = s;

	for (idx = s; idx < e; idx++) {
		uint64_t p = pm.pte[idx];

		if ((p & (PTE_V | PTE_HK)) == 0)
			continue;
		if (p & PTE_V) {
			/* the frame and wiring stay, for the update to see
			 * what the host maps (section 10) */
			pv_remove(pfn_to_page(PTE_PFN(p)), idx_to_va(idx));
			pte_write(idx, p & ~PTE_V);
		}
		if (idx < lo)
			lo = idx;
		hi = idx + 1;
	}
	if (lo < hi)
		dq_add(lo, hi);
}

static void
check_range(const char *fn, vaddr_t sva, vaddr_t eva)
{
	if (KVA_UNLIKELY(sva > eva || (sva & PAGE_MASK) || (eva & PAGE_MASK) ||
	    (sva != eva && (!va_in_kva(sva) || eva > pm.kva_end))))
		panic("%s(%#lx, %#lx): bad range", fn, (unsigned long)sva,
		    (unsigned long)eva);
}

void
pmap_remove(pmap_t pmap, vaddr_t sva, vaddr_t eva)
{
	UVMHIST_FUNC("pmap_remove");
	UVMHIST_LOG(pmaphist, "(sva=%#lx, eva=%#lx)", sva, eva, 0, 0);
	(void)pmap;
	check_range("pmap_remove", sva, eva);
	if (sva == eva)
		return;
	PM_LOCK();
	remove_range_locked(va_to_idx(sva), va_to_idx(eva));
	PM_UNLOCK();
}

void
pmap_kremove(vaddr_t va, vsize_t size)
{
	pmap_remove(pmap_kernel(), va, va + size);
}

/*
 * pmap_protect: set the protection of the valid mappings in [sva, eva);
 * VM_PROT_NONE (no read) removes them.
 */
void
pmap_protect(pmap_t pmap, vaddr_t sva, vaddr_t eva, vm_prot_t prot)
{
	size_t idx, s, e;
	UVMHIST_FUNC("pmap_protect");
	UVMHIST_LOG(pmaphist, "(sva=%#lx, eva=%#lx, prot=%#x)", sva, eva, prot, 0);

	check_range("pmap_protect", sva, eva);
	if ((prot & VM_PROT_READ) == 0) {
		pmap_remove(pmap, sva, eva);
		return;
	}
	s = va_to_idx(sva);
	e = va_to_idx(eva);
	PM_LOCK();
	for (idx = s; idx < e; idx++) {
		uint64_t p = pm.pte[idx];

		if ((p & PTE_V) && (p & PTE_PROT) != (uint64_t)prot)
			pte_write(idx, (p & ~PTE_PROT) | (uint64_t)prot);
	}
	if (s < e)
		dq_add(s, e);
	PM_UNLOCK();
}

/*
 * pmap_kprotect: see pmap_md.h.  Unlike pmap_protect, VM_PROT_NONE keeps
 * the translations: the host mapping stays and only its protection
 * changes, so that giving access back later is one mprotect, and the
 * host keeps its page tables for the range.
 */
void
pmap_kprotect(vaddr_t sva, vaddr_t eva, vm_prot_t prot)
{
	size_t idx, s, e;
	UVMHIST_FUNC("pmap_kprotect");
	UVMHIST_LOG(pmaphist, "(sva=%#lx, eva=%#lx, prot=%#x)", sva, eva, prot, 0);

	check_range("pmap_kprotect", sva, eva);
	s = va_to_idx(sva);
	e = va_to_idx(eva);
	PM_LOCK();
	for (idx = s; idx < e; idx++) {
		uint64_t p = pm.pte[idx];

		if ((p & PTE_V) == 0 || (p & PTE_W) == 0)
			panic("pmap_kprotect(%#lx, %#lx, %#x): page %#lx is not "
			    "a wired mapping", (unsigned long)sva,
			    (unsigned long)eva, prot,
			    (unsigned long)idx_to_va(idx));
		if ((p & PTE_PROT) != (uint64_t)prot)
			pte_write(idx, (p & ~PTE_PROT) | (uint64_t)prot);
	}
	if (s < e)
		dq_add(s, e);
	PM_UNLOCK();
}

/*
 * pmap_kmove: see pmap_md.h.  The PTEs move at once; the host follows
 * with one mremap per run of the source that one host mapping holds
 * (host_move: the host's page tables go along, so the pages do not
 * fault again at the new VA), and the source gets its reservation back
 * in the update.  A run the host would not move is mapped afresh at the
 * destination by the update instead, as pmap_enter would.
 */
int
pmap_kmove(vaddr_t sva, vaddr_t eva, vaddr_t dva)
{
	size_t s, e, d, n, i, j;
	long nb;
	int fast = 1, rv, pending;
	UVMHIST_FUNC("pmap_kmove");
	UVMHIST_LOG(pmaphist, "(sva=%#lx, eva=%#lx, dva=%#lx)", sva, eva, dva, 0);

	check_range("pmap_kmove", sva, eva);
	check_range("pmap_kmove", dva, dva + (eva - sva));
	if (KVA_UNLIKELY(dva < eva && sva < dva + (eva - sva)))
		panic("pmap_kmove(%#lx, %#lx, %#lx): the ranges overlap",
		    (unsigned long)sva, (unsigned long)eva, (unsigned long)dva);
	s = va_to_idx(sva);
	e = va_to_idx(eva);
	d = va_to_idx(dva);
	n = e - s;
	PM_LOCK();
	/* the host state of both ranges must be what the PTEs say; an error
	 * of this update is another range's, for the next pmap_sync */
	pending = pmap_sync_locked();
	for (i = 0; i < n; i++) {
		if ((pm.pte[s + i] & (PTE_V | PTE_W)) != (PTE_V | PTE_W))
			panic("pmap_kmove(%#lx, %#lx, %#lx): page %#lx is not a "
			    "wired mapping", (unsigned long)sva,
			    (unsigned long)eva, (unsigned long)dva,
			    (unsigned long)idx_to_va(s + i));
		if (pm.pte[d + i] & (PTE_V | PTE_HK))
			panic("pmap_kmove(%#lx, %#lx, %#lx): %#lx is mapped",
			    (unsigned long)sva, (unsigned long)eva,
			    (unsigned long)dva, (unsigned long)idx_to_va(d + i));
	}
	/* the PTEs move; undone if that takes the VMA count over */
	nb = pm.nbound;
	for (i = 0; i < n; i++) {
		uint64_t p = pm.pte[s + i];

		pte_write(d + i, p & ~(PTE_HK | PTE_HPROT));
		pte_write(s + i, p & (PTE_HK | PTE_HPROT));
	}
	if (pm.nbound > nb && vma_count_locked() > pm.vma_limit) {
		for (i = 0; i < n; i++) {
			pte_write(s + i, pm.pte[d + i] | (pm.pte[s + i] &
			    (PTE_HK | PTE_HPROT)));
			pte_write(d + i, 0);
		}
		pm.sync_error = pending;
		PM_UNLOCK();
		return ENOMEM;
	}
	for (i = 0; i < n; i++)
		pv_move(pfn_to_page(PTE_PFN(pm.pte[d + i])), idx_to_va(s + i),
		    idx_to_va(d + i));
	/* the host: a run is what one host mapping holds, now current */
	for (i = 0; i < n && fast; i = j) {
		uint64_t p = pm.pte[d + i], pfn = PTE_PFN(p);
		uint64_t hs = pm.pte[s + i] & (PTE_HK | PTE_HPROT);
		int ep = pte_eprot(p);

		for (j = i + 1; j < n; j++) {
			uint64_t q = pm.pte[d + j];

			if (PTE_PFN(q) != pfn + (j - i) ||
			    fd_side(PTE_PFN(q)) != fd_side(pfn) ||
			    pte_eprot(q) != ep ||
			    (pm.pte[s + j] & (PTE_HK | PTE_HPROT)) != hs)
				break;
		}
		if (PTE_HKIND(hs) != HK_CUR || PTE_HPROTV(hs) != ep)
			continue;	/* the update maps it */
		if (host_move(idx_to_va(s + i), (j - i) << PAGE_SHIFT,
		    idx_to_va(d + i)) != 0) {
			fast = 0;	/* the update maps the rest */
			break;
		}
		for (; i < j; i++) {
			pm.pte[d + i] |= hs;
			pm.chunk_hmapped[(d + i) >> CHUNK_SHIFT]++;
		}
	}
	dq_add(s, e);
	dq_add(d, d + n);
	rv = pmap_sync_locked();
	pm.sync_error = pending;
	PM_UNLOCK();
	return rv;
}

void
pmap_unwire(pmap_t pmap, vaddr_t va)
{
	size_t idx;

	(void)pmap;
	check_range("pmap_unwire", va, va + PAGE_SIZE);
	idx = va_to_idx(va);
	PM_LOCK();
	if (pm.pte[idx] & PTE_V) {
		pte_write(idx, pm.pte[idx] & ~PTE_W);
		dq_add(idx, idx + 1);
	}
	PM_UNLOCK();
}

/*
 * pmap_page_protect: lower the protection of every mapping of pg.
 * => VM_PROT_NONE removes them all; a protection without write makes
 *    them read-only; one with write changes nothing.
 */
void
pmap_page_protect(struct vm_page *pg, vm_prot_t prot)
{
	vaddr_t va;
	struct pv_entry *pv;

	if (prot & VM_PROT_WRITE)
		return;
	PM_LOCK();
	if ((prot & VM_PROT_READ) == 0) {
		while ((va = pg->pv.va) != 0)
			remove_range_locked(va_to_idx(va), va_to_idx(va) + 1);
	} else {
		PV_FOREACH(pg, va, pv) {
			size_t idx = va_to_idx(va);
			uint64_t p = pm.pte[idx];

			pte_write(idx, (p & ~PTE_PROT) |
			    ((p & PTE_PROT) & (uint64_t)prot));
			dq_add(idx, idx + 1);
		}
	}
	PM_UNLOCK();
}

bool
pmap_extract(pmap_t pmap, vaddr_t va, paddr_t *pap)
{
	uint64_t p;

	(void)pmap;
	if (va >= pm.dmap_base && va < pm.dmap_base + pm.phys_size) {
		if (pap != NULL)
			*pap = va - pm.dmap_base;
		return true;
	}
	if (!va_in_kva(va))
		return false;
	p = __atomic_load_n(&pm.pte[va_to_idx(va)], __ATOMIC_RELAXED);
	if ((p & PTE_V) == 0)
		return false;
	if (pap != NULL)
		*pap = (PTE_PFN(p) << PAGE_SHIFT) | (va & PAGE_MASK);
	return true;
}

/*
 * Referenced and modified bits (section 7).
 */
bool
pmap_is_modified(struct vm_page *pg)
{
	return (__atomic_load_n(&pg->mdflags, __ATOMIC_RELAXED) & PMD_MOD) != 0;
}

bool
pmap_is_referenced(struct vm_page *pg)
{
	return (__atomic_load_n(&pg->mdflags, __ATOMIC_RELAXED) & PMD_REF) != 0;
}

/* change pg's mdflags, keeping the VMA count and the host in step;
 * pm_lock held */
static void
md_change_locked(struct vm_page *pg, uint8_t set, uint8_t clear)
{
	struct pv_entry *pv;
	vaddr_t va;

	PV_FOREACH(pg, va, pv) {
		size_t idx = va_to_idx(va);
		pm.nbound -= pte_bound(idx) + pte_bound(idx + 1);
	}
	pg->mdflags = (uint8_t)((pg->mdflags | set) & ~clear);
	PV_FOREACH(pg, va, pv) {
		size_t idx = va_to_idx(va);
		pm.nbound += pte_bound(idx) + pte_bound(idx + 1);
		dq_add(idx, idx + 1);
	}
}

static bool
md_change(struct vm_page *pg, uint8_t set, uint8_t clear, uint8_t test)
{
	bool was;

	PM_LOCK();
	was = (pg->mdflags & test) != 0;
	md_change_locked(pg, set, clear);
	PM_UNLOCK();
	return was;
}

bool
pmap_clear_modify(struct vm_page *pg)
{
	return md_change(pg, PMD_EMUL, PMD_MOD, PMD_MOD);
}

bool
pmap_clear_reference(struct vm_page *pg)
{
	return md_change(pg, PMD_EMUL, PMD_REF, PMD_REF);
}

void
pmap_page_freed(struct vm_page *pg)
{
	if (KVA_UNLIKELY(kva_debug >= 1 &&
	    __atomic_load_n(&pg->pv.va, __ATOMIC_RELAXED) != 0))
		panic("pmap_page_freed(%p): pa %#lx is still mapped at %#lx",
		    (void *)pg, (unsigned long)pg->phys_addr,
		    (unsigned long)pg->pv.va);
	__atomic_fetch_and(&pg->mdflags,
	    (uint8_t)~(PMD_REF | PMD_MOD | PMD_EMUL), __ATOMIC_RELAXED);
}

/* pmap_emulate_access: the fault handler saw an access to pg: set the
 * bits, and give the mappings back the access they may have */
void
pmap_emulate_access(struct vm_page *pg, vm_prot_t access)
{
	uint8_t set = (access & VM_PROT_WRITE) ? PMD_REF | PMD_MOD : PMD_REF;
	vaddr_t va;

	PM_LOCK();
	md_change_locked(pg, set, 0);
	/* in a parked chunk the reference is seen per chunk (section 11):
	 * every page of it is referenced, and it moves back whole */
	va = pg->pv.va;
	if (park.n > 0 && va != 0 && va_in_kva(va) &&
	    park.vc[va_to_idx(va) >> CHUNK_SHIFT] != 0) {
		size_t i0 = va_to_idx(va) & ~(RUN_PAGES - 1), k;

		for (k = 0; k < RUN_PAGES; k++) {
			uint64_t p = pm.pte[i0 + k];
			struct vm_page *pg2;

			if ((p & PTE_V) == 0 || (p & PTE_W))
				continue;
			pg2 = pfn_to_page(PTE_PFN(p));
			if ((pg2->mdflags & PMD_REF) == 0)
				md_change_locked(pg2, PMD_REF, 0);
		}
	}
	PM_UNLOCK();
}

/*
 * Zeroing and copying, through the direct map (section 6).
 */
static void
note_dmap_use(struct vm_page *pg)
{
	PM_LOCK();
	if (pg->pv.va != 0)
		dropq_add(pg);
	else
		pg->mdflags |= PMD_DMAP;
	PM_UNLOCK();
}

/*
 * pmap_zero_page: zero the page at pa.
 * A page mapped nowhere, whose direct-map address nobody holds (not
 * PMD_DMAP: no pool page, no pmap_direct_map caller), is not zeroed
 * now: it is marked PMD_NEEDZERO, and
 * the update that first maps it zeroes it, a run at a time, by punching a
 * hole in the memfd (the host then supplies zero pages as the run is
 * populated) instead of writing through the direct map, which would cost
 * a host fault a page and a second mapping to drop.  Every path that
 * reads the page otherwise (pmap_direct_map, pool pages, copies) zeroes it
 * first, so nobody sees the old contents.
 */
void
pmap_zero_page(paddr_t pa)
{
	struct vm_page *pg = PHYS_TO_VM_PAGE(pa);

	PM_LOCK();
	if (pg->pv.va == 0 && (pg->mdflags & PMD_DMAP) == 0) {
		pg->mdflags |= PMD_NEEDZERO;
		PM_UNLOCK();
		return;
	}
	PM_UNLOCK();
	memset((void *)(pm.dmap_base + pa), 0, PAGE_SIZE);
	note_dmap_use(pg);
}

/* zero_now_locked: zero pg through the direct map now (pm_lock held);
 * its direct-map entries go at the next update if it is mapped */
static void
zero_now_locked(struct vm_page *pg)
{
	pg->mdflags &= ~PMD_NEEDZERO;
	memset((void *)(pm.dmap_base + pg->phys_addr), 0, PAGE_SIZE);
	if (pg->pv.va != 0)
		dropq_add(pg);
	else
		pg->mdflags |= PMD_DMAP;
}

/* zero_pending: do a deferred zeroing now */
static void
zero_pending(struct vm_page *pg)
{
	PM_LOCK();
	if (pg->mdflags & PMD_NEEDZERO)
		zero_now_locked(pg);
	PM_UNLOCK();
}

void
pmap_copy_page(paddr_t src, paddr_t dst)
{
	struct vm_page *spg = PHYS_TO_VM_PAGE(src), *dpg = PHYS_TO_VM_PAGE(dst);

	if (spg->mdflags & PMD_NEEDZERO)
		zero_pending(spg);
	__atomic_fetch_and(&dpg->mdflags, (uint8_t)~PMD_NEEDZERO,
	    __ATOMIC_RELAXED);
	memcpy((void *)(pm.dmap_base + dst), (void *)(pm.dmap_base + src),
	    PAGE_SIZE);
	note_dmap_use(spg);
	note_dmap_use(dpg);
}

/* a pool page lives in the direct map only */
vaddr_t
pmap_map_poolpage(paddr_t pa)
{
	return pmap_direct_map(pa);
}

paddr_t
pmap_unmap_poolpage(vaddr_t va)
{
	return va - pm.dmap_base;
}

/*
 * Update (section 3).
 */
enum { ACT_NOP, ACT_MAP, ACT_PROT, ACT_UNMAP };

static inline int
pte_action(uint64_t p, int *eprot)
{
	uint64_t hk = PTE_HKIND(p);

	if (p & PTE_V) {
		*eprot = pte_eprot(p);
		if (hk == HK_CUR)
			return PTE_HPROTV(p) == *eprot ? ACT_NOP : ACT_PROT;
		return ACT_MAP;
	}
	*eprot = VM_PROT_NONE;
	return hk == HK_NONE ? ACT_NOP : ACT_UNMAP;
}

/*
 * zero_run_locked: do the deferred zeroing of frames [pfn, pfn + n),
 * about to be mapped: runs of PUNCH_MIN or more by a hole in the memfd,
 * the rest through the direct map.
 */
static void
zero_run_locked(uint64_t pfn, size_t n)
{
	size_t k = 0, l;

	while (k < n) {
		if ((pfn_to_page(pfn + k)->mdflags & PMD_NEEDZERO) == 0) {
			k++;
			continue;
		}
		for (l = k + 1; l < n &&
		    (pfn_to_page(pfn + l)->mdflags & PMD_NEEDZERO); l++)
			;
		if (l - k < PUNCH_MIN || host_punch(fd_of(pfn + k),
		    (off_t)ptoa(pfn + k), (off_t)ptoa(l - k)) != 0) {
			size_t m;

			for (m = k; m < l; m++)
				zero_now_locked(pfn_to_page(pfn + m));
		} else {
			size_t m;

			for (m = k; m < l; m++)
				pfn_to_page(pfn + m)->mdflags &=
				    (uint8_t)~(PMD_NEEDZERO | PMD_DMAP);
		}
		k = l;
	}
}

static int
sync_range(size_t s, size_t e)
{
	size_t i, j;
	int error = 0;

	/* a parked chunk is settled whole (section 11) */
	if (park.n > 0) {
		if (park.vc[s >> CHUNK_SHIFT] != 0)
			s &= ~(RUN_PAGES - 1);
		if (park.vc[(e - 1) >> CHUNK_SHIFT] != 0)
			e = ((e - 1) | (RUN_PAGES - 1)) + 1;
	}
	i = s;
	while (i < e) {
		int ep, ep2, act, rv = 0;
		uint64_t pfn;
		int moved = 0;

		if (park.n > 0 && park.vc[i >> CHUNK_SHIFT] != 0 &&
		    park_settle(i >> CHUNK_SHIFT)) {
			i = (i | (RUN_PAGES - 1)) + 1;
			continue;
		}
		act = pte_action(pm.pte[i], &ep);
		pfn = PTE_PFN(pm.pte[i]);
		for (j = i + 1; j < e; j++) {
			uint64_t p = pm.pte[j];

			if ((j & (RUN_PAGES - 1)) == 0 && park.n > 0 &&
			    park.vc[j >> CHUNK_SHIFT] != 0)
				break;
			if (pte_action(p, &ep2) != act || ep2 != ep)
				break;
			if (act == ACT_MAP && (PTE_PFN(p) != pfn + (j - i) ||
			    fd_side(PTE_PFN(p)) != fd_side(pfn)))
				break;
		}
		if (act == ACT_PROT && ep == VM_PROT_NONE) {
			/* whole chunks losing all access move aside */
			int parked;

			j = park_cut(i, j, &parked);
			if (parked) {
				i = j;
				continue;
			}
		}
		if (act == ACT_MAP) {
			/* a warm run comes in whole, by a move (section 10) */
			j = warm_cut(i, pfn, j);
			moved = warm_unpark(i, pfn, j, ep) == 0;
			if (!moved) {
				warm_drop_frames(pfn, j - i);
				zero_run_locked(pfn, j - i);
			}
		}
		switch (act) {
		case ACT_MAP:
			/* a lone page is left to fault in on first use: the
			 * populate call would cost as much as that fault */
			if (!moved)
				rv = host_map_file(idx_to_va(i),
				    (j - i) << PAGE_SHIFT, ep, fd_of(pfn),
				    (off_t)(pfn << PAGE_SHIFT), j - i > 1);
			break;
		case ACT_PROT:
			rv = host_protect(idx_to_va(i), (j - i) << PAGE_SHIFT, ep);
			/* valgrind forgets a page made PROT_NONE: give it back
			 * (its contents are the page's, so defined) */
			if (rv == 0 && ep != VM_PROT_NONE &&
			    PTE_HPROTV(pm.pte[i]) == VM_PROT_NONE)
				kva_track_defined((void *)idx_to_va(i),
				    (j - i) << PAGE_SHIFT);
			break;
		case ACT_UNMAP:
			warm_park_range(i, j);
			if (host_reserve(idx_to_va(i), (j - i) << PAGE_SHIFT,
			    &rv) != 0)
				rv = 0;
			break;
		default:
			break;
		}
		if (rv != 0) {
			error = rv;
		} else if (act != ACT_NOP) {
			size_t k;
			uint64_t hk = act == ACT_UNMAP ? HK_NONE : HK_CUR;

			for (k = i; k < j; k++) {
				uint64_t was = PTE_HKIND(pm.pte[k]);

				if (was == HK_NONE && hk != HK_NONE)
					pm.chunk_hmapped[k >> CHUNK_SHIFT]++;
				else if (was != HK_NONE && hk == HK_NONE)
					pm.chunk_hmapped[k >> CHUNK_SHIFT]--;
				if (hk == HK_NONE)	/* forget the frame */
					pm.pte[k] = 0;
				else
					pm.pte[k] = (pm.pte[k] &
					    ~(PTE_HK | PTE_HPROT)) |
					    (hk << PTE_HK_SHIFT) |
					    ((uint64_t)ep << PTE_HPROT_SHIFT);
			}
		}
		i = j;
	}
	return error;
}

static int
pmap_sync_locked(void)
{
	int i, error = pm.sync_error;
	long n;

	for (i = 0; i < pm.ndq; i++) {
		int rv = sync_range(pm.dq[i].s, pm.dq[i].e);
		if (rv != 0)
			error = rv;
	}
	pm.ndq = 0;
	pm.sync_error = 0;
	dropq_flush();
	n = vma_count_locked();
	uvmexp.hostmaps = n;
	if (n > uvmexp.hostmaps_peak)
		uvmexp.hostmaps_peak = n;
	uvmexp.hostcalls = host_ncalls;
	return error;
}

int
pmap_sync(pmap_t pmap)
{
	int error;

	(void)pmap;
	PM_LOCK();
	error = pmap_sync_locked();
	PM_UNLOCK();
	return error;
}

void
pmap_update(pmap_t pmap)
{
	int error = pmap_sync(pmap);

	if (error != 0)
		kva_warn("pmap_update: the host refused a mapping (error %d); "
		    "%ld host mappings held", -error, pmap_vma_count());
}

/*
 * Fork (section 8).
 *
 * 8. The memfd is shared with a forked child, MAP_SHARED.  So at fork
 *    every kva lock is taken (kva_init.c), the queued changes are pushed
 *    to the host, and the parent lists the runs of frames in use and makes
 *    the child's memfds.  The child's physical memory is two memfds when
 *    more than FORK_SPLIT_MIN pages are in use: frames below fd_split in
 *    one, the rest in the other, each at offset ptoa(frame).  Writes into
 *    one memfd serialise on its inode, so two let the child and the
 *    parent copy half each at once (copy_file_range, in the kernel), which
 *    halves the fork of a big heap on two CPUs.  The child then maps them
 *    over the old memfd(s) wherever those were mapped: the direct map, and
 *    each run of the page table whose host state is this frame.  The
 *    parent waits, with every lock held, until the child has its copy.
 *    Free frames are not copied: they read zero in the new memfds.
 *    Because of the split, a host mapping never spans fd_split (sync_range
 *    and the fork break runs there, and pte_key counts it as a VMA
 *    boundary), zeroing and punching go to the memfd of each frame
 *    (pmap_physmem_fd), and growth extends the high memfd.
 */
/* the fork plan, made by the parent in pmap_fork_lock */
struct fork_run {
	size_t f, n;			/* frames [f, f + n) are in use */
};
static struct {
	int fd_lo, fd_hi;		/* the child's memfds, or -1 */
	size_t split;			/* the child's fd_split */
	struct fork_run *runs;		/* or NULL: the child scans */
	size_t nruns, runs_size;
	int all_copied;			/* (child) no half is left */
} pf = { .fd_lo = -1, .fd_hi = -1 };

#define FORK_SPLIT_MIN	2048	/* pages in use below which one memfd */

int pmap_fork_degrade;		/* tests: PMAP_FORK_NOPLAN, _NOPARENT */
#define FORK_SPLIT_ALIGN 1024	/* frames: the split is 4 MiB aligned */

/* next_used_run: the next run of frames in use at or after *f, as
 * [*f, *f + *n); => 0 when there is none.  (F) held (or a child's). */
static int
next_used_run(size_t *f, size_t *n)
{
	size_t nframes = pm.phys_size >> PAGE_SHIFT, a = *f, b;

	while (a < nframes && (vm_page_array[a].pqflags & PQ_FREE))
		a++;
	if (a >= nframes)
		return 0;
	for (b = a + 1; b < nframes &&
	    (vm_page_array[b].pqflags & PQ_FREE) == 0; b++)
		;
	*f = a;
	*n = b - a;
	return 1;
}

static void
fork_fds_close(void)
{
	if (pf.fd_hi >= 0 && pf.fd_hi != pf.fd_lo)
		(void)host_close(pf.fd_hi);
	if (pf.fd_lo >= 0)
		(void)host_close(pf.fd_lo);
	pf.fd_lo = pf.fd_hi = -1;
}

/* fork_fds: the child's memfds: one, or two split at pf.split */
static int
fork_fds(void)
{
	int error;

	pf.fd_lo = host_memfd("kva-physmem");
	if (pf.fd_lo < 0) {
		error = pf.fd_lo;
		pf.fd_lo = -1;
		return error;
	}
	pf.fd_hi = pf.fd_lo;
	error = host_ftruncate(pf.fd_lo, (off_t)pm.phys_size);
	if (error == 0 && pf.split != NO_SPLIT) {
		pf.fd_hi = host_memfd("kva-physmem");
		if (pf.fd_hi < 0)
			error = pf.fd_hi;
		else
			error = host_ftruncate(pf.fd_hi, (off_t)pm.phys_size);
	}
	if (error != 0)
		fork_fds_close();
	return error;
}

/*
 * fork_plan: list the runs of frames in use, choose where the child's
 * two memfds split them (half the pages each: one memfd's writes
 * serialise on its inode, two memfds copy at once) and make the memfds.
 * Whatever fails here the child does itself, alone.  (F) and (P) held.
 */
static void
fork_plan(void)
{
	size_t nframes = pm.phys_size >> PAGE_SHIFT, f, n, npages = 0, r;
	int err;

	pf.fd_lo = pf.fd_hi = -1;
	pf.runs = NULL;
	pf.nruns = 0;
	pf.all_copied = 0;
	pf.split = NO_SPLIT;
	if (!pm.booted || nframes == 0 || pmap_fork_degrade == PMAP_FORK_NOPLAN)
		return;
	pf.runs_size = round_page((nframes / 2 + 1) * sizeof(struct fork_run));
	pf.runs = kva_host_map_anon(pf.runs_size, &err);
	if (pf.runs == NULL)
		return;
	for (f = 0; next_used_run(&f, &n); f += n) {
		pf.runs[pf.nruns].f = f;
		pf.runs[pf.nruns].n = n;
		pf.nruns++;
		npages += n;
	}
	if (npages >= FORK_SPLIT_MIN) {
		size_t half = npages / 2;

		for (r = 0; r < pf.nruns && half >= pf.runs[r].n; r++)
			half -= pf.runs[r].n;
		if (r < pf.nruns)
			pf.split = (pf.runs[r].f + half) &
			    ~(size_t)(FORK_SPLIT_ALIGN - 1);
		if (pf.split == 0)
			pf.split = NO_SPLIT;
	}
	if (fork_fds() != 0)
		pf.split = NO_SPLIT;
}

static void
fork_plan_free(void)
{
	if (pf.runs != NULL)
		(void)kva_host_unmap(pf.runs, pf.runs_size);
	pf.runs = NULL;
	pf.nruns = 0;
}

void
pmap_fork_lock(void)
{
	int rv;

	mutex_enter(&pm.boot_lock);
	PM_LOCK();
	rv = pmap_sync_locked();
	if (rv != 0)
		pm.sync_error = rv;
	/* a warm run or a parked chunk maps this memfd from outside the
	 * kernel VA, which the child must not share; no I/O is in flight
	 * (fork waits for uvm_swap_iolock) */
	warm_drop_all();
	park.frozen = 1;
	if (park.n > 0) {
		park_unpark_all();
		rv = pmap_sync_locked();
		if (rv != 0)
			pm.sync_error = rv;
	}
	fork_plan();
}

void
pmap_fork_unlock(void)
{
	park.frozen = 0;
	PM_UNLOCK();
	mutex_exit(&pm.boot_lock);
}

/* copy_frames: frames [f, f + n) into the child's memfd that holds them,
 * from the memfd that holds them now: a piece per side of either split */
static int
copy_frames(size_t f, size_t n)
{
	while (n > 0) {
		size_t k = n, span;
		int src = pmap_physmem_fd(ptoa(f), &span), dst, error;

		if (ptoa(k) > span)
			k = span >> PAGE_SHIFT;
		if (pf.split != NO_SPLIT && f < pf.split && f + k > pf.split)
			k = pf.split - f;
		dst = pf.split != NO_SPLIT && f >= pf.split ? pf.fd_hi : pf.fd_lo;
		error = host_copy_range(src, dst, (off_t)ptoa(f), ptoa(k),
		    (const void *)(pm.dmap_base + ptoa(f)));
		if (error != 0)
			return error;
		f += k;
		n -= k;
	}
	return 0;
}

/* fork_copy_all: the child on its own: a memfd, and every frame in use */
static int
fork_copy_all(void)
{
	size_t f, n;
	int error;

	if (pf.fd_lo < 0) {
		pf.split = NO_SPLIT;
		error = fork_fds();
		if (error != 0)
			return error;
	}
	for (f = 0; next_used_run(&f, &n); f += n) {
		error = copy_frames(f, n);
		if (error != 0)
			return error;
	}
	pf.all_copied = 1;
	return 0;
}

/*
 * pmap_fork_copy: copy one half of the frames in use into the child's
 * memfds: those below the split (PMAP_FORK_CHILD_HALF) or the rest.  The
 * two halves go to two memfds at once, from the child and the parent, on
 * two CPUs.  Without a plan (the parent could not make one) the child's
 * half is everything, and the parent's is nothing: -ENOENT.
 */
int
pmap_fork_copy(int half)
{
	size_t r;
	int error = 0;

	if (!pm.booted || pf.all_copied)
		return 0;
	if (pf.runs == NULL || pf.fd_lo < 0)
		return half == PMAP_FORK_CHILD_HALF ? fork_copy_all() : -ENOENT;
	for (r = 0; r < pf.nruns && error == 0; r++) {
		size_t f = pf.runs[r].f, e = f + pf.runs[r].n;

		if (half == PMAP_FORK_CHILD_HALF && pf.split != NO_SPLIT &&
		    e > pf.split)
			e = pf.split;
		if (half == PMAP_FORK_PARENT_HALF) {
			if (pf.split == NO_SPLIT)
				break;
			if (f < pf.split)
				f = pf.split;
		}
		if (f < e)
			error = copy_frames(f, e - f);
	}
	return error;	/* (one memfd: the child's half was all of it) */
}

/* pmap_fork_parent_done: the parent's part of fork is over */
void
pmap_fork_parent_done(void)
{
	fork_fds_close();
	fork_plan_free();
}

/*
 * split_bounds: the VMA boundaries that a split at frame `split' makes
 * between kernel pages: wherever frame split is mapped right after frame
 * split - 1 with the same protection.  pm_lock held.
 */
static long
split_bounds(size_t split)
{
	struct vm_page *pg;
	struct pv_entry *pv;
	long n = 0;
	vaddr_t va;

	if (split == NO_SPLIT || split == 0 || split >= (pm.phys_size >>
	    PAGE_SHIFT))
		return 0;
	pg = pfn_to_page(split);
	for (va = pg->pv.va, pv = pg->pv.next; va != 0;
	    va = pv != NULL ? pv->va : 0, pv = pv != NULL ? pv->next : NULL) {
		size_t idx = va_to_idx(va);
		uint64_t p = pm.pte[idx], q;

		if (idx == 0)
			continue;
		q = pm.pte[idx - 1];
		if ((q & PTE_V) && PTE_PFN(q) == split - 1 &&
		    pte_eprot(q) == pte_eprot(p))
			n++;
	}
	return n;
}

int
pmap_fork_child(void)
{
	size_t i, j, lo_end, split = pf.split;
	int old_lo = pm.memfd, old_hi = pm.memfd_hi, error = 0;

	if (!pm.booted)
		return 0;
	/* the direct map, a piece per memfd */
	lo_end = split == NO_SPLIT || ptoa(split) > pm.phys_size ?
	    pm.phys_size : ptoa(split);
	if (lo_end > 0)
		error = host_map_file(pm.dmap_base, lo_end, VM_PROT_DEFAULT,
		    pf.fd_lo, 0, 0);
	if (error == 0 && lo_end < pm.phys_size)
		error = host_map_file(pm.dmap_base + lo_end,
		    pm.phys_size - lo_end, VM_PROT_DEFAULT, pf.fd_hi,
		    (off_t)lo_end, 0);
	if (error != 0) {
		fork_fds_close();
		fork_plan_free();
		return error;
	}
	/* from here on the child's memfds are physical memory; the VMA
	 * boundaries that the old split made go, the new split's come */
	pm.nbound -= split_bounds(pm.fd_split);
	pm.memfd = pf.fd_lo;
	pm.memfd_hi = pf.fd_hi;
	pm.fd_split = split;
	pm.nbound += split_bounds(split);
	pm.vma_base = split == NO_SPLIT ? 4 : 5;	/* a direct map in two */
	pf.fd_lo = pf.fd_hi = -1;
	fork_plan_free();
	/* every host mapping of a frame in the kernel VA: only the chunks
	 * that hold any are looked at */
	for (i = 0; i < pm.kva_npages; i = j) {
		uint64_t p;
		int hp;

		if ((i & ((1 << CHUNK_SHIFT) - 1)) == 0 &&
		    pm.chunk_hmapped[i >> CHUNK_SHIFT] == 0) {
			j = i + (1 << CHUNK_SHIFT);
			continue;
		}
		p = pm.pte[i];
		j = i + 1;
		if (PTE_HKIND(p) == HK_NONE)
			continue;
		hp = PTE_HPROTV(p);
		while (j < pm.kva_npages && PTE_HKIND(pm.pte[j]) == HK_CUR &&
		    PTE_HPROTV(pm.pte[j]) == hp &&
		    PTE_PFN(pm.pte[j]) == PTE_PFN(p) + (j - i) &&
		    fd_side(PTE_PFN(pm.pte[j])) == fd_side(PTE_PFN(p)))
			j++;
		if (PTE_HKIND(p) != HK_CUR)
			panic("pmap_fork_child: stale host mapping at %#lx "
			    "after update", (unsigned long)idx_to_va(i));
		error = host_map_file(idx_to_va(i), ptoa(j - i), hp,
		    fd_of(PTE_PFN(p)), (off_t)ptoa(PTE_PFN(p)), 0);
		if (error != 0)
			return error;	/* the caller panics: no way back */
	}
	uvmexp.hostmaps = vma_count_locked();
	if (old_hi != old_lo)
		(void)host_close(old_hi);
	(void)host_close(old_lo);
	return 0;
}

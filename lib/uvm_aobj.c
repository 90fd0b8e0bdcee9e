/*
 * uvm_aobj.c: anonymous memory objects (aobjs) and their pager.
 *
 * An aobj is a uvm_object with no backing file: its pages are
 * zero-filled when first asked for, and (with swap) go to swap slots when
 * the page daemon pushes them out.  uvm.kernel_object is an aobj made
 * with UAO_FLAG_KERNOBJ; it spans the whole kernel VA, offset =
 * va - vm_map_min(kernel_map), and never dies.
 *
 * Swap slots: an aobj records, per page index, the swap slot holding its
 * page when it is not resident, or a clean copy of it when it is (0 =
 * none).  The table has two levels, because the kernel object spans the
 * whole kernel VA (16 million pages for 64 GiB) while only what was paged
 * out has slots: a directory of leaf pointers (from the bootstrap
 * region, made when the first slot is set) and leaves of UAO_LEAF slots
 * from a pool, each given back when its last slot is.
 *
 * Page-in (uao_get without PGO_LOCKED): a missing page with a slot is
 * read back, in a stream (the page is the first of its aligned 2 MiB
 * chunk, or the page before it is resident), with the rest of its chunk
 * that is in swap and not resident, while free memory stays above the
 * page daemon's reserve (the pages come from the chunk's reservation);
 * otherwise, as random access would read 2 MiB a fault, with the pages
 * that follow it in following slots, up to UAO_PIECE.  One preadv per
 * run of pages whose slots follow each other: the page daemon pages out
 * whole chunks, so a chunk is mostly one read, into one reservation,
 * which the fault then maps whole (through the pmap's warm run for it
 * when there is one: uvm_swap_io).  The page asked for loses its slot
 * and is dirty; the neighbours keep theirs and stay clean, so the page
 * daemon can drop them again without writing if nobody touches them.
 */
#include "kva_impl.h"
#include "pmap_posix/pmap_md.h"
#include "uvm_hist.h"

#include <pthread.h>

#define UAO_LEAF_SHIFT	10
#define UAO_LEAF	(1 << UAO_LEAF_SHIFT)	/* slots per leaf */

struct uao_swleaf {
	int nused;			/* (O) non-zero slots */
	int slot[UAO_LEAF];		/* (O) */
};

struct uvm_aobj {
	struct uvm_object u_obj;	/* must be first */
	size_t u_pages;			/* (C) size in pages */
	int u_flags;			/* (C) UAO_FLAG_* */
	struct uao_swleaf **u_swdir;	/* (O) leaves, or NULL */
};

static struct uvm_aobj kernel_object_store;
static struct kva_pool uao_pool;
static struct kva_pool uao_leaf_pool;

static int uao_get(struct uvm_object *, voff_t, struct vm_page **, int *,
    int, vm_prot_t, int, int);

const struct uvm_pagerops aobj_pager = {
	.pgo_reference = uao_reference,
	.pgo_detach = uao_detach,
	.pgo_get = uao_get,
	.pgo_name = "aobj",
};

void
uao_init(void)
{
	kva_pool_init(&uao_pool, sizeof(struct uvm_aobj), "aobjpl");
	kva_pool_init(&uao_leaf_pool, sizeof(struct uao_swleaf), "aobjswpl");
}

void
uao_fini(void)
{
	memset(&kernel_object_store, 0, sizeof(kernel_object_store));
}

static void
uao_setup(struct uvm_aobj *aobj, vsize_t size, int flags)
{
	mutex_init(&aobj->u_obj.vmobjlock);
	aobj->u_obj.pgops = &aobj_pager;
	TAILQ_INIT(&aobj->u_obj.memq);
	aobj->u_obj.uo_npages = 0;
	aobj->u_obj.uo_refs = (flags & UAO_FLAG_KERNOBJ) ? UVM_OBJ_KERN : 1;
	aobj->u_pages = round_page(size) >> PAGE_SHIFT;
	aobj->u_flags = flags;
	aobj->u_swdir = NULL;
}

/*
 * uao_create: make an aobj of size bytes.
 * => UAO_FLAG_KERNOBJ makes the (single) kernel object.
 * => returns NULL when no memory is left for the structure.
 */
struct uvm_object *
uao_create(vsize_t size, int flags)
{
	struct uvm_aobj *aobj;

	if (flags & UAO_FLAG_KERNOBJ) {
		if (kernel_object_store.u_obj.pgops != NULL)
			panic("uao_create(%#zx, %#x): kernel object exists",
			    size, flags);
		aobj = &kernel_object_store;
	} else {
		aobj = kva_pool_get(&uao_pool);
		if (aobj == NULL)
			return NULL;
	}
	uao_setup(aobj, size, flags);
	return &aobj->u_obj;
}

void
uao_reference(struct uvm_object *uobj)
{
	if (uobj->uo_refs == UVM_OBJ_KERN)
		return;
	mutex_enter(&uobj->vmobjlock);
	uobj->uo_refs++;
	mutex_exit(&uobj->vmobjlock);
}

/*
 * uao_detach: drop a reference; the last one frees every page, every
 * swap slot and the object.
 * => object unlocked on entry.
 */
void
uao_detach(struct uvm_object *uobj)
{
	struct uvm_aobj *aobj = (struct uvm_aobj *)uobj;
	struct vm_page *pg;

	if (uobj->uo_refs == UVM_OBJ_KERN)
		return;
	mutex_enter(&uobj->vmobjlock);
	if (--uobj->uo_refs > 0) {
		mutex_exit(&uobj->vmobjlock);
		return;
	}
	while ((pg = TAILQ_FIRST(&uobj->memq)) != NULL) {
		if (pg->flags & PG_BUSY)
			panic("uao_detach(%p): page %p (pa %#lx) still busy",
			    (void *)uobj, (void *)pg,
			    (unsigned long)pg->phys_addr);
		pmap_page_protect(pg, VM_PROT_NONE);
		pmap_update(pmap_kernel());
		uvm_pagefree(pg);
	}
	uao_dropswap_range(uobj, 0, (voff_t)ptoa(aobj->u_pages));
	mutex_exit(&uobj->vmobjlock);
	mutex_destroy(&uobj->vmobjlock);
	kva_pool_put(&uao_pool, aobj);
}

/* uao_check_idx: panic on a page index beyond the object */
static inline void
uao_check_idx(const char *fn, struct uvm_aobj *aobj, size_t pageidx)
{
	if (KVA_UNLIKELY(pageidx >= aobj->u_pages))
		panic("%s(%p, %zu): beyond the object's %zu pages", fn,
		    (void *)aobj, pageidx, aobj->u_pages);
}

/*
 * uao_find_swslot: the slot of page pageidx, 0 if none.
 * => object locked.
 */
int
uao_find_swslot(struct uvm_object *uobj, size_t pageidx)
{
	struct uvm_aobj *aobj = (struct uvm_aobj *)uobj;
	struct uao_swleaf *leaf;

	KASSERT(uobj->pgops == &aobj_pager);
	uao_check_idx("uao_find_swslot", aobj, pageidx);
	if (aobj->u_swdir == NULL)
		return 0;
	leaf = aobj->u_swdir[pageidx >> UAO_LEAF_SHIFT];
	return leaf == NULL ? 0 : leaf->slot[pageidx & (UAO_LEAF - 1)];
}

/*
 * uao_set_swslot: record slot for page pageidx (0: none), return the
 * old one.  The caller frees the old slot.
 * => object locked.  Panics only when the bootstrap region cannot hold
 *    the directory, or the pool a leaf (sized for the swap there is).
 */
int
uao_set_swslot(struct uvm_object *uobj, size_t pageidx, int slot)
{
	struct uvm_aobj *aobj = (struct uvm_aobj *)uobj;
	struct uao_swleaf **lp, *leaf;
	int old;

	KASSERT(uobj->pgops == &aobj_pager);
	uao_check_idx("uao_set_swslot", aobj, pageidx);
	if (aobj->u_swdir == NULL) {
		if (slot == 0)
			return 0;
		aobj->u_swdir = pmap_bootstrap_alloc(((aobj->u_pages +
		    UAO_LEAF - 1) >> UAO_LEAF_SHIFT) * sizeof(*aobj->u_swdir));
		if (aobj->u_swdir == NULL)
			panic("uao_set_swslot(%p, %zu, %d): no room for the slot "
			    "directory of %zu pages", (void *)uobj, pageidx,
			    slot, aobj->u_pages);
	}
	lp = &aobj->u_swdir[pageidx >> UAO_LEAF_SHIFT];
	if ((leaf = *lp) == NULL) {
		if (slot == 0)
			return 0;
		if ((leaf = *lp = kva_pool_get(&uao_leaf_pool)) == NULL)
			panic("uao_set_swslot(%p, %zu, %d): no memory for a "
			    "slot leaf", (void *)uobj, pageidx, slot);
	}
	old = leaf->slot[pageidx & (UAO_LEAF - 1)];
	leaf->slot[pageidx & (UAO_LEAF - 1)] = slot;
	leaf->nused += (slot != 0) - (old != 0);
	if (leaf->nused == 0) {
		kva_pool_put(&uao_leaf_pool, leaf);
		*lp = NULL;
	}
	return old;
}

/*
 * uao_dropswap_range: free the swap slots of pages [start, end) (byte
 * offsets), resident or not.  Absent leaves are skipped whole.
 * => object locked.
 */
void
uao_dropswap_range(struct uvm_object *uobj, voff_t start, voff_t end)
{
	struct uvm_aobj *aobj = (struct uvm_aobj *)uobj;
	size_t i = (size_t)start >> PAGE_SHIFT;
	size_t e = (size_t)(end + (voff_t)PAGE_MASK) >> PAGE_SHIFT;

	if (uobj->pgops != &aobj_pager || aobj->u_swdir == NULL)
		return;
	if (e > aobj->u_pages)
		e = aobj->u_pages;
	while (i < e) {
		struct uao_swleaf *leaf = aobj->u_swdir[i >> UAO_LEAF_SHIFT];
		size_t lend = ((i >> UAO_LEAF_SHIFT) + 1) << UAO_LEAF_SHIFT;

		if (lend > e)
			lend = e;
		for (; leaf != NULL && i < lend; i++) {
			int slot = leaf->slot[i & (UAO_LEAF - 1)];

			if (slot != 0) {
				uvm_swap_free(slot, 1);
				/* may free the leaf: look no further in it */
				(void)uao_set_swslot(uobj, i, 0);
				leaf = aobj->u_swdir[i >> UAO_LEAF_SHIFT];
			}
		}
		i = lend;
	}
}

/* uao_swapped: a missing page of uobj at off is in swap */
static int
uao_swapped(struct uvm_object *uobj, voff_t off)
{
	return uao_find_swslot(uobj, (size_t)off >> PAGE_SHIFT) != 0;
}

/*
 * uvm_pager_zfill_get: the get of a pager whose pages have no backing
 * store yet (an aobj without swap, the km pager): resident pages are
 * returned busy; missing ones are allocated (with pgaflags) and
 * zero-filled: with PGO_LOCKED, the needed ones (the centre, or all with
 * PGO_ALLPAGES), or, with alloc_all (the seed's km pager), every one.
 * => object locked on entry; with PGO_LOCKED it stays locked and we
 *    never sleep: VM_PAGER_OK only if every page that had to be gotten
 *    (the centre one, or all with PGO_ALLPAGES) was, else VM_PAGER_UNLOCK
 *    asks the caller to retry unlocked.  Without PGO_LOCKED we may sleep
 *    (for memory or a busy page) and the object is unlocked on return.
 * => *npagesp: in, pages asked for; out (PGO_LOCKED), pages gotten.
 * => swapped (may be NULL) tells a missing page that has backing store:
 *    such a page is never zero-filled.  With PGO_LOCKED it is left out
 *    (VM_PAGER_UNLOCK if it was needed); without, the object is unlocked
 *    and VM_PAGER_AGAIN returned, for the pager to read it in.
 * => unlocked, memory and swap exhausted: VM_PAGER_ERROR, unlocked.
 */
int
uvm_pager_zfill_get(struct uvm_object *uobj, voff_t offset,
    struct vm_page **pps, int *npagesp, int centeridx, int flags,
    int pgaflags, int alloc_all, const char *wmsg,
    int (*swapped)(struct uvm_object *, voff_t))
{
	int lcv, got = 0, done = 1;
	voff_t off;

	if (flags & PGO_LOCKED) {
		for (lcv = 0, off = offset; lcv < *npagesp;
		    lcv++, off += (voff_t)PAGE_SIZE) {
			struct vm_page *pg;
			int needed = lcv == centeridx || (flags & PGO_ALLPAGES);

			if (pps[lcv] == PGO_DONTCARE)
				continue;
			pg = uvm_pagelookup(uobj, off);
			if (pg == NULL && swapped != NULL &&
			    swapped(uobj, off)) {
				if (needed)
					done = 0;
				continue;
			}
			if (pg == NULL && (needed || alloc_all)) {
				pg = uvm_pagealloc(uobj, off, NULL,
				    UVM_PGA_ZERO | pgaflags);
				if (pg != NULL)
					pg->flags &= ~(PG_BUSY | PG_FAKE);
			}
			if (pg == NULL || (pg->flags & (PG_BUSY | PG_RELEASED))) {
				if (needed)
					done = 0;
				continue;
			}
			pg->flags |= PG_BUSY;
			pg->owner_tag = wmsg;
			pps[lcv] = pg;
			got++;
		}
		*npagesp = got;
		return done ? VM_PAGER_OK : VM_PAGER_UNLOCK;
	}

	for (lcv = 0, off = offset; lcv < *npagesp;
	    lcv++, off += (voff_t)PAGE_SIZE) {
		struct vm_page *pg;

		if ((pps[lcv] != NULL && pps[lcv] != PGO_DONTCARE) ||
		    (lcv != centeridx && (flags & PGO_ALLPAGES) == 0))
			continue;
		for (;;) {
			pg = uvm_pagelookup(uobj, off);
			if (pg == NULL && swapped != NULL &&
			    swapped(uobj, off)) {
				mutex_exit(&uobj->vmobjlock);
				return VM_PAGER_AGAIN;
			}
			if (pg == NULL) {
				pg = uvm_pagealloc(uobj, off, NULL,
				    UVM_PGA_ZERO | pgaflags);
				if (pg == NULL) {
					mutex_exit(&uobj->vmobjlock);
					if (uvm_wait_or_fail(wmsg) != 0)
						return VM_PAGER_ERROR;
					mutex_enter(&uobj->vmobjlock);
					continue;
				}
				pg->flags &= ~PG_FAKE;
				break;
			}
			if (pg->flags & (PG_BUSY | PG_RELEASED)) {
				pg->flags |= PG_WANTED;
				UVM_UNLOCK_AND_WAIT(pg, &uobj->vmobjlock, 0,
				    wmsg, 0);
				mutex_enter(&uobj->vmobjlock);
				continue;
			}
			pg->flags |= PG_BUSY;
			break;
		}
		pg->owner_tag = wmsg;
		pps[lcv] = pg;
	}
	mutex_exit(&uobj->vmobjlock);
	return VM_PAGER_OK;
}

/*
 * uao_pagein: read the page at off back from swap, with the pages that
 * follow it in the same cluster (section "Page-in" above).
 * => object locked on entry, unlocked on return; may sleep.
 * => VM_PAGER_OK with the page busy in *pgp; VM_PAGER_AGAIN when the
 *    caller must look again (the page came or went meanwhile);
 *    VM_PAGER_ERROR when the read failed (the slots keep the data) or
 *    memory and swap are exhausted.
 */
#define UAO_PIECE	64	/* pages read per piece of a page-in */

/*
 * uao_pagein_piece: read pages [lo, hi) of uobj (hi - lo <= UAO_PIECE)
 * that the page-in allocated (bit i - base of mask), one preadv per run
 * of pages whose slots follow each other, and settle them: the page at
 * idx loses its slot and is dirty, the others keep theirs and are clean,
 * active and unbusied.  A page removed meanwhile, or whose read failed,
 * is freed.
 * => object unlocked on entry and exit; uvm_swap_iolock read-held.
 * => 0, or -errno of a failed read; *centerp is the page at idx when
 *    it is in the piece and was read, else NULL; *np counts pages read.
 */
static int
uao_pagein_piece(struct uvm_object *uobj, size_t lo, size_t hi, size_t idx,
    uint64_t mask, struct vm_page **centerp, int *np)
{
	struct vm_page *pps[UAO_PIECE];
	int slots[UAO_PIECE], error = 0, k;
	size_t n = hi - lo, i;

	mutex_enter(&uobj->vmobjlock);
	for (i = 0; i < n; i++) {
		pps[i] = NULL;
		if ((mask >> i & 1) == 0)
			continue;
		pps[i] = uvm_pagelookup(uobj, (voff_t)ptoa(lo + i));
		slots[i] = uao_find_swslot(uobj, lo + i);
	}
	mutex_exit(&uobj->vmobjlock);

	for (i = 0; i < n && error == 0; i += (size_t)k) {
		k = 1;
		if (pps[i] == NULL || slots[i] == 0)
			continue;
		while (i + (size_t)k < n && pps[i + (size_t)k] != NULL &&
		    slots[i + (size_t)k] == slots[i] + k)
			k++;
		error = uvm_swap_io(slots[i], &pps[i], k, 0);
		if (error == 0) {
			*np += k;
			__atomic_fetch_add(&uvmexp.pageins, 1,
			    __ATOMIC_RELAXED);
		}
	}

	mutex_enter(&uobj->vmobjlock);
	for (i = 0; i < n; i++) {
		struct vm_page *pg = pps[i];
		int own;

		if (pg == NULL)
			continue;
		own = slots[i] != 0 && uao_find_swslot(uobj, lo + i) == slots[i];
		if (error != 0 || slots[i] == 0 || (pg->flags & PG_RELEASED)) {
			/* a failed read keeps the data in its slot; a page
			 * removed meanwhile had its slot freed with it */
			uvm_pagewakeup(pg);
			pg->flags &= (uint16_t)~PG_BUSY;
			uvm_pagefree(pg);
			pps[i] = NULL;
			continue;
		}
		pg->flags &= (uint16_t)~PG_FAKE;
		KVA_PROBE_PAGEIN(VM_PAGE_TO_PHYS(pg), uobj, pg->offset);
		if (lo + i == idx) {
			/* the page asked for: its slot goes, it is dirty */
			if (own) {
				(void)uao_set_swslot(uobj, idx, 0);
				uvm_swap_free(slots[i], 1);
			}
			pg->flags &= (uint16_t)~PG_CLEAN;
			*centerp = pg;
		} else if (!own) {
			pg->flags &= (uint16_t)~PG_CLEAN;
		}
	}
	uvm_lock_pageq();
	for (i = 0; i < n; i++)
		if (lo + i != idx && pps[i] != NULL)
			uvm_pageactivate(pps[i]);
	uvm_unlock_pageq();
	for (i = 0; i < n; i++)
		if (lo + i != idx && pps[i] != NULL)
			uvm_page_unbusy(&pps[i], 1);
	mutex_exit(&uobj->vmobjlock);
	return error;
}

static int
uao_pagein(struct uvm_object *uobj, voff_t off, struct vm_page **pgp)
{
	uint64_t mask[UVM_RESV_PAGES_MAX / UAO_PIECE];
	struct vm_page *center = NULL;
	size_t idx = (size_t)off >> PAGE_SHIFT, lo, hi, i;
	size_t npg = ((struct uvm_aobj *)uobj)->u_pages;
	int n = 0, error = 0, slot, stream;
	UVMHIST_FUNC("uao_pagein");

	/* fork waits for pages in flight: never block on it holding a lock */
	if (pthread_rwlock_tryrdlock(&uvm_swap_iolock) != 0) {
		mutex_exit(&uobj->vmobjlock);
		pthread_rwlock_rdlock(&uvm_swap_iolock);
		pthread_rwlock_unlock(&uvm_swap_iolock);
		return VM_PAGER_AGAIN;
	}
	slot = uao_find_swslot(uobj, idx);
	if (slot == 0 || uvm_pagelookup(uobj, off) != NULL) {
		mutex_exit(&uobj->vmobjlock);
		pthread_rwlock_unlock(&uvm_swap_iolock);
		return VM_PAGER_AGAIN;
	}
	/* the page asked for first, then the rest of its 2 MiB chunk that
	 * is in swap and not resident, while memory lasts; they stay busy,
	 * in the object, until read */
	lo = idx & ~(size_t)(UVM_RESV_PAGES - 1);
	hi = lo + UVM_RESV_PAGES < npg ? lo + UVM_RESV_PAGES : npg;
	/* the whole chunk for a stream (the fault is at the chunk's start,
	 * or the page before is resident); else, as for random access, only
	 * the pages that follow it in following slots, one piece at most */
	stream = idx == lo || uvm_pagelookup(uobj, off - (voff_t)PAGE_SIZE) !=
	    NULL;
	if (!stream) {
		lo = idx;
		if (hi > lo + UAO_PIECE)
			hi = lo + UAO_PIECE;
	}
	memset(mask, 0, sizeof(mask));
	if (uvm_pagealloc(uobj, off, NULL, UVM_PGA_RESERV) == NULL) {
		mutex_exit(&uobj->vmobjlock);
		pthread_rwlock_unlock(&uvm_swap_iolock);
		return uvm_wait_or_fail("uao_pagein") == 0 ? VM_PAGER_AGAIN :
		    VM_PAGER_ERROR;
	}
	mask[(idx - lo) / UAO_PIECE] |= (uint64_t)1 << ((idx - lo) % UAO_PIECE);
	for (i = lo; i < hi; i++) {
		voff_t o = (voff_t)ptoa(i);

		if (i == idx)
			continue;
		if (!stream && uao_find_swslot(uobj, i) != slot +
		    (int)(i - idx))
			break;
		if (uao_find_swslot(uobj, i) == 0 ||
		    uvm_pagelookup(uobj, o) != NULL)
			continue;
		if (!uvm_page_free_ok(0) ||
		    uvm_pagealloc(uobj, o, NULL, UVM_PGA_RESERV) == NULL)
			break;
		mask[(i - lo) / UAO_PIECE] |= (uint64_t)1 << ((i - lo) %
		    UAO_PIECE);
	}
	for (i = lo; i < hi; i++)
		if (mask[(i - lo) / UAO_PIECE] >> ((i - lo) % UAO_PIECE) & 1)
			uvm_pagelookup(uobj, (voff_t)ptoa(i))->owner_tag =
			    "uao_pagein";
	mutex_exit(&uobj->vmobjlock);
	UVMHIST_LOG(swaphist, "pagein of chunk of obj %p at off %#lx from "
	    "slot %d", uobj, off, slot, 0);

	/* piece by piece; the one with the page asked for first */
	for (int pass = 0; pass < 2; pass++)
		for (i = lo; i < hi; i += UAO_PIECE) {
			size_t e = i + UAO_PIECE < hi ? i + UAO_PIECE : hi;
			int rv, has = idx >= i && idx < e;

			if (has != (pass == 0) ||
			    mask[(i - lo) / UAO_PIECE] == 0)
				continue;
			rv = uao_pagein_piece(uobj, i, e, idx,
			    mask[(i - lo) / UAO_PIECE], &center, &n);
			if (rv != 0 && error == 0) {
				error = rv;
				kva_warn("kva: swap read of pages %zu-%zu of "
				    "an object failed: error %d", i, e - 1,
				    -rv);
			}
		}
	pthread_rwlock_unlock(&uvm_swap_iolock);
	if (n > 0)
		__atomic_fetch_add(&uvmexp.pgswapin, n, __ATOMIC_RELAXED);
	if (center == NULL)
		return error != 0 ? VM_PAGER_ERROR : VM_PAGER_AGAIN;
	*pgp = center;
	return VM_PAGER_OK;
}

/*
 * uao_get: the aobj pager's get.  Pages come from 2 MiB reservations;
 * missing pages are zero-filled, or read back from swap (uao_pagein)
 * when they have a slot.
 * => contract of uvm_pager_zfill_get; without PGO_LOCKED only the
 *    centre page is read from swap, and VM_PAGER_AGAIN means the caller
 *    should fault again.
 */
static int
uao_get(struct uvm_object *uobj, voff_t offset, struct vm_page **pps,
    int *npagesp, int centeridx, vm_prot_t access_type, int advice,
    int flags)
{
	voff_t coff = offset + (voff_t)ptoa(centeridx);
	int rv;

	(void)access_type;
	(void)advice;
	if (flags & PGO_LOCKED)
		return uvm_pager_zfill_get(uobj, offset, pps, npagesp,
		    centeridx, flags, UVM_PGA_RESERV, 0, "uao_get",
		    uao_swapped);
	if (uvm_pagelookup(uobj, coff) == NULL && uao_swapped(uobj, coff))
		return uao_pagein(uobj, coff, &pps[centeridx]);
	rv = uvm_pager_zfill_get(uobj, offset, pps, npagesp, centeridx, flags,
	    UVM_PGA_RESERV, 0, "uao_get", uao_swapped);
	return rv;
}

int
uvm_object_is_kernel(const struct uvm_object *uobj)
{
	return uobj != NULL && (uobj == uvm.kernel_object ||
	    uobj == uvmexp.kmem_object || uobj == uvmexp.mb_object);
}

/*
 * uvm_fault.c: page faults on kernel memory.
 *
 * 1. A fault at va in kernel_map (the trap handler, or kva_fault) looks
 *    up the entry, descending into submaps, checks the entry's protection
 *    against the access, and asks the entry's object's pager for the page
 *    (pgo_get with PGO_LOCKED: resident pages, or new zero-filled ones for
 *    an anonymous object), then enters it with pmap_enter and pushes it to
 *    the host before returning: the faulting instruction then runs again.
 *
 * 2. A fault on a page that is already mapped is a referenced/modified
 *    emulation fault (pmap.c, section 7), or one that another thread
 *    resolved first: the bits are set, access restored, and done.  So two
 *    threads faulting on one page map it once.
 *
 * 3. Fault-ahead.  As UVM does, the entry's advice sets a window around
 *    the page: NORMAL a few pages back and forward, SEQUENTIAL further
 *    ahead, RANDOM the page alone; resident neighbours in the window are
 *    mapped too.  One host call maps each contiguous run, populated, so no
 *    second fault follows.
 *
 * 4. Reservations.  Pages of anonymous objects are allocated with
 *    UVM_PGA_RESERV: the first page of an aligned 2 MiB chunk reserves an
 *    aligned 2 MiB physical run, and the chunk's other pages take the
 *    frame at their own offset in it (uvm_page.c), so pages touched in any
 *    order merge into one host mapping.  When a chunk is touched densely
 *    (the page before the fault is resident: a stream; or 1/32 of its
 *    pages are), or host mappings run short, the fault maps the whole chunk at
 *    once, zero-filled: sequential touch then costs two faults per 2 MiB,
 *    random touch one in thirty-two, and a fault never needs more than one
 *    host mapping per chunk.  Sparse touches allocate only what they touch,
 *    except while the pmap keeps warm runs (recently unmapped whole
 *    chunks whose host mappings it set aside, pmap.c section 10): then
 *    the first fault in a whole aligned chunk maps all of it, and its
 *    reservation takes a warm run, which comes in with no host fault.
 *    A fault at a chunk's start that waited for a page-in maps the chunk
 *    whole as well: the pager read in the rest of the chunk with it.
 *
 * 5. Referenced and modified.  Pageable pages are mapped under the pmap's
 *    ref/mod emulation: a read fault maps the page read-only, so the first
 *    write faults again and sets the modified bit.  Neighbours mapped
 *    ahead get the access of the fault that brought them (a write fault's
 *    neighbours count as modified): pessimistic, never wrong.
 *
 * Locks: the map lock (of the innermost map) is held across the fault;
 * the object lock while pages are gotten and entered.  The fault may not
 * be taken while the thread holds any VM lock (trap.c checks).
 */
#include "kva_impl.h"
#include "uvm_hist.h"
#include "pmap_posix/pmap_md.h"

#define FAULT_BATCH 64		/* pages asked for per pgo_get call */
#define FAULT_CHUNK UVM_RESV_SIZE	/* a reservation: 2 MiB */
#define FAULT_DENSE_SHIFT 5	/* 1/32 of a chunk resident makes it dense */

static const struct {
	int nback, nforw;
} uvm_fault_advice[] = {
	[UVM_ADV_NORMAL] = { 3, 4 },
	[UVM_ADV_RANDOM] = { 0, 0 },
	[UVM_ADV_SEQUENTIAL] = { 8, 15 },
};

/*
 * fault_lookup: find the entry for va, descending into submaps.
 * => on success the innermost map is locked and returned in *mapp.
 */
static int
fault_lookup(struct vm_map **mapp, vaddr_t va, struct vm_map_entry **entryp)
{
	struct vm_map *map = *mapp;

	for (;;) {
		vm_map_lock(map);
		if (!uvm_map_lookup_entry(map, va, entryp)) {
			vm_map_unlock(map);
			return KERN_INVALID_ADDRESS;
		}
		if (!UVM_ET_ISSUBMAP(*entryp)) {
			*mapp = map;
			return KERN_SUCCESS;
		}
		{
			struct vm_map *sub = (*entryp)->object.sub_map;
			vm_map_unlock(map);
			map = sub;
		}
	}
}

/*
 * fault_window: the pages to handle around va, [*startp, *endp).
 */
static void
fault_window(struct vm_map_entry *entry, vaddr_t va, int pagedin,
    vaddr_t *startp, vaddr_t *endp)
{
	/* the chunk of the object's offsets (its reservation) holding va */
	voff_t off = entry->offset + (voff_t)(va - entry->start);
	vaddr_t cs = va - (vaddr_t)(off & (voff_t)(FAULT_CHUNK - 1));
	vaddr_t ce = cs + FAULT_CHUNK;
	int adv = entry->advice <= UVM_ADV_SEQUENTIAL ? entry->advice :
	    UVM_ADV_NORMAL;
	int dense;
	vaddr_t s, e;

	if (cs < entry->start || cs > va)
		cs = entry->start;
	if (ce > entry->end)
		ce = entry->end;
	/*
	 * Dense: the page before is resident (a stream), or 1/32 of
	 * the chunk is, or host mappings run short.
	 */
	dense = pagedin || uvmexp.hostmaps > uvmexp.hostmaps_limit / 4 * 3 ||
	    (va > cs && pmap_extract(pmap_kernel(), va - PAGE_SIZE, NULL));
	if (!dense) {
		/* the pmap counts what the host maps per 2 MiB of VA */
		size_t need = ((ce - cs) >> PAGE_SHIFT) >> FAULT_DENSE_SHIFT;
		unsigned mapped = pmap_chunk_mapped(va);

		dense = need > 0 && mapped >= need;
		/* a whole aligned chunk touched first while the pmap keeps
		 * warm runs: its reservation takes one, which comes in whole
		 * with no host fault (pmap.c, section 10) */
		if (!dense && mapped == 0 && ce - cs == FAULT_CHUNK &&
		    (cs & (FAULT_CHUNK - 1)) == 0 && pmap_warm_count() > 0)
			dense = 1;
	}
	if (dense) {
		*startp = cs;
		*endp = ce;
		return;
	}
	s = va - ptoa(uvm_fault_advice[adv].nback);
	e = va + ptoa(uvm_fault_advice[adv].nforw + 1);
	if (s > va || s < cs)
		s = cs;
	if (e > ce || e < va)
		e = ce;
	*startp = s;
	*endp = e;
}

/*
 * fault_map: get the pages of [start, end) (at most a chunk) from the
 * pager, FAULT_BATCH at a time, the page at va among them if va is in
 * the range, and enter them all at once (pmap_enter_pages: a whole
 * chunk whose frames are a warm run then moves in with one host call).
 * allpages asks the pager for every page (a dense window).
 * => map locked; object unlocked on entry and exit.
 * => KERN_SUCCESS; KERN_RESOURCE_SHORTAGE when the host has no mapping
 *    left for the page at va; FAULT_RETRY when the page at va must be
 *    waited for; KERN_FAILURE when the pager failed for it.
 */
#define FAULT_RETRY (-1)

static int
fault_map(struct vm_map *map, struct vm_map_entry *entry,
    struct uvm_object *uobj, vaddr_t start, vaddr_t end, vaddr_t va,
    vm_prot_t access, int allpages)
{
	struct vm_page *pps[UVM_RESV_PAGES_MAX];
	int n = (int)((end - start) >> PAGE_SHIFT), i, b, center = -1;
	int result = KERN_SUCCESS;

	if (KVA_UNLIKELY(n <= 0 || n > UVM_RESV_PAGES_MAX))
		panic("uvm_fault: window %#lx-%#lx", (unsigned long)start,
		    (unsigned long)end);
	for (i = 0; i < n; i++) {
		vaddr_t a = start + ptoa(i);

		if (a == va)
			center = i;
		pps[i] = a != va && pmap_extract(map->pmap, a, NULL) ?
		    PGO_DONTCARE : NULL;
	}
	for (b = 0; b < n; b += FAULT_BATCH) {
		int m = n - b < FAULT_BATCH ? n - b : FAULT_BATCH, got = m, rv;
		int c = center >= b && center < b + m ? center - b : -1;

		mutex_enter(&uobj->vmobjlock);
		rv = uobj->pgops->pgo_get(uobj, entry->offset +
		    (voff_t)(start + ptoa(b) - entry->start), &pps[b], &got, c,
		    access, entry->advice, PGO_LOCKED |
		    (allpages ? PGO_ALLPAGES : 0));
		mutex_exit(&uobj->vmobjlock);
		if (c < 0)
			continue;
		if (rv != VM_PAGER_OK && rv != VM_PAGER_UNLOCK)
			result = KERN_FAILURE;
		else if (rv == VM_PAGER_UNLOCK && (pps[center] == NULL ||
		    pps[center] == PGO_DONTCARE))
			result = FAULT_RETRY;
	}
	for (i = 0; i < n; i++)
		if (pps[i] == PGO_DONTCARE)
			pps[i] = NULL;
	/* section 5: the access of the fault sets the bits */
	if (pmap_enter_pages(map->pmap, start, pps, n, entry->protection,
	    PMAP_CANFAIL | (unsigned)access, center) != 0 &&
	    result == KERN_SUCCESS)
		result = KERN_RESOURCE_SHORTAGE;
	uvm_lock_pageq();
	for (i = 0; i < n; i++)
		if (pps[i] != NULL && pps[i]->wire_count == 0)
			uvm_pageactivate(pps[i]);
	uvm_unlock_pageq();
	mutex_enter(&uobj->vmobjlock);
	uvm_page_unbusy(pps, n);
	mutex_exit(&uobj->vmobjlock);
	return result;
}

/*
 * fault_wait_page: the page at va is busy, in swap, or memory is short:
 * get it the slow way (may sleep), then let the caller retry.
 * => map unlocked on entry and exit.
 * => 0, or -1 when the pager failed for good (a swap read error, or
 *    memory and swap exhausted).
 */
static int
fault_wait_page(struct uvm_object *uobj, voff_t off, vm_prot_t access,
    int advice)
{
	struct vm_page *pg = NULL;
	int one = 1, rv;

	mutex_enter(&uobj->vmobjlock);
	rv = uobj->pgops->pgo_get(uobj, off, &pg, &one, 0, access, advice, 0);
	/* the pager unlocked the object; give the page back unbusied */
	if (pg != NULL && pg != PGO_DONTCARE) {
		mutex_enter(&uobj->vmobjlock);
		uvm_page_unbusy(&pg, 1);
		mutex_exit(&uobj->vmobjlock);
	}
	return rv == VM_PAGER_OK || rv == VM_PAGER_AGAIN ? 0 : -1;
}

/*
 * uvm_fault: resolve a fault at vaddr in orig_map (kernel_map or a
 * submap of it).
 * => no VM lock held on entry.  May sleep (for memory, or for a busy
 *    page).
 * => KERN_SUCCESS when the page is mapped with the access asked for;
 *    KERN_INVALID_ADDRESS (no entry, or no pager), KERN_PROTECTION_FAILURE
 *    (the entry does not allow the access), KERN_RESOURCE_SHORTAGE (no
 *    host mapping left).
 */
int
uvm_fault(struct vm_map *orig_map, vaddr_t vaddr, vm_fault_t fault_type,
    vm_prot_t access_type)
{
	struct vm_map *map;
	struct vm_map_entry *entry;
	struct uvm_object *uobj;
	vaddr_t start, end;
	paddr_t pa;
	int rv, pagedin = 0;
	UVMHIST_FUNC("uvm_fault");
	UVMHIST_LOG(faulthist, "(map=%p, vaddr=%#lx, ft=%d, at=%d)", orig_map,
	    vaddr, fault_type, access_type);

	(void)fault_type;
	vaddr = trunc_page(vaddr);
	KVA_PROBE_FAULT(vaddr, access_type);
	__atomic_fetch_add(&uvmexp.faults, 1, __ATOMIC_RELAXED);
again:
	map = orig_map;
	rv = fault_lookup(&map, vaddr, &entry);
	if (rv != KERN_SUCCESS)
		return rv;
	if ((entry->protection & access_type) != access_type) {
		vm_map_unlock(map);
		return KERN_PROTECTION_FAILURE;
	}
	uobj = UVM_ET_ISOBJ(entry) ? entry->object.uvm_obj : NULL;
	if (uobj == NULL || uobj->pgops == NULL || uobj->pgops->pgo_get == NULL) {
		vm_map_unlock(map);
		return KERN_INVALID_ADDRESS;
	}

	/* section 2: mapped already, to this object's own page.  Under the
	 * object lock, and only while the page is not busy: the page daemon
	 * busies a page and removes its mappings under that lock before it
	 * decides whether the page is dirty, so a fault that got here first
	 * has set the modified bit by then, and one that comes later waits
	 * for the pageout instead of mapping a page on its way out */
	if (pmap_extract(map->pmap, vaddr, &pa)) {
		struct vm_page *pg = PHYS_TO_VM_PAGE(pa);
		voff_t off = entry->offset + (voff_t)(vaddr - entry->start);
		paddr_t pa2;

		mutex_enter(&uobj->vmobjlock);
		if (pg->uobject == uobj && pg->offset == off &&
		    (pg->flags & (PG_BUSY | PG_RELEASED)) == 0 &&
		    pmap_extract(map->pmap, vaddr, &pa2) && pa2 == pa) {
			rv = pmap_enter(map->pmap, vaddr,
			    pa & ~(paddr_t)PAGE_MASK, entry->protection,
			    (unsigned)access_type | PMAP_CANFAIL);
			pmap_emulate_access(pg, access_type);
			mutex_exit(&uobj->vmobjlock);
			if (rv == 0)
				rv = pmap_sync(map->pmap);
			vm_map_unlock(map);
			return rv == 0 ? KERN_SUCCESS : KERN_RESOURCE_SHORTAGE;
		}
		mutex_exit(&uobj->vmobjlock);
		/* someone else's page, or one in flight: the object's page
		 * replaces it, or is waited for */
	}

	/* sections 3 and 4 */
	fault_window(entry, vaddr, pagedin, &start, &end);
	rv = fault_map(map, entry, uobj, start, end, vaddr, access_type,
	    end - start > ptoa(uvm_fault_advice[UVM_ADV_SEQUENTIAL].nforw +
	    uvm_fault_advice[UVM_ADV_SEQUENTIAL].nback + 1));
	if (rv == FAULT_RETRY) {
		voff_t off = entry->offset + (voff_t)(vaddr - entry->start);
		int advice = entry->advice;

		pmap_update(map->pmap);
		vm_map_unlock(map);
		if (fault_wait_page(uobj, off, access_type, advice) != 0)
			return KERN_RESOURCE_SHORTAGE;
		/* at a chunk's start the pager read the chunk: map it whole */
		pagedin = (off & (voff_t)(FAULT_CHUNK - 1)) == 0;
		goto again;
	}
	if (rv == KERN_SUCCESS && pmap_sync(map->pmap) != 0) {
		/* the host refused: take back what this fault entered */
		pmap_remove(map->pmap, start, end);
		pmap_update(map->pmap);
		rv = KERN_RESOURCE_SHORTAGE;
	} else if (rv != KERN_SUCCESS) {
		pmap_update(map->pmap);
	}
	vm_map_unlock(map);
	UVMHIST_LOG(faulthist, "<- done (rv=%d, %#lx-%#lx)", rv, start, end, 0);
	return rv;
}

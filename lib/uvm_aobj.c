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
 * page when it is not resident (0 = none).  The table is a flat array
 * from the bootstrap region, made when the first slot is set.
 */
#include "kva_impl.h"
#include "pmap_posix/pmap_md.h"

struct uvm_aobj {
	struct uvm_object u_obj;	/* must be first */
	size_t u_pages;			/* (C) size in pages */
	int u_flags;			/* (C) UAO_FLAG_* */
	int *u_swslots;			/* (O) slot per page, or NULL */
};

static struct uvm_aobj kernel_object_store;
static struct kva_pool uao_pool;

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
	aobj->u_swslots = NULL;
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
	mutex_exit(&uobj->vmobjlock);
	mutex_destroy(&uobj->vmobjlock);
	kva_pool_put(&uao_pool, aobj);
}

/*
 * uao_set_swslot: record slot for page pageidx, return the old one.
 * => object locked.
 */
int
uao_set_swslot(struct uvm_object *uobj, size_t pageidx, int slot)
{
	struct uvm_aobj *aobj = (struct uvm_aobj *)uobj;
	int old;

	KASSERT(uobj->pgops == &aobj_pager);
	if (pageidx >= aobj->u_pages)
		panic("uao_set_swslot(%p, %zu, %d): beyond %zu pages",
		    (void *)uobj, pageidx, slot, aobj->u_pages);
	if (aobj->u_swslots == NULL) {
		if (slot == 0)
			return 0;
		aobj->u_swslots = pmap_bootstrap_alloc(aobj->u_pages *
		    sizeof(int));
		if (aobj->u_swslots == NULL)
			panic("uao_set_swslot: no memory for a slot table of "
			    "%zu pages", aobj->u_pages);
	}
	old = aobj->u_swslots[pageidx];
	aobj->u_swslots[pageidx] = slot;
	return old;
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
 */
int
uvm_pager_zfill_get(struct uvm_object *uobj, voff_t offset,
    struct vm_page **pps, int *npagesp, int centeridx, int flags,
    int pgaflags, int alloc_all, const char *wmsg)
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
			if (pg == NULL) {
				pg = uvm_pagealloc(uobj, off, NULL,
				    UVM_PGA_ZERO | pgaflags);
				if (pg == NULL) {
					mutex_exit(&uobj->vmobjlock);
					uvm_wait(wmsg);
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

/* uao_get: the aobj pager's get; pages come from 2 MiB reservations */
static int
uao_get(struct uvm_object *uobj, voff_t offset, struct vm_page **pps,
    int *npagesp, int centeridx, vm_prot_t access_type, int advice,
    int flags)
{
	(void)access_type;
	(void)advice;
	return uvm_pager_zfill_get(uobj, offset, pps, npagesp, centeridx,
	    flags, UVM_PGA_RESERV, 0, "uao_get");
}

int
uvm_object_is_kernel(const struct uvm_object *uobj)
{
	return uobj != NULL && (uobj == uvm.kernel_object ||
	    uobj == uvmexp.kmem_object || uobj == uvmexp.mb_object);
}

/*
 * uvm_km.c: kernel memory allocation, the interface of NetBSD's uvm_km.c
 * (revision 1.13), with its names and argument orders.
 *
 * 1. kernel_map covers the whole kernel VA.  [VM_MIN_KERNEL_ADDRESS,
 *    start) is what the bootstrap used (the VM's own structures live
 *    there) and is entered in the map first, so nothing else lands there.
 *    Submaps (kmem_map) take over a range of kernel_map and have their
 *    own lock.
 *
 * 2. Kernel objects.  uvm.kernel_object (an aobj) holds pageable and
 *    wired kernel memory; kmem_object and mb_object (the km pager) hold
 *    the wired memory of their submaps.  In every kernel object the
 *    offset of a page is its VA minus vm_map_min(kernel_map), and
 *    unmapping a range frees its pages at once (uvm_km_pgremove), since
 *    kernel memory has no backing store to keep them for.
 *
 * 3. Wired allocation (uvm_km_alloc1, uvm_km_kmemalloc) takes VA, then
 *    physically contiguous runs of pages where it can, enters them with
 *    PMAP_CANFAIL, and pushes them to the host in one pmap_sync, so that
 *    a 16-page allocation is one host call.  Any failure (no memory with
 *    NOWAIT, no host mapping left) undoes everything: every page and all
 *    VA go back, and the caller gets 0.  The seed's NOWAIT loop freed only
 *    what it had not allocated yet; this one gives back all.
 *
 * 4. Zeroing: uvm_km_alloc1(zeroit) zeroes through the new kernel VA once
 *    the pages are mapped (so no page is ever mapped twice), and only the
 *    pages not already known to be zero.
 *
 * 5. Valgrind.  Under valgrind, each wired block is announced as a heap
 *    block (kva_track_malloclike: undefined unless zeroed), its first page
 *    marked PG_KMBLOCK, and uvm_km_free withdraws it: memcheck then reports
 *    reads of never-written memory, accesses after uvm_km_free with the
 *    freeing stack, and blocks never freed as leaks with their allocating
 *    stack, as it does for malloc.
 */
#include "kva_impl.h"
#include "pmap_posix/pmap_md.h"
#include "kva_track.h"
#include "uvm_hist.h"
#include "kva_report.h"

extern vaddr_t kva_kernel_base;		/* kva_init.c */
struct vm_map *kernel_map;
struct vm_map *kmem_map;
struct vm_map kernel_map_store;
struct uvm uvm;

static struct uvm_object kmem_object_store;
static struct uvm_object mb_object_store;

static int uvm_km_get(struct uvm_object *, voff_t, struct vm_page **, int *,
    int, vm_prot_t, int, int);

const struct uvm_pagerops km_pager = {
	.pgo_get = uvm_km_get,
	.pgo_name = "km",
};

/*
 * uvm_km_get: the km pager's get, for kmem_object and mb_object: pages
 * have no backing store, so "I/O" is zero-filling (uvm_aobj.c's
 * uvm_pager_zfill_get, with the seed's semantics for PGO_LOCKED).
 */
static int
uvm_km_get(struct uvm_object *uobj, voff_t offset, struct vm_page **pps,
    int *npagesp, int centeridx, vm_prot_t access_type, int advice,
    int flags)
{
	(void)access_type;
	(void)advice;
	return uvm_pager_zfill_get(uobj, offset, pps, npagesp, centeridx,
	    flags, 0, 1, "uvm_km_get", NULL);
}

static void
km_object_init(struct uvm_object *uobj)
{
	mutex_init(&uobj->vmobjlock);
	uobj->pgops = &km_pager;
	TAILQ_INIT(&uobj->memq);
	uobj->uo_npages = 0;
	uobj->uo_refs = UVM_OBJ_KERN;
}

/*
 * uvm_km_init: set up the kernel objects and kernel_map.
 * => [vm_map_min, start) is already in use (the bootstrap region); end is
 *    the end of the kernel VA.
 */
void
uvm_km_init(vm_offset_t start, vm_offset_t end)
{
	vaddr_t base = kva_kernel_base;

	uvm.kernel_object = uao_create(end - base, UAO_FLAG_KERNOBJ);
	km_object_init(&kmem_object_store);
	uvmexp.kmem_object = &kmem_object_store;
	km_object_init(&mb_object_store);
	uvmexp.mb_object = &mb_object_store;

	uvm_map_setup(&kernel_map_store, base, end, FALSE);
	kernel_map_store.pmap = pmap_kernel();
	kernel_map_store.name = "kernel_map";
	if (start > base && uvm_map(&kernel_map_store, &base, start - base,
	    NULL, UVM_UNKNOWN_OFFSET, UVM_MAPFLAG(UVM_PROT_ALL, UVM_PROT_ALL,
	    UVM_INH_NONE, UVM_ADV_RANDOM, UVM_FLAG_FIXED)) != KERN_SUCCESS)
		panic("uvm_km_init(%#lx, %#lx): cannot reserve the bootstrap "
		    "region", (unsigned long)start, (unsigned long)end);
	kernel_map = &kernel_map_store;
}

void
uvm_km_fini(void)
{
	kernel_map = NULL;
	kmem_map = NULL;
	uvm.kernel_object = NULL;
	uvmexp.kmem_object = NULL;
	uvmexp.mb_object = NULL;
	memset(&kmem_object_store, 0, sizeof(kmem_object_store));
	memset(&mb_object_store, 0, sizeof(mb_object_store));
	memset(&kernel_map_store, 0, sizeof(kernel_map_store));
}

/*
 * uvm_km_suballoc: make a submap of map covering size bytes.
 * => fixed: the submap starts at *min; else anywhere, *min set.
 * => submap != NULL: use that (static) map, else create one.
 * => returns the submap with [*min, *max) filled in, or NULL (nothing
 *    taken) if the parent has no room.  The seed panicked here; a
 *    library reports it.
 */
struct vm_map *
uvm_km_suballoc(struct vm_map *map, vm_offset_t *min, vm_offset_t *max,
    vm_size_t size, boolean_t pageable, boolean_t fixed,
    struct vm_map *submap)
{
	uvm_flag_t mapflags = UVM_FLAG_NOMERGE | (fixed ? UVM_FLAG_FIXED : 0);
	UVMHIST_FUNC("uvm_km_suballoc"); UVMHIST_CALLED(maphist);

	UVMHIST_LOG(maphist, "(map=%p, size=%#lx, pageable=%d, fixed=%d)", map,
	    size, pageable, fixed);
	size = round_page(size);
	if (size == 0)
		return NULL;
	if (!fixed)
		*min = vm_map_min(map);
	if (uvm_map(map, min, size, NULL, UVM_UNKNOWN_OFFSET,
	    UVM_MAPFLAG(UVM_PROT_ALL, UVM_PROT_ALL, UVM_INH_NONE,
	    UVM_ADV_RANDOM, mapflags)) != KERN_SUCCESS)
		return NULL;
	*max = *min + size;

	if (submap == NULL) {
		submap = uvm_map_create(vm_map_pmap(map), *min, *max, pageable);
		if (submap == NULL) {
			uvm_unmap(map, *min, *max);
			return NULL;
		}
	} else {
		uvm_map_setup(submap, *min, *max, pageable);
		submap->pmap = vm_map_pmap(map);
	}
	pmap_reference(vm_map_pmap(map));
	if (uvm_map_submap(map, *min, *max, submap) != KERN_SUCCESS)
		panic("uvm_km_suballoc(%p, %#lx, %#lx, %#zx): cannot install "
		    "the submap it just reserved", (void *)map,
		    (unsigned long)*min, (unsigned long)*max, size);
	UVMHIST_LOG(maphist, "<- done (submap=%p, min=%#lx, max=%#lx)", submap,
	    *min, *max, 0);
	return submap;
}

/*
 * uvm_km_pgremove: free the pages of a kernel object in [start, end)
 * (object offsets).
 * => busy pages are marked PG_RELEASED for their owner to free.
 * => every mapping of a freed page is removed (and pushed to the host)
 *    before the page is freed, and its swap slot, if any, is freed.
 * => object unlocked on entry and exit.
 */
#define PGREMOVE_BATCH 64
#define UKM_LOOKUP_PENALTY 4	/* a lookup costs about this many list steps */

void
uvm_km_pgremove(struct uvm_object *uobj, vm_offset_t start, vm_offset_t end)
{
	UVMHIST_FUNC("uvm_km_pgremove"); UVMHIST_CALLED(maphist);

	UVMHIST_LOG(maphist, "(uobj=%p, start=%#lx, end=%#lx)", uobj, start,
	    end, 0);
	uvm_km_pgremove_dead(uobj, start, end);
	/* valgrind: a kernel object's range stays usable, refilled with
	 * zeros on touch */
	if (uvm_object_is_kernel(uobj) && kva_track_on_valgrind())
		kva_track_defined((void *)(kva_kernel_base + start), end - start);
}

/*
 * uvm_km_pgremove_dead: uvm_km_pgremove for a range whose VA is going
 * away (uvm_unmap_remove): the same, without telling valgrind the range
 * is usable.
 */
void
uvm_km_pgremove_dead(struct uvm_object *uobj, vm_offset_t start,
    vm_offset_t end)
{
	struct vm_page *batch[PGREMOVE_BATCH], *pg, *next;
	int is_aobj = uobj->pgops == &aobj_pager;
	size_t npages = (end - start) >> PAGE_SHIFT;
	voff_t off;
	int n = 0, i, by_list;

	if (end <= start)
		return;
	mutex_enter(&uobj->vmobjlock);
	by_list = (size_t)uobj->uo_npages <= npages * UKM_LOOKUP_PENALTY;
	off = (voff_t)start;
	pg = by_list ? TAILQ_FIRST(&uobj->memq) : NULL;
	for (;;) {
		if (by_list) {
			if (pg == NULL)
				break;
			next = TAILQ_NEXT(pg, listq);
			if (pg->offset < (voff_t)start || pg->offset >= (voff_t)end) {
				pg = next;
				continue;
			}
		} else {
			if (off >= (voff_t)end)
				break;
			pg = uvm_pagelookup(uobj, off);
			off += (voff_t)PAGE_SIZE;
			next = NULL;
			if (pg == NULL)
				continue;
		}
		if (pg->flags & PG_BUSY) {
			pg->flags |= PG_RELEASED;
		} else {
			pmap_page_protect(pg, VM_PROT_NONE);
			/* take it out of the object now, free after update */
			uvm_pageremove(pg);
			pg->flags |= PG_BUSY;
			batch[n++] = pg;
			if (n == PGREMOVE_BATCH) {
				pmap_update(pmap_kernel());
				for (i = 0; i < n; i++)
					uvm_pagefree(batch[i]);
				n = 0;
			}
		}
		if (by_list)
			pg = next;
	}
	if (n > 0) {
		pmap_update(pmap_kernel());
		for (i = 0; i < n; i++)
			uvm_pagefree(batch[i]);
	}
	/* and what of the range is in swap, resident or not */
	if (is_aobj)
		uao_dropswap_range(uobj, (voff_t)start, (voff_t)end);
	mutex_exit(&uobj->vmobjlock);
}

/*
 * km_undo: give back what a wired allocation took: the pages entered in
 * obj at [offset, offset + size) and the VA [kva, kva + size).
 */
static void
km_undo(vm_map_t map, struct uvm_object *obj, vaddr_t kva, voff_t offset,
    vsize_t size)
{
	pmap_remove(vm_map_pmap(map), kva, kva + size);
	pmap_update(vm_map_pmap(map));
	if (!uvm_object_is_kernel(obj))
		uvm_km_pgremove(obj, (vm_offset_t)offset,
		    (vm_offset_t)offset + size);
	/* for kernel objects uvm_unmap frees the pages itself */
	uvm_unmap(map, kva, kva + size);
}

/* km_note_alloc: what every successful allocation tells the observers */
static inline void
km_note_alloc(vm_map_t map, vaddr_t kva, vsize_t size)
{
	KVA_PROBE_KM_ALLOC(map, kva, size);
	KVA_STACK_NOTE(KVA_STACK_ALLOC, kva, kva + size);
}

/* km_note_free: the same for a free, before the range goes */
static inline void
km_note_free(vm_map_t map, vaddr_t start, vaddr_t end)
{
	KVA_PROBE_KM_FREE(map, start, end - start);
	KVA_STACK_NOTE(KVA_STACK_FREE, start, end);
}

/*
 * km_alloc_wired: the common body of uvm_km_kmemalloc and uvm_km_alloc1
 * (section 3).
 * => map unlocked.  May sleep for memory unless UVM_KMF_NOWAIT.
 * => returns the VA, or 0 with nothing left behind.
 */
static vaddr_t
km_alloc_wired(vm_map_t map, struct uvm_object *obj, vsize_t size, int flags,
    int zeroit)
{
	vaddr_t kva, va;
	voff_t offset;
	size_t npages, done = 0, want, i;
	int error = 0;

	if (KVA_UNLIKELY(vm_map_pmap(map) != pmap_kernel()))
		panic("km_alloc_wired(%p, %p, %#zx, %#x): not a kernel map",
		    (void *)map, (void *)obj, size, flags);
	if (size == 0 || size > vm_map_max(map) - vm_map_min(map))
		return 0;
	size = round_page(size);
	npages = size >> PAGE_SHIFT;
	kva = vm_map_min(map);
	if (uvm_map(map, &kva, size, obj, UVM_UNKNOWN_OFFSET,
	    UVM_MAPFLAG(UVM_PROT_ALL, UVM_PROT_ALL, UVM_INH_NONE,
	    UVM_ADV_RANDOM, flags & UVM_KMF_TRYLOCK)) != KERN_SUCCESS)
		return 0;
	if (flags & UVM_KMF_VALLOC) {
		if (obj != NULL && obj->pgops != NULL &&
		    obj->pgops->pgo_get != NULL)
			kva_track_defined((void *)kva, size);	/* pager fills */
		km_note_alloc(map, kva, size);
		return kva;
	}

	offset = UVM_KOBJ_OFFSET(kva);
	want = npages;
	while (done < npages) {
		struct vm_page *run;
		size_t n = npages - done < want ? npages - done : want;

		/* a page the object still holds here must be on its way out */
		mutex_enter(&obj->vmobjlock);
		run = uvm_pagelookup(obj, offset + (voff_t)ptoa(done));
		if (run != NULL) {
			if ((run->flags & PG_RELEASED) == 0)
				panic("km_alloc_wired: page %p at offset %#lx of "
				    "object %p is not released", (void *)run,
				    (unsigned long)(offset + (voff_t)ptoa(done)),
				    (void *)obj);
			run->flags |= PG_WANTED;
			UVM_UNLOCK_AND_WAIT(run, &obj->vmobjlock, 0,
			    "km_alloc", 0);
			continue;
		}
		mutex_exit(&obj->vmobjlock);

		/* zeroit: known-zero pages first (uvm_page.c, section 9) */
		run = uvm_pglistalloc_contig(n, zeroit ? UVM_PGA_ZEROPREF : 0);
		if (run == NULL && n > 1) {
			want = n / 2;		/* try smaller runs */
			continue;
		}
		if (run == NULL) {
			if (flags & UVM_KMF_NOWAIT) {
				error = ENOMEM;
				break;
			}
			uvm_wait("km_getwait2");
			want = npages;
			continue;
		}
		mutex_enter(&obj->vmobjlock);
		for (i = 0; i < n; i++) {
			struct vm_page *pg = run + i;

			uvm_pageinsert(pg, obj, offset + (voff_t)ptoa(done + i));
			pg->flags &= ~(PG_BUSY | PG_FAKE);
			pg->owner_tag = NULL;
		}
		mutex_exit(&obj->vmobjlock);
		uvm_lock_pageq();
		for (i = 0; i < n; i++)
			uvm_pagewire(run + i);
		uvm_unlock_pageq();
		for (i = 0; i < n; i++) {
			va = kva + ptoa(done + i);
			error = pmap_enter(vm_map_pmap(map), va,
			    VM_PAGE_TO_PHYS(run + i), VM_PROT_ALL,
			    PMAP_WIRED | PMAP_CANFAIL);
			if (error != 0)
				break;
		}
		done += n;
		if (error != 0)
			break;
	}
	if (error == 0)
		error = -pmap_sync(vm_map_pmap(map));
	if (error != 0) {
		km_undo(map, obj, kva, offset, size);
		return 0;
	}
	/* the pages are ours alone: nobody else knows this VA yet */
	for (i = 0; i < npages; i++) {
		struct vm_page *pg;
		paddr_t pa;

		va = kva + ptoa(i);
		if (!pmap_extract(vm_map_pmap(map), va, &pa))
			panic("km_alloc_wired: %#lx not mapped after entry",
			    (unsigned long)va);
		pg = PHYS_TO_VM_PAGE(pa);
		if (zeroit && (pg->flags & PG_ZERO) == 0)
			memset((void *)va, 0, PAGE_SIZE);
		pg->flags &= ~PG_ZERO;
		if (i == 0 && kva_track_on_valgrind()) {
			pg->flags |= PG_KMBLOCK;
			kva_track_malloclike((void *)kva, size, 0, zeroit);
		}
	}
	km_note_alloc(map, kva, size);
	return kva;
}

/* km_untrack: withdraw the block at addr from valgrind, if announced */
static void
km_untrack(vm_map_t map, vaddr_t addr)
{
	paddr_t pa;

	if (!kva_track_on_valgrind() ||
	    !pmap_extract(vm_map_pmap(map), addr, &pa))
		return;
	if (PHYS_TO_VM_PAGE(pa)->flags & PG_KMBLOCK) {
		PHYS_TO_VM_PAGE(pa)->flags &= ~PG_KMBLOCK;
		kva_track_freelike((void *)addr, 0);
	}
}

/*
 * uvm_km_kmemalloc: wired memory in map, backed by obj.
 * => UVM_KMF_VALLOC: VA only.  UVM_KMF_NOWAIT: 0 when memory runs out,
 *    with every page and all VA given back.  UVM_KMF_TRYLOCK: 0 rather
 *    than wait for the map lock.
 * => may return 0 even when allowed to wait, if the map has no room.
 */
vm_offset_t
uvm_km_kmemalloc(vm_map_t map, struct uvm_object *obj, vm_size_t size,
    int flags)
{
	vaddr_t kva;
	UVMHIST_FUNC("uvm_km_kmemalloc"); UVMHIST_CALLED(maphist);

	UVMHIST_LOG(maphist, "  (map=%p, obj=%p, size=%#lx, flags=%d)", map,
	    obj, size, flags);
	if (obj == NULL && (flags & UVM_KMF_VALLOC) == 0)
		return 0;
	kva = km_alloc_wired(map, obj, size, flags, 0);
	UVMHIST_LOG(maphist, "<- done (kva=%#lx)", kva, 0, 0, 0);
	return kva;
}

/*
 * uvm_km_free: free kernel memory; afterwards every access to the range
 * faults, and its pages are free.
 */
void
uvm_km_free(vm_map_t map, vm_offset_t addr, vm_size_t size)
{
	UVMHIST_FUNC("uvm_km_free");
	UVMHIST_LOG(maphist, "(map=%p, addr=%#lx, size=%#lx)", map, addr, size,
	    0);
	km_note_free(map, trunc_page(addr), round_page(addr + size));
	/* valgrind learns of the free while the VA is still ours */
	km_untrack(map, trunc_page(addr));
	kva_track_noaccess((void *)trunc_page(addr),
	    round_page(addr + size) - trunc_page(addr));
	uvm_unmap(map, trunc_page(addr), round_page(addr + size));
	trap_note_freed(map, trunc_page(addr), round_page(addr + size));
}

/*
 * uvm_km_free_wakeup: uvm_km_free, then wake whoever waits for VA in
 * map (uvm_km_valloc_wait).
 */
void
uvm_km_free_wakeup(vm_map_t map, vm_offset_t addr, vm_size_t size)
{
	struct vm_map_entry *dead = NULL;

	km_note_free(map, trunc_page(addr), round_page(addr + size));
	km_untrack(map, trunc_page(addr));
	kva_track_noaccess((void *)trunc_page(addr),
	    round_page(addr + size) - trunc_page(addr));
	vm_map_lock(map);
	uvm_unmap_remove(map, trunc_page(addr), round_page(addr + size), &dead);
	map->flags &= ~VM_MAP_WANTVA;
	wakeup(map);
	vm_map_unlock(map);
	trap_note_freed(map, trunc_page(addr), round_page(addr + size));
	if (dead != NULL)
		uvm_unmap_detach(dead);
}

/*
 * uvm_km_alloc1: wired memory in map, backed by uvm.kernel_object;
 * sleeps for memory; zeroed if zeroit.
 * => 0 if the map has no room or the host refuses the mappings.
 */
vm_offset_t
uvm_km_alloc1(vm_map_t map, vm_size_t size, boolean_t zeroit)
{
	vaddr_t kva;
	UVMHIST_FUNC("uvm_km_alloc1"); UVMHIST_CALLED(maphist);

	UVMHIST_LOG(maphist, "(map=%p, size=%#lx, zeroit=%d)", map, size,
	    zeroit, 0);
	kva = km_alloc_wired(map, uvm.kernel_object, size, 0, zeroit);
	UVMHIST_LOG(maphist, "<- done (kva=%#lx)", kva, 0, 0, 0);
	return kva;
}

/*
 * uvm_km_valloc: VA in map, backed by uvm.kernel_object; pages come
 * zero-filled on first touch and are pageable.
 */
vm_offset_t
uvm_km_valloc(vm_map_t map, vm_size_t size)
{
	vaddr_t kva;
	UVMHIST_FUNC("uvm_km_valloc"); UVMHIST_CALLED(maphist);

	UVMHIST_LOG(maphist, "(map=%p, size=%#lx)", map, size, 0, 0);
	if (KVA_UNLIKELY(vm_map_pmap(map) != pmap_kernel()))
		panic("uvm_km_valloc(%p, %#zx): not a kernel map", (void *)map,
		    size);
	size = round_page(size);
	if (size == 0)
		return 0;
	kva = vm_map_min(map);
	if (uvm_map(map, &kva, size, uvm.kernel_object, UVM_UNKNOWN_OFFSET,
	    UVM_MAPFLAG(UVM_PROT_ALL, UVM_PROT_ALL, UVM_INH_NONE,
	    UVM_ADV_RANDOM, 0)) != KERN_SUCCESS) {
		UVMHIST_LOG(maphist, "<- done (no VM)", 0, 0, 0, 0);
		return 0;
	}
	/* valgrind: the range is usable (zero-filled on touch), although
	 * the host holds it PROT_NONE until the fault */
	kva_track_defined((void *)kva, size);
	UVMHIST_LOG(maphist, "<- done (kva=%#lx)", kva, 0, 0, 0);
	km_note_alloc(map, kva, size);
	return kva;
}

/*
 * uvm_km_valloc_wait: uvm_km_valloc that sleeps until VA is freed with
 * uvm_km_free_wakeup.
 * => returns 0 at once if size is larger than the map.
 */
vm_offset_t
uvm_km_valloc_wait(vm_map_t map, vm_size_t size)
{
	vaddr_t kva;
	UVMHIST_FUNC("uvm_km_valloc_wait"); UVMHIST_CALLED(maphist);

	UVMHIST_LOG(maphist, "(map=%p, size=%#lx)", map, size, 0, 0);
	size = round_page(size);
	if (size == 0 || size > vm_map_max(map) - vm_map_min(map))
		return 0;
	for (;;) {
		kva = uvm_km_valloc(map, size);
		if (kva != 0)
			return kva;
		/*
		 * Sleep with the map lock as interlock: a free between our
		 * failed attempt and the check below is seen by the check,
		 * and one after it wakes us.
		 */
		vm_map_lock(map);
		if (uvm_map_maxfree(map) >= size) {
			vm_map_unlock(map);
			continue;
		}
		map->flags |= VM_MAP_WANTVA;
		UVMHIST_LOG(maphist, "<<<sleeping>>>", 0, 0, 0, 0);
		(void)ltsleep(map, PVM | PNORELOCK, "vallocwait", 0, &map->lock);
	}
}

/*
 * uvm_km_alloc_poolpage1: a page for the pool allocator, through the
 * direct map (PMAP_MAP_POOLPAGE): no system call.
 * => 0 when no page is free (never sleeps).
 */
vm_offset_t
uvm_km_alloc_poolpage1(vm_map_t map, struct uvm_object *obj)
{
	struct vm_page *pg;

	(void)map;
	(void)obj;
	pg = uvm_pagealloc(NULL, 0, NULL, 0);
	if (pg == NULL)
		return 0;
	pg->flags = (uint16_t)((pg->flags & ~(PG_BUSY | PG_FAKE | PG_ZERO)) |
	    PG_POOL);
	pg->owner_tag = "poolpage";
	uvm_lock_pageq();
	uvm_pagewire(pg);
	uvm_unlock_pageq();
	return PMAP_MAP_POOLPAGE(VM_PAGE_TO_PHYS(pg));
}

/*
 * uvm_km_free_poolpage1: give back a page of uvm_km_alloc_poolpage1.
 * => panics on an address that is not a live pool page.
 */
void
uvm_km_free_poolpage1(vm_map_t map, vm_offset_t addr)
{
	paddr_t pa;
	struct vm_page *pg;

	(void)map;
	if ((addr & PAGE_MASK) != 0 || !pmap_extract(pmap_kernel(), addr, &pa) ||
	    addr != pmap_direct_map(pa))
		panic("uvm_km_free_poolpage1(%p, %#lx): not a pool page",
		    (void *)map, (unsigned long)addr);
	pg = PHYS_TO_VM_PAGE(pa);
	if ((pg->flags & PG_POOL) == 0 || (pg->pqflags & PQ_FREE))
		panic("uvm_km_free_poolpage1(%p, %#lx): page %p is not a live "
		    "pool page (flags %#x)", (void *)map, (unsigned long)addr,
		    (void *)pg, pg->flags);
	pg->flags &= ~PG_POOL;
	uvm_pagefree(pg);
}

/*
 * uvm_pdaemon.c: the page daemon, which keeps free memory above
 * uvmexp.freemin by paging out pageable kernel memory.
 *
 * Theory of operation
 *
 * 1. When.  The daemon is one thread.  It sleeps until free memory falls
 *    below uvmexp.freemin (uvm_pagealloc kicks it) or a thread waits for
 *    memory (uvm_wait), then works until free memory is back at
 *    uvmexp.freetarg or nothing more can be freed.  freemin is 1/32 of
 *    physical memory, at least 64 pages and at most 16 MiB, and freetarg
 *    4/3 of it, as NetBSD's uvmpd_tune; but at least two 2 MiB chunks
 *    where that is at most 1/8 of memory, since paging moves whole chunks
 *    (section 3).  KVA_OPTIONS freemin= and freetarg= set them.
 *
 * 2. Queues and aging.  Pageable pages (resident pages of aobjs, such as
 *    uvm.kernel_object under uvm_km_valloc) are on the active or the
 *    inactive queue; wired pages (uvm_km_alloc1, uvm_km_kmemalloc, pool
 *    pages) are on neither and never paged.  As UVM's clock: the daemon
 *    keeps a third of the queued pages inactive by moving the oldest
 *    active pages to the inactive queue and clearing their referenced
 *    bit, which the pmap emulates by taking away host access (pmap.c,
 *    section 7): a page touched again faults, gets its bit set, and when
 *    the daemon reaches it on the inactive queue it goes back to active.
 *    The active pages mapped in the same aligned 2 MiB of VA as the
 *    oldest one go with it, so that the pmap sees the whole chunk lose
 *    access at once and moves it aside rather than taking access away
 *    page by page (pmap.c, section 11: on a shadow-paging host each page
 *    would cost a hypervisor exit at its next use).
 *
 * 3. Freeing.  When an unreferenced inactive page is reached, the
 *    resident pages of its object in the same aligned 2 MiB of offsets
 *    go out together if none of them is referenced, busy or wired: all
 *    are unmapped in one update (a parked chunk then becomes a warm run,
 *    whose frames the writes read where the host still maps them), the
 *    dirty ones are written to runs of contiguous slots, and all are
 *    freed; page-in brings such a chunk back whole.  Otherwise the page
 *    goes alone: an unreferenced inactive page that is clean (never
 *    written since it was zero-filled or read back, so its contents are
 *    zero or are still in its swap slot) is unmapped and freed at once.
 *    A dirty one is paged out: the daemon gathers the dirty, unwired,
 *    unbusy resident neighbours of the same object on both sides into a
 *    cluster of up to PD_CLUSTER pages, unmaps and busies them, drops
 *    every lock, takes a run of contiguous swap slots and writes the
 *    cluster with pwritev (uvm_swap_io: through the direct map, or the
 *    warm run that holds the frames).  Then it records the slots in the
 *    object and frees the pages.  A fault on a page in
 *    flight waits on the busy page and then pages it back in.  A page
 *    removed while in flight (uvm_km_pgremove marks it PG_RELEASED) has
 *    its new slot freed with it.
 *
 * 4. Giving up.  When PD_FRUITLESS passes running, over a second or
 *    more, free nothing and start no pageout while threads wait for
 *    memory, memory and swap are exhausted: the waiters are told so
 *    (uvm_wait_or_fail returns ENOMEM; uvm_wait panics naming the sizes;
 *    a fault reports "out of memory and swap").  The first page freed
 *    ends that state.
 *
 * Locks: the daemon takes the page queue lock, and each page's object
 * lock with mutex_tryenter only (the object lock ranks before the queue
 * lock; a page whose object is busy is skipped this time).  No lock is
 * held across swap I/O; uvm_swap_iolock is held for reading from the
 * moment pages are made busy until they are freed or given back, so
 * fork waits until no page is in flight.  pd.lock is a leaf that guards
 * the sleep.
 */
#include "kva_impl.h"
#include "pmap_posix/pmap_md.h"
#include "uvm_hist.h"
#include "kva_track.h"

#include <pthread.h>
#include <stdio.h>

#define PD_CLUSTER	64	/* pages written by one pageout */
#define PD_BATCH	64	/* clean pages freed per pmap update */
#define PD_FRUITLESS	3	/* idle passes before giving up */
#define PD_NAP		(hz / 4)	/* sleep between checks, ticks */
#define PD_GIVEUP_NS	1000000000ULL	/* no progress this long: give up */

static struct {
	kmutex_t lock;
	pthread_t thread;
	int running;		/* (L) the thread exists */
	int stop;		/* (L) asked to stop */
	int kicked;		/* atomic: a wakeup is on its way */
	int fruitless;		/* (daemon) passes that did nothing */
	uint64_t progress_ns;	/* (daemon) when a pass last freed */
	int restart_in_child;	/* fork: start again in the child */
	struct vm_page *chunk[UVM_RESV_PAGES_MAX];	/* (daemon) pd_age's */
} pd = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* what one pass did */
struct pd_pass {
	long freed, pageouts, aged, swapfull;
};

/* pd_need: the daemon has work: memory low, or someone waits for it */
static inline int
pd_need(void)
{
	return __atomic_load_n(&uvmexp.free, __ATOMIC_RELAXED) <
	    uvmexp.freemin || uvm_free_waiters_count() > 0;
}

/*
 * pd_dirty: pg holds data that exists nowhere else.
 * => object locked.  A page not PG_CLEAN has been written by its owner
 *    (or read back from swap and its slot dropped); the pmap's modified
 *    bit covers writes through mappings.
 */
static inline int
pd_dirty(struct vm_page *pg)
{
	return (pg->flags & PG_CLEAN) == 0 || pmap_is_modified(pg);
}

/* pd_pageable: pg, object locked, may be paged now */
static inline int
pd_pageable(struct vm_page *pg, struct uvm_object *uobj)
{
	return pg->uobject == uobj && pg->wire_count == 0 &&
	    (pg->flags & (PG_BUSY | PG_RELEASED)) == 0 &&
	    (pg->pqflags & (PQ_ACTIVE | PQ_INACTIVE)) != 0;
}

/*
 * pd_age: move pages from the head of the active queue to the inactive
 * queue until a third of the queued pages are inactive, clearing their
 * referenced bits (one pmap update for all).
 * => page queue lock held.  Returns how many moved.
 */
static long
pd_age(long atleast)
{
	long target = (uvmexp.active + uvmexp.inactive) / 3, n = 0;
	struct vm_page *pg;

	if (target < atleast)
		target = atleast;
	while (uvmexp.inactive < target &&
	    (pg = TAILQ_FIRST(&uvm_page_active)) != NULL) {
		vaddr_t va = __atomic_load_n(&pg->pv.va, __ATOMIC_RELAXED);
		int nc = va != 0 ? pmap_chunk_pages(va, pd.chunk) : 0;

		(void)pmap_clear_reference(pg);
		uvm_pagedeactivate(pg);
		n++;
		/* the active pages mapped in the same 2 MiB of VA go with
		 * it, so that the pmap can park the chunk whole (pmap.c,
		 * section 11) and the daemon page it out whole */
		for (int i = 0; i < nc; i++) {
			struct vm_page *p = pd.chunk[i];

			if (p == pg || (p->pqflags & PQ_ACTIVE) == 0)
				continue;
			(void)pmap_clear_reference(p);
			uvm_pagedeactivate(p);
			n++;
		}
	}
	if (n > 0)
		pmap_update(pmap_kernel());
	return n;
}

/*
 * pd_track_usable: valgrind: the host unmapping of a paged page made
 * its VA look unmapped; it is still usable (a touch pages it back in).
 */
static void
pd_track_usable(const vaddr_t *vas, int n)
{
	if (!kva_track_on_valgrind())
		return;
	for (int i = 0; i < n; i++)
		if (vas[i] != 0)
			kva_track_defined((void *)vas[i], PAGE_SIZE);
}

/*
 * pd_free_clean: free the clean pages of batch (unmapped, untabled,
 * off the queues, busy) after one pmap update.
 */
static void
pd_free_clean(struct vm_page **batch, const vaddr_t *vas, int n)
{
	if (n == 0)
		return;
	pmap_update(pmap_kernel());
	pd_track_usable(vas, n);
	for (int i = 0; i < n; i++) {
		batch[i]->flags &= (uint16_t)~PG_BUSY;
		uvm_pagefree(batch[i]);
	}
	__atomic_fetch_add(&uvmexp.pdfreed, n, __ATOMIC_RELAXED);
}

/*
 * pd_cluster: gather pg and its dirty pageable neighbours in uobj into
 * pps (at most PD_CLUSTER, in offset order), for pd_take.
 * => object and page queue locked.  Returns the count.
 */
static int
pd_cluster(struct uvm_object *uobj, struct vm_page *pg,
    struct vm_page **pps)
{
	struct vm_page *back[PD_CLUSTER];
	int nback = 0, n = 0;
	voff_t off;

	for (off = pg->offset - (voff_t)PAGE_SIZE;
	    off >= 0 && nback < PD_CLUSTER / 2; off -= (voff_t)PAGE_SIZE) {
		struct vm_page *p = uvm_pagelookup(uobj, off);

		if (p == NULL || !pd_pageable(p, uobj) || !pd_dirty(p))
			break;
		back[nback++] = p;
	}
	while (nback > 0)
		pps[n++] = back[--nback];
	pps[n++] = pg;
	for (off = pg->offset + (voff_t)PAGE_SIZE; n < PD_CLUSTER;
	    off += (voff_t)PAGE_SIZE) {
		struct vm_page *p = uvm_pagelookup(uobj, off);

		if (p == NULL || !pd_pageable(p, uobj) || !pd_dirty(p))
			break;
		pps[n++] = p;
	}
	return n;
}

/*
 * pd_chunk_gather: the resident pages of uobj in the aligned 2 MiB of
 * offsets that holds pg, into pps in offset order, when every one of
 * them may be paged now and none is referenced: the chunk goes out
 * whole (section 3).
 * => object and page queue locked.  The count, or 0: page pg alone.
 */
static int
pd_chunk_gather(struct uvm_object *uobj, struct vm_page *pg,
    struct vm_page **pps)
{
	voff_t o0 = pg->offset & ~(voff_t)(UVM_RESV_SIZE - 1), off;
	int n = 0;

	for (off = o0; off < o0 + (voff_t)UVM_RESV_SIZE;
	    off += (voff_t)PAGE_SIZE) {
		struct vm_page *p = off == pg->offset ? pg :
		    uvm_pagelookup(uobj, off);

		if (p == NULL)
			continue;
		if (!pd_pageable(p, uobj) || pmap_is_referenced(p))
			return 0;
		pps[n++] = p;
	}
	return n;
}

/*
 * pd_take: make pps[0..n) busy, take them off the queues and away from
 * every mapping, and note which are clean (nothing to write).
 * => object and page queue locked.
 */
static void
pd_take(struct vm_page **pps, vaddr_t *vas, uint8_t *clean, int n)
{
	for (int i = 0; i < n; i++) {
		clean[i] = !pd_dirty(pps[i]);
		pps[i]->flags |= PG_BUSY;
		pps[i]->owner_tag = "pageout";
		uvm_pagedequeue(pps[i]);
		vas[i] = pps[i]->pv.va;
		pmap_page_protect(pps[i], VM_PROT_NONE);
	}
}

/*
 * pd_pageout: write the dirty pages of pps[0..n) of uobj (clean[i] 0)
 * to swap, in runs of contiguous slots, and free them and the clean
 * ones; what cannot be written goes back on the active queue.
 * => no lock held; the pages are busy and ours.  Returns pages freed;
 *    *swapfull set when a dirty page found no slot.
 */
static int
pd_pageout(struct uvm_object *uobj, struct vm_page **pps,
    const vaddr_t *vas, const uint8_t *clean, int n, int *swapfull)
{
	struct vm_page *wps[UVM_RESV_PAGES_MAX];
	int wslot[UVM_RESV_PAGES_MAX];	/* per page of wps: its slot, or 0 */
	int done = 0, nw = 0, w, writes = 0, k;
	UVMHIST_FUNC("pd_pageout");

	__atomic_fetch_add(&uvmexp.paging, n, __ATOMIC_RELAXED);
	pmap_update(pmap_kernel());
	pd_track_usable(vas, n);
	for (int i = 0; i < n; i++)
		if (!clean[i])
			wps[nw++] = pps[i];
	for (w = 0; w < nw; w++)
		wslot[w] = 0;
	for (w = 0; w < nw; w += k) {
		int got = nw - w, slot = uvm_swap_alloc(&got, 1), error;

		if (slot == 0) {
			*swapfull = 1;
			break;
		}
		k = got;
		UVMHIST_LOG(pdhist, "pageout of %d pages of obj %p at off "
		    "%#lx: slot %d", got, uobj, wps[w]->offset, slot);
		for (int i = 0; i < got; i++)
			KVA_PROBE_PAGEOUT(VM_PAGE_TO_PHYS(wps[w + i]), uobj,
			    wps[w + i]->offset);
		error = uvm_swap_io(slot, wps + w, got, 1);
		if (error != 0) {
			static long nfailed;	/* (daemon) */

			/* the first failure, then one in a thousand */
			if (nfailed++ % 1000 == 0)
				kva_warn("kva: page daemon: swap write of %d "
				    "pages at slot %d failed: error %d; pages "
				    "kept (%ld failed writes)", got, slot,
				    -error, nfailed);
			uvm_swap_free(slot, got);
			break;
		}
		for (int i = 0; i < got; i++)
			wslot[w + i] = slot + i;
		writes++;
	}
	mutex_enter(&uobj->vmobjlock);
	for (int i = 0, wi = 0; i < n; i++) {
		struct vm_page *pg = pps[i];
		int slot = clean[i] ? 0 : wslot[wi++];

		if (clean[i] || slot != 0) {
			size_t idx = (size_t)pg->offset >> PAGE_SHIFT;
			int old;

			if (slot == 0) {
				/* clean: its contents are zero, or in its
				 * swap slot */
			} else if (pg->flags & PG_RELEASED) {
				uvm_swap_free(slot, 1);
			} else if ((old = uao_set_swslot(uobj, idx,
			    slot)) != 0) {
				uvm_swap_free(old, 1);
			}
			pg->flags &= (uint16_t)~PG_BUSY;
			uvm_pagefree(pg);
			done++;
			continue;
		}
		/* not written: it stays, dirty, as it was */
		uvm_pagewakeup(pg);
		if (pg->flags & PG_RELEASED) {
			pg->flags &= (uint16_t)~PG_BUSY;
			uvm_pagefree(pg);
			continue;
		}
		pg->flags &= (uint16_t)~PG_BUSY;
		pg->owner_tag = NULL;
		uvm_lock_pageq();
		uvm_pageactivate(pg);
		uvm_unlock_pageq();
	}
	mutex_exit(&uobj->vmobjlock);
	__atomic_fetch_sub(&uvmexp.paging, n, __ATOMIC_RELAXED);
	if (done > 0) {
		long out = 0;

		for (w = 0; w < nw; w++)
			out += wslot[w] != 0;
		__atomic_fetch_add(&uvmexp.pgswapout, out, __ATOMIC_RELAXED);
		__atomic_fetch_add(&uvmexp.pdpageouts, writes,
		    __ATOMIC_RELAXED);
		__atomic_fetch_add(&uvmexp.pdfreed, done, __ATOMIC_RELAXED);
	}
	return done;
}

/*
 * pd_lock_object: lock uobj, the object of pg, with the page queues
 * held.  The object lock ranks first, so only a try is safe; when it
 * fails (a fault holds the object and waits for the queues), a kernel
 * object, which never dies, is locked the right way round: queues
 * dropped, object, queues again.
 * => page queue lock held on entry and exit (maybe dropped between).
 * => 1 with the object locked and pg still its page and queued; 0 with
 *    the object unlocked: pg may be gone, rescan.
 */
static int
pd_lock_object(struct vm_page *pg, struct uvm_object *uobj)
{
	if (mutex_tryenter(&uobj->vmobjlock))
		return 1;
	if (uobj->uo_refs != UVM_OBJ_KERN)
		return 0;
	uvm_unlock_pageq();
	mutex_enter(&uobj->vmobjlock);
	uvm_lock_pageq();
	if (pg->uobject == uobj && (pg->pqflags & PQ_INACTIVE))
		return 1;
	mutex_exit(&uobj->vmobjlock);
	return 0;
}

/*
 * pd_scan: one pass over the inactive queue, freeing clean pages and
 * paging out dirty ones until free memory reaches freetarg.
 * => no lock held; uvm_swap_iolock held for reading.
 */
static void
pd_scan(struct pd_pass *pp)
{
	struct vm_page *batch[PD_BATCH], *pps[UVM_RESV_PAGES_MAX], *pg, *next;
	vaddr_t bvas[PD_BATCH], vas[UVM_RESV_PAGES_MAX];
	uint8_t clean[UVM_RESV_PAGES_MAX];
	struct uvm_object *nochunk_obj = NULL;
	voff_t nochunk_off = 0, o0;
	long budget;
	int nbatch = 0, swapfull = 0;

	uvm_lock_pageq();
	pp->aged += pd_age(uvmexp.freetarg - uvmexp.free);
	budget = 2L * (uvmexp.inactive + uvmexp.active) + 64;
	for (pg = TAILQ_FIRST(&uvm_page_inactive); pg != NULL &&
	    uvmexp.free < uvmexp.freetarg && budget-- > 0; pg = next) {
		struct uvm_object *uobj = pg->uobject;
		int n, dirty = 0;

		next = TAILQ_NEXT(pg, pageq);
		__atomic_fetch_add(&uvmexp.pdscans, 1, __ATOMIC_RELAXED);
		if (uobj == NULL || uobj->pgops != &aobj_pager)
			continue;
		if (!pd_lock_object(pg, uobj)) {
			next = TAILQ_FIRST(&uvm_page_inactive);
			continue;
		}
		if (!pd_pageable(pg, uobj)) {
			mutex_exit(&uobj->vmobjlock);
			continue;
		}
		if (pmap_is_referenced(pg)) {
			uvm_pageactivate(pg);
			mutex_exit(&uobj->vmobjlock);
			continue;
		}
		/* the whole chunk, when none of it is referenced; a chunk
		 * that could not go is not gathered again for each of its
		 * pages in this pass */
		o0 = pg->offset & ~(voff_t)(UVM_RESV_SIZE - 1);
		n = uobj == nochunk_obj && o0 == nochunk_off ? 0 :
		    pd_chunk_gather(uobj, pg, pps);
		for (int i = 0; i < n && !dirty; i++)
			dirty = pd_dirty(pps[i]);
		if (n > 1 && (!dirty || !pp->swapfull)) {
			pd_take(pps, vas, clean, n);
			goto out;
		}
		nochunk_obj = uobj;
		nochunk_off = o0;
		if (!pd_dirty(pg)) {
			/* its contents are zero, or in its swap slot */
			bvas[nbatch] = pg->pv.va;
			pmap_page_protect(pg, VM_PROT_NONE);
			uvm_pagedequeue(pg);
			uvm_pageremove(pg);
			pg->flags |= PG_BUSY;
			batch[nbatch++] = pg;
			mutex_exit(&uobj->vmobjlock);
			if (nbatch == PD_BATCH) {
				uvm_unlock_pageq();
				pd_free_clean(batch, bvas, nbatch);
				pp->freed += nbatch;
				nbatch = 0;
				uvm_lock_pageq();
				next = TAILQ_FIRST(&uvm_page_inactive);
			}
			continue;
		}
		if (pp->swapfull) {
			mutex_exit(&uobj->vmobjlock);
			continue;
		}
		n = pd_cluster(uobj, pg, pps);
		memset(clean, 0, (size_t)n);
		pd_take(pps, vas, clean, n);
	out:
		if (uobj->uo_refs != UVM_OBJ_KERN)
			uobj->uo_refs++;	/* keep it while unlocked */
		mutex_exit(&uobj->vmobjlock);
		uvm_unlock_pageq();
		pd_free_clean(batch, bvas, nbatch);
		pp->freed += nbatch;
		nbatch = 0;
		n = pd_pageout(uobj, pps, vas, clean, n, &swapfull);
		if (swapfull)
			pp->swapfull = 1;
		if (uobj->uo_refs != UVM_OBJ_KERN)
			uao_detach(uobj);
		if (n > 0) {
			/* a write that failed is no progress: a swap
			 * device that fails every write ends in "out of
			 * memory and swap", not in a pass for ever */
			pp->freed += n;
			pp->pageouts++;
		}
		uvm_lock_pageq();
		next = TAILQ_FIRST(&uvm_page_inactive);
	}
	uvm_unlock_pageq();
	pd_free_clean(batch, bvas, nbatch);
	pp->freed += nbatch;
}

/*
 * pd_work: pass after pass until free memory reaches freetarg, or a
 * pass achieves nothing.  Declares exhaustion (section 4).
 */
static void
pd_work(void)
{
	int passes = 0;

	UVMHIST_FUNC("pd_work");
	UVMHIST_LOG(pdhist, "woke: free %d, freemin %d, freetarg %d, waiters %d",
	    uvmexp.free, uvmexp.freemin, uvmexp.freetarg,
	    uvm_free_waiters_count());
	__atomic_fetch_add(&uvmexp.pdwoke, 1, __ATOMIC_RELAXED);
	while (!__atomic_load_n(&pd.stop, __ATOMIC_RELAXED) && passes++ < 64) {
		struct pd_pass pass = { 0, 0, 0, 0 };

		pthread_rwlock_rdlock(&uvm_swap_iolock);
		pd_scan(&pass);
		pthread_rwlock_unlock(&uvm_swap_iolock);
		UVMHIST_LOG(pdhist, "pass: freed %ld, pageouts %ld, aged %ld, "
		    "swap full %ld", pass.freed, pass.pageouts, pass.aged,
		    pass.swapfull);
		if (pass.freed > 0)
			wakeup(&uvmexp.free);
		if (pass.freed > 0 || pass.pageouts > 0) {
			pd.fruitless = 0;
			pd.progress_ns = kva_host_nanotime();
		} else if (++pd.fruitless >= PD_FRUITLESS &&
		    kva_host_nanotime() - pd.progress_ns >= PD_GIVEUP_NS) {
			if (uvm_free_waiters_count() > 0)
				uvm_page_set_exhausted();
			return;
		} else if (pass.aged == 0) {
			return;		/* nothing will change until a nap */
		}
		if (uvmexp.free >= uvmexp.freetarg)
			return;
	}
}

static void *
pd_main(void *arg)
{
	(void)arg;
	mutex_enter(&pd.lock);
	while (!pd.stop) {
		if (!pd_need()) {
			/* until kicked: a kick takes pd.lock, so it cannot
			 * come between this test and the sleep */
			__atomic_store_n(&pd.kicked, 0, __ATOMIC_RELAXED);
			(void)ltsleep(&pd, PVM, "pgdaemon", 0, &pd.lock);
			continue;
		}
		mutex_exit(&pd.lock);
		pd_work();
		mutex_enter(&pd.lock);
		if (pd_need() && pd.fruitless > 0)
			(void)ltsleep(&pd, PVM, "pgdaemon", PD_NAP, &pd.lock);
	}
	mutex_exit(&pd.lock);
	return NULL;
}

/* pd_start: create the thread.  => pd.lock held */
static int
pd_start(void)
{
	pd.stop = 0;
	pd.fruitless = 0;
	pd.progress_ns = kva_host_nanotime();
	if (pthread_create(&pd.thread, NULL, pd_main, NULL) != 0)
		return EAGAIN;
	pd.running = 1;
	return 0;
}

/*
 * uvm_pdaemon_init: set freemin and freetarg (section 1) and start the
 * daemon.
 * => 0, or an errno value (no thread).
 */
int
uvm_pdaemon_init(void)
{
	size_t npages = (size_t)uvmexp.npages, fmin, ftarg;
	int error;

	fmin = npages / 32;
	if (fmin < 64)
		fmin = 64;
	/* it pages out and in by 2 MiB chunks: keep two chunks free (a
	 * page-in reads the rest of a chunk only above freemin) */
	if (fmin < 2 * UVM_RESV_PAGES && 2 * UVM_RESV_PAGES <= npages / 8)
		fmin = 2 * UVM_RESV_PAGES;
	if (fmin > ((size_t)16 << 20) >> PAGE_SHIFT)
		fmin = ((size_t)16 << 20) >> PAGE_SHIFT;
	if (kva_params.freemin != 0)
		fmin = kva_params.freemin >> PAGE_SHIFT;
	ftarg = kva_params.freetarg != 0 ? kva_params.freetarg >> PAGE_SHIFT :
	    fmin * 4 / 3;
	if (ftarg <= fmin)
		ftarg = fmin + 1;
	if (ftarg > npages / 2) {
		ftarg = npages / 2;
		if (fmin >= ftarg)
			fmin = ftarg > 1 ? ftarg - 1 : 0;
	}
	uvmexp.freemin = (int)fmin;
	uvmexp.freetarg = (int)ftarg;
	mutex_enter(&pd.lock);
	error = pd_start();
	mutex_exit(&pd.lock);
	return error;
}

/* uvm_pdaemon_fini: stop the daemon and wait for it. */
void
uvm_pdaemon_fini(void)
{
	mutex_enter(&pd.lock);
	if (!pd.running) {
		mutex_exit(&pd.lock);
		return;
	}
	pd.stop = 1;
	wakeup(&pd);
	mutex_exit(&pd.lock);
	pthread_join(pd.thread, NULL);
	pd.running = 0;
	pd.kicked = 0;
	uvmexp.freemin = uvmexp.freetarg = 0;
}

/*
 * uvm_pdaemon_kick: wake the daemon when memory is low.  Cheap when it
 * is not, or when a wakeup is already on its way.
 * => no VM lock needed; may be called with any held but pd.lock.
 */
void
uvm_pdaemon_kick(void)
{
	if (!pd_need() || __atomic_exchange_n(&pd.kicked, 1, __ATOMIC_ACQ_REL))
		return;
	mutex_enter(&pd.lock);
	wakeup(&pd);
	mutex_exit(&pd.lock);
}

/*
 * uvm_pdaemon_oom_message: what is exhausted, with the sizes.
 */
void
uvm_pdaemon_oom_message(char *buf, size_t len)
{
	size_t used, total;

	uvm_swap_sizes(&used, &total);
	snprintf(buf, len, "out of memory and swap (physmem %zu MiB, %zu MiB "
	    "wired; swap %zu of %zu MiB in use%s)",
	    ((size_t)uvmexp.npages << PAGE_SHIFT) >> 20,
	    ((size_t)uvmexp.wired << PAGE_SHIFT) >> 20, used, total,
	    total == 0 ? ", swap off" : "");
}

/*
 * Fork: the daemon is between passes (it holds uvm_swap_iolock for
 * reading during a pass, and fork takes it for writing), so no page is
 * in flight.  The child has no daemon thread; it starts one of its own.
 */
void
uvm_pdaemon_fork_lock(void)
{
	mutex_enter(&pd.lock);
}

void
uvm_pdaemon_fork_parent(void)
{
	mutex_exit(&pd.lock);
}

void
uvm_pdaemon_fork_child(void)
{
	pd.restart_in_child = pd.running;
	pd.running = 0;
	pd.kicked = 0;
	mutex_exit(&pd.lock);
}

/* uvm_pdaemon_restart: in a forked child, start a daemon of its own */
void
uvm_pdaemon_restart(void)
{
	mutex_enter(&pd.lock);
	if (pd.restart_in_child && !pd.running && pd_start() != 0)
		kva_warn("kva: fork: no page daemon in the child");
	pd.restart_in_child = 0;
	mutex_exit(&pd.lock);
}

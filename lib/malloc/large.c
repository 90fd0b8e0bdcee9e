/*
 * large.c: large blocks, and the spans that slabs of the bigger classes
 * live on (malloc.c, section 4, has the design).
 *
 * Both take VA in kmem_map with uvm_map (no object: the shim owns the
 * pages, which are not in any object), pages from the cache of freed
 * runs or uvm_pglistalloc_contig, and enter them wired with
 * PMAP_CANFAIL; one pmap_sync then maps each physically contiguous run
 * with one populated host call.  A failure anywhere undoes everything.
 *
 * Parking.  A freed block is not unmapped: pmap_kprotect makes its pages
 * inaccessible where they are (every later access faults at once) and
 * the block waits on the parked list, oldest first.  A large malloc that
 * a parked block can hold takes the best fit and gets its pages back
 * with one mprotect: on a virtualised host the first touch of a page at
 * a newly mapped VA exits to the hypervisor (5-10 us a page, as much as
 * an anonymous fault), and a parked block's VA is not new.  A parked
 * block bigger than the request keeps the extra pages mapped and
 * inaccessible after the block (slack: it is part of the guard and lets
 * realloc grow without a host call); a smaller one grows in place when
 * the VA after it is free.  Parked bytes plus slack are held to
 * max(park, half the live large bytes); over that, the oldest parked
 * blocks are unmapped (frames to the page cache, VA to the quarantine)
 * and then the slack of the block at hand is.  park=0 turns parking off,
 * and every freed block goes straight to the quarantine.
 *
 * Locking: (G) kma_large_lock guards the live and parked lists, the
 * quarantine, the page cache and the counters; it is held across the kva
 * calls (ranked before every kva lock).
 *
 * Fault reports: kva's trap handler sees a large block's guard page, and
 * a quarantined block, as VA reserved with nothing mapped.
 * kma_large_describe, registered with kva_fault_set_describe, tells it
 * which block the address belongs to; with debug=1 each large alloc and
 * free records its stack for the report (kva_report.h).
 */
#include "kvamalloc.h"
#include "kva_report.h"

pthread_mutex_t kma_large_lock = PTHREAD_MUTEX_INITIALIZER;

#define QUAR_MAX	1024		/* quarantined ranges at most */
#define PCACHE_MAX	256		/* cached runs at most */
#define RUNS_BATCH	64		/* runs collected per unmap step */
#define PARK_MAX	64		/* parked blocks at most */

TAILQ_HEAD(kma_large_list, kma_large);
static struct kma_large_list live = TAILQ_HEAD_INITIALIZER(live);	/* (G) */
static struct kma_large_list parked =	/* (G) oldest first */
    TAILQ_HEAD_INITIALIZER(parked);
static size_t park_n, park_bytes, slack_bytes, park_limit;	/* (G) */
struct freed_block {
	vaddr_t rstart, rend, va;	/* its VA, and the block's start */
	size_t size;			/* bytes the block had */
};
static struct freed_block quar[QUAR_MAX];	/* (G) FIFO ring */
static unsigned quar_head, quar_n;	/* (G) */
static size_t quar_bytes, quar_limit;	/* (G) */

struct run {
	paddr_t pa;
	size_t n;
};
static struct run pcache[PCACHE_MAX];	/* (G) freed runs, populated */
static unsigned pcache_n;		/* (G) */
static size_t pcache_bytes, pcache_limit;	/* (G) */

static struct kma_large_stats lst;	/* (G) */

void
kma_large_init(const struct kma_large_opts *o)
{
	quar_limit = o->quarantine;
	pcache_limit = o->pcache;
	park_limit = o->park;
}

/*
 * VA.
 */
static int
va_reserve(vaddr_t *vap, vsize_t size, int fixed)
{
	vaddr_t va = fixed ? *vap : vm_map_min(kmem_map);

	if (uvm_map(kmem_map, &va, size, NULL, UVM_UNKNOWN_OFFSET,
	    UVM_MAPFLAG(UVM_PROT_RW, UVM_PROT_RW, UVM_INH_NONE, UVM_ADV_RANDOM,
	    UVM_FLAG_NOMERGE | (fixed ? UVM_FLAG_FIXED : 0))) != KERN_SUCCESS)
		return ENOMEM;
	*vap = va;
	return 0;
}

static void
va_release(vaddr_t s, vaddr_t e)
{
	uvm_unmap(kmem_map, s, e);
	trap_note_freed(kmem_map, s, e);
}

/* quarantine [rstart, rend) (block at va, of size bytes); release the
 * oldest over limit */
static void
quar_add(vaddr_t rstart, vaddr_t rend, vaddr_t va, size_t size)
{
	while (quar_n > 0 && (quar_n == QUAR_MAX ||
	    quar_bytes + (rend - rstart) > quar_limit)) {
		unsigned i = quar_head;

		va_release(quar[i].rstart, quar[i].rend);
		quar_bytes -= quar[i].rend - quar[i].rstart;
		quar_head = (quar_head + 1) % QUAR_MAX;
		quar_n--;
	}
	if (rend - rstart > quar_limit) {
		va_release(rstart, rend);
		return;
	}
	{
		unsigned i = (quar_head + quar_n) % QUAR_MAX;

		quar[i].rstart = rstart;
		quar[i].rend = rend;
		quar[i].va = va;
		quar[i].size = size;
		quar_n++;
		quar_bytes += rend - rstart;
	}
}

/*
 * Physical pages.
 */

/* pcache_put: keep the run [pa, pa + n pages) or give it to kva */
static void
pcache_put(paddr_t pa, size_t n)
{
	if (pcache_bytes + ptoa(n) <= pcache_limit) {
		if (pcache_n > 0 && pcache[pcache_n - 1].pa +
		    ptoa(pcache[pcache_n - 1].n) == pa) {
			pcache[pcache_n - 1].n += n;
			pcache_bytes += ptoa(n);
			return;
		}
		if (pcache_n < PCACHE_MAX) {
			pcache[pcache_n].pa = pa;
			pcache[pcache_n].n = n;
			pcache_n++;
			pcache_bytes += ptoa(n);
			return;
		}
	}
	uvm_pagefree_contig(PHYS_TO_VM_PAGE(pa), n);
}

/*
 * pages_unmap: take the pages at [va, va + npages) away (they fault from
 * now on) and keep their frames in the cache, or free them.
 */
static void
pages_unmap(vaddr_t va, size_t npages)
{
	struct run runs[RUNS_BATCH];
	size_t i = 0;

	while (i < npages) {
		vaddr_t s = va + ptoa(i);
		int nr = 0, r;

		for (; i < npages; i++) {
			paddr_t pa;

			if (!pmap_extract(pmap_kernel(), va + ptoa(i), &pa))
				continue;
			if (nr > 0 && runs[nr - 1].pa + ptoa(runs[nr - 1].n) == pa) {
				runs[nr - 1].n++;
				continue;
			}
			if (nr == RUNS_BATCH)
				break;
			runs[nr].pa = pa;
			runs[nr].n = 1;
			nr++;
		}
		pmap_remove(pmap_kernel(), s, va + ptoa(i));
		pmap_update(pmap_kernel());
		for (r = 0; r < nr; r++)
			pcache_put(runs[r].pa, runs[r].n);
	}
}

/*
 * pages_get: a run of at most want frames: from the cache unless zero
 * (calloc prefers fresh pages, which may be known zero).
 */
static int
pages_get(size_t want, int zero, paddr_t *pap, size_t *np)
{
	struct vm_page *pg;
	size_t n = want;

	if (pcache_n > 0 && !zero) {
		struct run *r = &pcache[pcache_n - 1];

		n = r->n < want ? r->n : want;
		*pap = r->pa + ptoa(r->n - n);
		*np = n;
		r->n -= n;
		if (r->n == 0)
			pcache_n--;
		pcache_bytes -= ptoa(n);
		lst.reuse_pages += n;
		return 0;
	}
	for (;;) {
		pg = uvm_pglistalloc_contig(n, UVM_PGA_NOGROW);
		if (pg != NULL)
			break;
		if (n == 1) {
			if (pcache_n > 0)
				return pages_get(want, 0, pap, np);
			return ENOMEM;
		}
		n = (n + 1) / 2;
	}
	*pap = VM_PAGE_TO_PHYS(pg);
	*np = n;
	lst.fresh_pages += n;
	return 0;
}

/*
 * pages_map: map npages wired pages at [va, ...); zero: the contents
 * must read zero (pages known zero are not written).
 * => 0, or ENOMEM with nothing mapped and every frame given back.
 */
static int
pages_map(vaddr_t va, size_t npages, int zero)
{
	size_t done = 0, i;
	int error = 0;

	while (done < npages && error == 0) {
		paddr_t pa;
		size_t n;

		error = pages_get(npages - done, zero, &pa, &n);
		if (error != 0)
			break;
		for (i = 0; i < n; i++) {
			error = pmap_enter(pmap_kernel(), va + ptoa(done + i),
			    pa + ptoa(i), VM_PROT_READ | VM_PROT_WRITE,
			    PMAP_WIRED | PMAP_CANFAIL);
			if (error != 0) {
				pcache_put(pa + ptoa(i), n - i);
				break;
			}
		}
		done += i;
	}
	if (error == 0)
		error = -pmap_sync(pmap_kernel());
	if (error != 0) {
		pages_unmap(va, done);
		return ENOMEM;
	}
	for (i = 0; i < npages; i++) {
		paddr_t pa;
		struct vm_page *pg;

		if (!pmap_extract(pmap_kernel(), va + ptoa(i), &pa))
			panic("kvamalloc pages_map(%#lx, %zu, %d): page %zu not "
			    "mapped", (unsigned long)va, npages, zero, i);
		pg = PHYS_TO_VM_PAGE(pa);
		if (zero && (pg->flags & PG_ZERO) == 0)
			memset((void *)(va + ptoa(i)), 0, PAGE_SIZE);
		pg->flags &= ~PG_ZERO;
	}
	return 0;
}

/*
 * Spans for slabs.
 */
uintptr_t
kma_span_alloc(size_t npages)
{
	vaddr_t va;

	pthread_mutex_lock(&kma_large_lock);
	if (va_reserve(&va, ptoa(npages), 0) != 0) {
		va = 0;
	} else if (pages_map(va, npages, 0) != 0) {
		uvm_unmap(kmem_map, va, va + ptoa(npages));
		va = 0;
	} else {
		lst.span_bytes += ptoa(npages);
		if (lst.span_bytes > lst.span_bytes_peak)
			lst.span_bytes_peak = lst.span_bytes;
	}
	pthread_mutex_unlock(&kma_large_lock);
	return va;
}

void
kma_span_free(uintptr_t va, size_t npages)
{
	pthread_mutex_lock(&kma_large_lock);
	pages_unmap(va, npages);
	uvm_unmap(kmem_map, va, va + ptoa(npages));
	lst.span_bytes -= ptoa(npages);
	pthread_mutex_unlock(&kma_large_lock);
}

/*
 * Large blocks.
 */
static void
live_link(struct kma_large *lb)
{
	TAILQ_INSERT_HEAD(&live, lb, link);
	lst.nblocks++;
	lst.bytes += ptoa(lb->npages);
	if (lst.bytes > lst.bytes_peak)
		lst.bytes_peak = lst.bytes;
	slack_bytes += ptoa(lb->mapped - lb->npages);
}

static void
live_unlink(struct kma_large *lb)
{
	TAILQ_REMOVE(&live, lb, link);
	lst.nblocks--;
	lst.bytes -= ptoa(lb->npages);
	slack_bytes -= ptoa(lb->mapped - lb->npages);
}

/* bytes that parked blocks and slack may hold */
static size_t
held_limit(void)
{
	if (park_limit == 0)
		return 0;
	return lst.bytes / 2 > park_limit ? lst.bytes / 2 : park_limit;
}

static void
park_unlink(struct kma_large *lb)
{
	TAILQ_REMOVE(&parked, lb, link);
	park_n--;
	park_bytes -= ptoa(lb->mapped);
}

/* drop: unmap a freed block (frames to the page cache, VA to the
 * quarantine) and give back its descriptor */
static void
drop(struct kma_large *lb)
{
	pages_unmap(lb->va, lb->mapped);
	quar_add(lb->rstart, lb->rend, lb->va, lb->size);
	kma_meta_free(lb);
}

/* slack_trim: unmap lb's slack (lb is live) */
static void
slack_trim(struct kma_large *lb)
{
	if (lb->mapped == lb->npages)
		return;
	pages_unmap(lb->va + ptoa(lb->npages), lb->mapped - lb->npages);
	slack_bytes -= ptoa(lb->mapped - lb->npages);
	lb->mapped = lb->npages;
}

/* held_trim: drop the oldest parked blocks while over the limit */
static void
held_trim(void)
{
	struct kma_large *lb;

	while ((lb = TAILQ_FIRST(&parked)) != NULL && (park_n > PARK_MAX ||
	    park_bytes + slack_bytes > held_limit())) {
		park_unlink(lb);
		lst.park_evicted++;
		drop(lb);
	}
}

/*
 * park: make the freed block lb inaccessible where it is and list it.
 * => 0, or ENOMEM when it is not worth keeping or the host refused the
 *    protection change (lb is then untouched as far as the caller can
 *    tell: it must drop it, and removal always succeeds).
 */
static int
park(struct kma_large *lb)
{
	if (ptoa(lb->mapped) > held_limit())
		return ENOMEM;
	pmap_kprotect(lb->va, lb->va + ptoa(lb->mapped), VM_PROT_NONE);
	if (pmap_sync(pmap_kernel()) != 0)
		return ENOMEM;
	TAILQ_INSERT_TAIL(&parked, lb, link);
	park_n++;
	park_bytes += ptoa(lb->mapped);
	held_trim();
	return 0;
}

/*
 * park_find: the parked block to hold npages aligned to align: the
 * smallest that has them mapped, or else the largest that can grow in
 * place (the VA after it is free).  => NULL if none.
 */
static struct kma_large *
park_find(size_t npages, size_t align)
{
	struct kma_large *lb, *fit = NULL, *big = NULL;
	vaddr_t need, at;

	TAILQ_FOREACH(lb, &parked, link) {
		if ((lb->va & (align - 1)) != 0)
			continue;
		if (lb->mapped >= npages) {
			if (fit == NULL || lb->mapped < fit->mapped)
				fit = lb;
		} else if (big == NULL || lb->mapped > big->mapped) {
			big = lb;
		}
	}
	if (fit != NULL || big == NULL)
		return fit;
	need = big->va + ptoa(npages + 1);
	at = big->rend;
	if (need > big->rend) {
		if (va_reserve(&at, need - big->rend, 1) != 0)
			return NULL;
		big->rend = need;
	}
	return big;
}

/*
 * unpark: make lb (parked, unlisted by the caller) a block of npages:
 * give its pages back, map what it lacks.  zero: the block must read
 * zero.  => 0, or ENOMEM with lb dropped.
 */
static int
unpark(struct kma_large *lb, size_t npages, int zero)
{
	size_t keep = npages < lb->mapped ? npages : lb->mapped;
	int error;

	pmap_kprotect(lb->va, lb->va + ptoa(keep), VM_PROT_READ | VM_PROT_WRITE);
	if (npages > lb->mapped)
		error = pages_map(lb->va + ptoa(lb->mapped),
		    npages - lb->mapped, zero);
	else
		error = pmap_sync(pmap_kernel()) != 0 ? ENOMEM : 0;
	if (error != 0) {
		drop(lb);
		return ENOMEM;
	}
	if (zero)
		memset((void *)lb->va, 0, ptoa(keep));
	if (npages > lb->mapped)
		lb->mapped = npages;
	lb->npages = npages;
	lst.park_hits++;
	lst.reuse_pages += keep;
	return 0;
}

/*
 * kma_large_alloc: a block of size bytes, aligned to align (a power of
 * two; 0 = a page), with an inaccessible guard page after it.
 * => NULL when VA, memory or host mappings run out (nothing taken).
 */
void *
kma_large_alloc(size_t size, size_t align, int zero)
{
	struct kma_large *lb;
	size_t npages = round_page(size) >> PAGE_SHIFT, rsize;
	vaddr_t rstart, va;

	if (align < PAGE_SIZE)
		align = PAGE_SIZE;
	if (size == 0 || size > vm_map_max(kmem_map) - vm_map_min(kmem_map) ||
	    align > (vm_map_max(kmem_map) - vm_map_min(kmem_map)) / 2)
		return NULL;
	pthread_mutex_lock(&kma_large_lock);
	while ((lb = park_find(npages, align)) != NULL) {
		park_unlink(lb);
		if (unpark(lb, npages, zero) == 0)
			goto have;
	}
	pthread_mutex_unlock(&kma_large_lock);
	rsize = ptoa(npages + 1) + (align - PAGE_SIZE);
	lb = kma_meta_alloc();
	if (lb == NULL)
		return NULL;
	pthread_mutex_lock(&kma_large_lock);
	if (va_reserve(&rstart, rsize, 0) != 0)
		goto fail;
	va = (rstart + align - 1) & ~(vaddr_t)(align - 1);
	if (pages_map(va, npages, zero) != 0) {
		uvm_unmap(kmem_map, rstart, rstart + rsize);
		goto fail;
	}
	lb->va = va;
	lb->rstart = rstart;
	lb->rend = rstart + rsize;
	lb->npages = lb->mapped = npages;
have:
	if (kma_pagemap_set(lb->va, 1, (uintptr_t)lb | KMA_PM_LARGE) != 0) {
		drop(lb);
		pthread_mutex_unlock(&kma_large_lock);
		return NULL;
	}
	lb->size = size;
	live_link(lb);
	/* over the limit: old parked blocks go first, then this slack */
	held_trim();
	if (park_bytes + slack_bytes > held_limit())
		slack_trim(lb);
	lst.nalloc++;
	va = lb->va;
	if (kma_vg)
		kva_track_malloclike((void *)va, size, 0, zero);
	pthread_mutex_unlock(&kma_large_lock);
	KVA_PROBE_LARGE_ALLOC(va, size);
	KVA_STACK_NOTE(KVA_STACK_ALLOC, va, va + ptoa(npages));
	return (void *)va;
fail:
	pthread_mutex_unlock(&kma_large_lock);
	kma_meta_free(lb);
	return NULL;
}

/*
 * kma_large_free: free the large block lb, which p points into.
 * => aborts with a message when p is not the block's start.
 */
void
kma_large_free(struct kma_large *lb, void *p)
{
	pthread_mutex_lock(&kma_large_lock);
	if (KVA_UNLIKELY((vaddr_t)p != lb->va)) {
		vaddr_t va = lb->va;

		pthread_mutex_unlock(&kma_large_lock);
		kma_error("invalid free (interior pointer)", p, (void *)va);
	}
	KVA_PROBE_LARGE_FREE(lb->va, lb->size);
	KVA_STACK_NOTE(KVA_STACK_FREE, lb->va, lb->va + ptoa(lb->npages));
	if (kma_vg)
		kva_track_freelike(p, 0);
	(void)kma_pagemap_set(lb->va, 1, 0);
	live_unlink(lb);
	if (park(lb) != 0)
		drop(lb);
	pthread_mutex_unlock(&kma_large_lock);
}

/*
 * move_block: map lb's frames at fresh VA big enough for npages (plus a
 * guard), add the missing pages, and unmap the old VA: no byte is
 * copied.  lb has no slack.  => 0, or ENOMEM with lb unchanged.
 */
static int
move_block(struct kma_large *lb, size_t npages)
{
	vaddr_t rs, va;
	size_t i;
	int error = 0;

	if (va_reserve(&rs, ptoa(npages + 1), 0) != 0)
		return ENOMEM;
	va = rs;
	for (i = 0; i < lb->npages && error == 0; i++) {
		paddr_t pa;

		if (!pmap_extract(pmap_kernel(), lb->va + ptoa(i), &pa))
			panic("kvamalloc move_block(%p, %zu): page %zu of %#lx "
			    "not mapped", (void *)lb, npages, i,
			    (unsigned long)lb->va);
		error = pmap_enter(pmap_kernel(), va + ptoa(i), pa,
		    VM_PROT_READ | VM_PROT_WRITE, PMAP_WIRED | PMAP_CANFAIL);
	}
	if (error == 0)
		error = pages_map(va + ptoa(lb->npages), npages - lb->npages, 0);
	else
		error = ENOMEM;
	if (error != 0) {
		pmap_remove(pmap_kernel(), va, va + ptoa(i));
		pmap_update(pmap_kernel());
		uvm_unmap(kmem_map, rs, rs + ptoa(npages + 1));
		return ENOMEM;
	}
	if (kma_pagemap_set(va, 1, (uintptr_t)lb | KMA_PM_LARGE) != 0) {
		pages_unmap(va + ptoa(lb->npages), npages - lb->npages);
		pmap_remove(pmap_kernel(), va, va + ptoa(lb->npages));
		pmap_update(pmap_kernel());
		uvm_unmap(kmem_map, rs, rs + ptoa(npages + 1));
		return ENOMEM;
	}
	(void)kma_pagemap_set(lb->va, 1, 0);
	pmap_remove(pmap_kernel(), lb->va, lb->va + ptoa(lb->npages));
	pmap_update(pmap_kernel());
	quar_add(lb->rstart, lb->rend, lb->va, lb->size);
	lb->va = va;
	lb->rstart = rs;
	lb->rend = rs + ptoa(npages + 1);
	lst.moved++;
	return 0;
}

/*
 * grow: give lb (live, the lock held, its pages out of the counters)
 * npages > lb->npages: the slack first (one mprotect), then new pages in
 * place when the VA after it is free, else lb's frames moved to new VA.
 * => 0, or ENOMEM with lb's contents and size unchanged (its slack may
 *    be gone).
 */
static int
grow(struct kma_large *lb, size_t npages)
{
	size_t from = npages < lb->mapped ? npages : lb->mapped;
	size_t orig = lb->npages;
	vaddr_t need;

	if (from > lb->npages) {
		pmap_kprotect(lb->va + ptoa(lb->npages), lb->va + ptoa(from),
		    VM_PROT_READ | VM_PROT_WRITE);
		if (pmap_sync(pmap_kernel()) != 0) {
			/* removal always succeeds */
			pages_unmap(lb->va + ptoa(lb->npages),
			    lb->mapped - lb->npages);
			lb->mapped = lb->npages;
			return ENOMEM;
		}
		lb->npages = from;
	}
	if (npages == lb->npages)
		return 0;
	/* lb->npages == lb->mapped from here on */
	need = lb->va + ptoa(npages + 1);
	if (need > lb->rend) {
		vaddr_t at = lb->rend;

		if (va_reserve(&at, need - lb->rend, 1) == 0)
			lb->rend = need;
	}
	if (need <= lb->rend) {
		if (pages_map(lb->va + ptoa(lb->npages), npages - lb->npages,
		    0) != 0)
			goto fail;
		lst.inplace++;
	} else if (kma_vg || move_block(lb, npages) != 0) {
		goto fail;
	}
	lb->npages = lb->mapped = npages;
	return 0;
fail:
	/* what the slack gave becomes inaccessible again, by removal */
	if (lb->npages > orig) {
		pages_unmap(lb->va + ptoa(orig), lb->npages - orig);
		lb->npages = lb->mapped = orig;
	}
	return ENOMEM;
}

/*
 * kma_large_realloc: resize lb to size bytes (still large) without
 * copying: shrink in place, grow into its slack or in place when the VA
 * after it is free, else move its pages to new VA.
 * => the block's (possibly new) address, or NULL when it could not
 *    (the caller copies); lb's contents and size are unchanged then.
 */
void *
kma_large_realloc(struct kma_large *lb, size_t size)
{
	size_t npages = round_page(size) >> PAGE_SHIFT;
	vaddr_t was;
	void *rv = NULL;

	if (size == 0 || size > vm_map_max(kmem_map) - vm_map_min(kmem_map))
		return NULL;
	pthread_mutex_lock(&kma_large_lock);
	was = lb->va;
	live_unlink(lb);
	if (npages <= lb->npages) {
		/* lb is off the live list: its slack is not counted now */
		if (lb->mapped > npages)
			pages_unmap(lb->va + ptoa(npages), lb->mapped - npages);
		lb->npages = lb->mapped = npages;
		rv = (void *)lb->va;
	} else if (grow(lb, npages) == 0) {
		rv = (void *)lb->va;
	}
	if (rv != NULL) {
		if (kma_vg && rv == (void *)was)
			kva_track_resizeinplace(rv, lb->size, size, 0);
		lb->size = size;
	}
	/* back on the live list (at its head: the order does not matter) */
	live_link(lb);
	pthread_mutex_unlock(&kma_large_lock);
	return rv;
}

/* kma_large_trim: give back the parked blocks, the slack and the
 * cached frames.  => bytes given back */
size_t
kma_large_trim(void)
{
	struct kma_large *lb;
	size_t bytes;

	pthread_mutex_lock(&kma_large_lock);
	bytes = park_bytes + slack_bytes;
	while ((lb = TAILQ_FIRST(&parked)) != NULL) {
		park_unlink(lb);
		drop(lb);
	}
	TAILQ_FOREACH(lb, &live, link)
		slack_trim(lb);
	bytes += pcache_bytes;
	while (pcache_n > 0) {
		pcache_n--;
		uvm_pagefree_contig(PHYS_TO_VM_PAGE(pcache[pcache_n].pa),
		    pcache[pcache_n].n);
	}
	pcache_bytes = 0;
	pthread_mutex_unlock(&kma_large_lock);
	return bytes;
}

/*
 * find_freed: the freed block whose VA holds va, parked or quarantined,
 * the most recently freed first.  => 1 and *f, or 0.  (G) held.
 */
static int
find_freed(vaddr_t va, struct freed_block *f)
{
	struct kma_large *lb;
	unsigned i;

	TAILQ_FOREACH_REVERSE(lb, &parked, kma_large_list, link)
		if (va >= lb->rstart && va < lb->rend) {
			f->rstart = lb->rstart;
			f->rend = lb->rend;
			f->va = lb->va;
			f->size = lb->size;
			return 1;
		}
	for (i = 0; i < quar_n; i++) {
		unsigned q = (quar_head + quar_n - 1 - i) % QUAR_MAX;

		if (va >= quar[q].rstart && va < quar[q].rend) {
			*f = quar[q];
			return 1;
		}
	}
	return 0;
}

/*
 * kma_large_explain: what va is, for the message of a bad free whose page
 * map word was no help.  *blockp: the block it belongs to, if any.
 * => slow (walks the lists); takes the large lock.
 */
const char *
kma_large_explain(uintptr_t va, uintptr_t *blockp)
{
	const char *what = "invalid free (not allocated by kvamalloc)";
	struct kma_large *lb;
	struct freed_block f;

	*blockp = 0;
	pthread_mutex_lock(&kma_large_lock);
	TAILQ_FOREACH(lb, &live, link) {
		if (va >= lb->va && va < lb->va + ptoa(lb->npages)) {
			what = "invalid free (interior pointer)";
			*blockp = lb->va;
			goto out;
		}
		if (va >= lb->rstart && va < lb->rend) {
			what = "free of a guard page";
			*blockp = lb->va;
			goto out;
		}
	}
	if (find_freed(va, &f)) {
		if (va == f.va) {
			what = "double free";
		} else {
			what = "invalid free (freed memory)";
			*blockp = f.va;
		}
	}
out:
	pthread_mutex_unlock(&kma_large_lock);
	return what;
}

int
kma_large_describe(vaddr_t va, struct kva_fault_desc *d)
{
	struct kma_large *lb;
	struct freed_block f;
	int found = 0;

	if (pthread_mutex_trylock(&kma_large_lock) != 0)
		return 0;
	TAILQ_FOREACH(lb, &live, link)
		if (va >= lb->va + ptoa(lb->npages) && va < lb->rend) {
			d->what = "guard page of block";
			d->block = lb->va;
			d->size = lb->size;
			found = 1;
			goto out;
		}
	if ((found = find_freed(va, &f)) != 0) {
		d->what = va >= f.va && va < f.va + round_page(f.size) ?
		    "freed block" : "guard page of freed block";
		d->block = f.va;
		d->size = f.size;
	}
out:
	pthread_mutex_unlock(&kma_large_lock);
	return found;
}

void
kma_large_stats(struct kma_large_stats *st)
{
	pthread_mutex_lock(&kma_large_lock);
	*st = lst;
	st->pcache_bytes = pcache_bytes;
	st->quarantine_bytes = quar_bytes;
	st->parked_bytes = park_bytes;
	st->nparked = park_n;
	st->slack_bytes = slack_bytes;
	pthread_mutex_unlock(&kma_large_lock);
}

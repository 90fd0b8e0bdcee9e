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
 * Locking: (G) kma_large_lock guards the live list, the quarantine, the
 * page cache and the counters; it is held across the kva calls (ranked
 * before every kva lock).
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

static struct kma_large *live;		/* (G) */
static struct {
	vaddr_t rstart, rend, va;
	size_t size;			/* bytes the block had */
} quar[QUAR_MAX];			/* (G) FIFO ring */
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
		pg = uvm_pglistalloc_contig(n, 0);
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
	lb->prev = NULL;
	lb->next = live;
	if (live != NULL)
		live->prev = lb;
	live = lb;
	lst.nblocks++;
	lst.bytes += ptoa(lb->npages);
	if (lst.bytes > lst.bytes_peak)
		lst.bytes_peak = lst.bytes;
}

static void
live_unlink(struct kma_large *lb)
{
	if (lb->prev != NULL)
		lb->prev->next = lb->next;
	else
		live = lb->next;
	if (lb->next != NULL)
		lb->next->prev = lb->prev;
	lst.nblocks--;
	lst.bytes -= ptoa(lb->npages);
}

/*
 * kma_large_alloc: a block of size bytes, aligned to align (a power of
 * two; 0 = a page), with an unmapped guard page after it.
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
	if (kma_pagemap_set(va, 1, (uintptr_t)lb | KMA_PM_LARGE) != 0) {
		pages_unmap(va, npages);
		uvm_unmap(kmem_map, rstart, rstart + rsize);
		goto fail;
	}
	lb->va = va;
	lb->rstart = rstart;
	lb->rend = rstart + rsize;
	lb->npages = npages;
	lb->size = size;
	live_link(lb);
	lst.nalloc++;
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
	pages_unmap(lb->va, lb->npages);
	quar_add(lb->rstart, lb->rend, lb->va, lb->size);
	pthread_mutex_unlock(&kma_large_lock);
	kma_meta_free(lb);
}

/*
 * move_block: map lb's frames at fresh VA big enough for npages (plus a
 * guard), add the missing pages, and unmap the old VA: no byte is
 * copied.  => 0, or ENOMEM with lb unchanged.
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
 * kma_large_realloc: resize lb to size bytes (still large) without
 * copying: shrink or grow in place when the VA after it is free, else
 * move its pages to new VA.
 * => the block's (possibly new) address, or NULL when it could not
 *    (the caller copies); lb is unchanged then.
 */
void *
kma_large_realloc(struct kma_large *lb, size_t size)
{
	size_t npages = round_page(size) >> PAGE_SHIFT;
	vaddr_t need;
	void *rv = NULL;

	if (size == 0 || size > vm_map_max(kmem_map) - vm_map_min(kmem_map))
		return NULL;
	pthread_mutex_lock(&kma_large_lock);
	lst.bytes -= ptoa(lb->npages);
	if (npages <= lb->npages) {
		if (npages < lb->npages)
			pages_unmap(lb->va + ptoa(npages), lb->npages - npages);
		lb->npages = npages;
		rv = (void *)lb->va;
		goto out;
	}
	need = lb->va + ptoa(npages + 1);
	if (need > lb->rend) {
		vaddr_t at = lb->rend;

		if (va_reserve(&at, need - lb->rend, 1) == 0)
			lb->rend = need;
	}
	if (need <= lb->rend) {
		if (pages_map(lb->va + ptoa(lb->npages), npages - lb->npages,
		    0) == 0) {
			lb->npages = npages;
			rv = (void *)lb->va;
			lst.inplace++;
		}
	} else if (!kma_vg && move_block(lb, npages) == 0) {
		lb->npages = npages;
		rv = (void *)lb->va;
	}
out:
	if (rv != NULL) {
		if (kma_vg && rv == (void *)lb->va)
			kva_track_resizeinplace(rv, lb->size, size, 0);
		lb->size = size;
	}
	lst.bytes += ptoa(lb->npages);
	if (lst.bytes > lst.bytes_peak)
		lst.bytes_peak = lst.bytes;
	pthread_mutex_unlock(&kma_large_lock);
	return rv;
}

/* kma_large_trim: give the cached frames back to kva */
size_t
kma_large_trim(void)
{
	size_t bytes;

	pthread_mutex_lock(&kma_large_lock);
	bytes = pcache_bytes;
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
 * kma_large_explain: what va is, for the message of a bad free whose page
 * map word was no help.  *blockp: the block it belongs to, if any.
 * => slow (walks the lists); takes the large lock.
 */
const char *
kma_large_explain(uintptr_t va, uintptr_t *blockp)
{
	const char *what = "invalid free (not allocated by kvamalloc)";
	struct kma_large *lb;
	unsigned i;

	*blockp = 0;
	pthread_mutex_lock(&kma_large_lock);
	for (lb = live; lb != NULL; lb = lb->next) {
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
	for (i = 0; i < quar_n; i++) {
		unsigned q = (quar_head + quar_n - 1 - i) % QUAR_MAX;

		if (va == quar[q].va) {
			what = "double free";
			goto out;
		}
		if (va >= quar[q].rstart && va < quar[q].rend) {
			what = "invalid free (freed memory)";
			*blockp = quar[q].va;
			goto out;
		}
	}
out:
	pthread_mutex_unlock(&kma_large_lock);
	return what;
}

/*
 * kma_large_describe: the fault report's question (kva_report.h): is va
 * the guard page of a live block, or in a quarantined one?
 * => called from kva's signal handler: takes the large lock only if it
 *    is free (a fault inside the shim with the lock held gets no
 *    description rather than a deadlock); formats nothing.
 */
int
kma_large_describe(vaddr_t va, struct kva_fault_desc *d)
{
	struct kma_large *lb;
	unsigned i;
	int found = 0;

	if (pthread_mutex_trylock(&kma_large_lock) != 0)
		return 0;
	for (lb = live; lb != NULL && !found; lb = lb->next)
		if (va >= lb->va + ptoa(lb->npages) && va < lb->rend) {
			d->what = "guard page of block";
			d->block = lb->va;
			d->size = lb->size;
			found = 1;
		}
	for (i = 0; i < quar_n && !found; i++) {
		unsigned q = (quar_head + quar_n - 1 - i) % QUAR_MAX;

		if (va >= quar[q].rstart && va < quar[q].rend) {
			d->what = va >= quar[q].va &&
			    va < quar[q].va + round_page(quar[q].size) ?
			    "freed block" : "guard page of freed block";
			d->block = quar[q].va;
			d->size = quar[q].size;
			found = 1;
		}
	}
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
	pthread_mutex_unlock(&kma_large_lock);
}

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
 * The chunk pool (below) takes the whole 2 MiB pieces of freed blocks of
 * 2 MiB or more; what it does not take is parked or unmapped.
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
 * chunk pool, the quarantine, the page cache and the counters; it is held across the kva
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
#define PT_SPAN		((vaddr_t)2 << 20)	/* VA a host page table maps */
#define CHUNK_PAGES	512		/* pages of a chunk: PT_SPAN of them */
#define POOL_MAX	4096		/* pooled chunks at most */

TAILQ_HEAD(kma_large_list, kma_large);
static struct kma_large_list live = TAILQ_HEAD_INITIALIZER(live);	/* (G) */
static struct kma_large_list parked =	/* (G) oldest first */
    TAILQ_HEAD_INITIALIZER(parked);
static size_t park_n, park_bytes, slack_bytes, park_limit;	/* (G) */
static vaddr_t pool[POOL_MAX];		/* (G) chunks, a ring, oldest first */
static unsigned pool_head, pool_n;	/* (G) */
#define POOL_BYTES()	((size_t)pool_n * PT_SPAN)
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

/* va_reserve_aligned: VA for size bytes at an address aligned to align
 * (a power of two, at least a page): more is reserved, the ends go back */
static int
va_reserve_aligned(vaddr_t *vap, vsize_t size, vsize_t align)
{
	vsize_t rsize = size + align - PAGE_SIZE;
	vaddr_t rs, va;

	if (rsize < size || va_reserve(&rs, rsize, 0) != 0)
		return ENOMEM;
	va = (rs + align - 1) & ~(vaddr_t)(align - 1);
	if (va > rs)
		uvm_unmap(kmem_map, rs, va);
	if (rs + rsize > va + size)
		uvm_unmap(kmem_map, va + size, rs + rsize);
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

/* pcache_take: the last n frames of cached run i */
static paddr_t
pcache_take(unsigned i, size_t n)
{
	struct run *r = &pcache[i];
	paddr_t pa = r->pa + ptoa(r->n - n);

	r->n -= n;
	if (r->n == 0)
		pcache[i] = pcache[--pcache_n];
	pcache_bytes -= ptoa(n);
	lst.reuse_pages += n;
	return pa;
}

/*
 * pages_get: a run of at most want frames: from the cache unless zero
 * (calloc prefers fresh pages, which may be known zero).
 */
static int
pages_get(size_t want, int zero, int whole, paddr_t *pap, size_t *np)
{
	struct vm_page *pg;
	size_t n = want;
	unsigned i;

	/* whole: all want frames in one run if there is one, from the cache
	 * or the free lists (a chunk in pieces cannot move as one) */
	for (i = pcache_n; whole && !zero && i-- > 0;)
		if (pcache[i].n >= want) {
			*pap = pcache_take(i, want);
			*np = want;
			return 0;
		}
	if (whole && (pg = uvm_pglistalloc_contig(want, UVM_PGA_NOGROW)) !=
	    NULL)
		goto fresh;
	if (pcache_n > 0 && !zero) {
		n = pcache[pcache_n - 1].n < want ? pcache[pcache_n - 1].n : want;
		*pap = pcache_take(pcache_n - 1, n);
		*np = n;
		return 0;
	}
	for (;;) {
		pg = uvm_pglistalloc_contig(n, UVM_PGA_NOGROW);
		if (pg != NULL)
			break;
		if (n == 1) {
			if (pcache_n > 0)
				return pages_get(want, 0, 0, pap, np);
			return ENOMEM;
		}
		n = (n + 1) / 2;
	}
fresh:
	*pap = VM_PAGE_TO_PHYS(pg);
	*np = n;
	lst.fresh_pages += n;
	return 0;
}

/*
 * pages_map: map npages wired pages at [va, ...); zero: the contents
 * must read zero (pages known zero are not written).  Each whole chunk
 * of VA (2 MiB aligned) gets one run of frames where one can be had.
 * => 0, or ENOMEM with nothing mapped and every frame given back.
 */
static int
pages_map(vaddr_t va, size_t npages, int zero)
{
	size_t done = 0, i;
	int error = 0;

	while (done < npages && error == 0) {
		vaddr_t at = va + ptoa(done);
		size_t want = npages - done;
		int whole = (at & (PT_SPAN - 1)) == 0 && want >= CHUNK_PAGES;
		paddr_t pa;
		size_t n;

		if (whole)
			want = CHUNK_PAGES;
		error = pages_get(want, zero, whole, &pa, &n);
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
static void pool_evict(void);

static void
held_trim(void)
{
	struct kma_large *lb;

	while ((lb = TAILQ_FIRST(&parked)) != NULL && (park_n > PARK_MAX ||
	    park_bytes + slack_bytes + POOL_BYTES() > held_limit())) {
		park_unlink(lb);
		lst.park_evicted++;
		drop(lb);
	}
	while (pool_n > 0 &&
	    park_bytes + slack_bytes + POOL_BYTES() > held_limit())
		pool_evict();
}

/*
 * The chunk pool.  A block of CHUNK_PAGES or more starts at a 2 MiB
 * boundary.  When it is freed, its whole 2 MiB pieces (chunks) move,
 * mapped and accessible, to fresh VA that nobody holds, and wait in the
 * pool; the rest of its pages go to the page cache and its VA to the
 * quarantine, where a stale pointer faults.  A new block takes chunks
 * from the pool for its whole 2 MiB pieces, moved into place the same
 * way, and maps only its last piece afresh.  The moves are pmap_kmove:
 * the host's page tables go along, and on a virtualised host the moved
 * pages then do not exit to the hypervisor at first touch (5-10 us a
 * page), which a fresh mapping costs and so does a page given back its
 * access after PROT_NONE (ARCHITECTURE.md).
 */
static void
pool_push(vaddr_t va)
{
	if (pool_n == POOL_MAX)
		pool_evict();
	pool[(pool_head + pool_n) % POOL_MAX] = va;
	pool_n++;
}

/* the newest chunk, or 0 */
static vaddr_t
pool_peek(void)
{
	return pool_n == 0 ? 0 : pool[(pool_head + pool_n - 1) % POOL_MAX];
}

static vaddr_t
pool_pop(void)
{
	vaddr_t va = pool_peek();

	if (pool_n > 0)
		pool_n--;
	return va;
}

/* pool_evict: unmap the oldest chunk (frames to the page cache) */
static void
pool_evict(void)
{
	vaddr_t va = pool[pool_head];

	pool_head = (pool_head + 1) % POOL_MAX;
	pool_n--;
	pages_unmap(va, CHUNK_PAGES);
	uvm_unmap(kmem_map, va, va + PT_SPAN);
	lst.park_evicted++;
}

/*
 * pool_free: free lb (off the lists, its page map word cleared) into the
 * pool.  => 0 with lb gone, or ENOMEM with lb untouched (the caller parks
 * or drops it): too small, not at a 2 MiB boundary, over the limit, or
 * the move was refused.
 */
static int
pool_free(struct kma_large *lb)
{
	size_t q = lb->mapped / CHUNK_PAGES, i;
	vaddr_t to;
	int rv;

	if (q == 0 || (lb->va & (PT_SPAN - 1)) != 0 ||
	    q * PT_SPAN > held_limit() ||
	    va_reserve_aligned(&to, q * PT_SPAN, PT_SPAN) != 0)
		return ENOMEM;
	/* the guard page and slack join the block again: a chunk moves
	 * whole only if one host mapping holds it */
	if (lb->mapped > lb->npages)
		pmap_kprotect(lb->va + ptoa(lb->npages),
		    lb->va + ptoa(lb->mapped), VM_PROT_READ | VM_PROT_WRITE);
	rv = pmap_kmove(lb->va, lb->va + q * PT_SPAN, to);
	if (rv > 0) {
		uvm_unmap(kmem_map, to, to + q * PT_SPAN);
		return ENOMEM;
	}
	if (rv < 0) {
		/* the host failed to map some of them: they all go */
		pages_unmap(to, q * CHUNK_PAGES);
		uvm_unmap(kmem_map, to, to + q * PT_SPAN);
	} else {
		/* the lowest last, so that pops come in address order */
		for (i = q; i-- > 0;)
			pool_push(to + i * PT_SPAN);
	}
	pages_unmap(lb->va + q * PT_SPAN, lb->mapped - q * CHUNK_PAGES);
	quar_add(lb->rstart, lb->rend, lb->va, lb->size);
	kma_meta_free(lb);
	held_trim();
	return 0;
}

/*
 * pool_map: map npages at va (2 MiB aligned, nothing mapped there, VA
 * reserved up to the next 2 MiB past the block): its 2 MiB pieces from
 * pooled chunks while there are any (neighbours in the pool move
 * together), the rest afresh.  A chunk for the last, partial piece
 * leaves pages after the block: the first is made the guard page, the
 * others stay mapped as slack (unreachable but by a jump over the
 * guard; realloc grows into them).  zero: the block must read zero.
 * => 0 and in *mappedp the pages mapped at va, or ENOMEM with nothing
 *    mapped.
 */
static int
pool_map(vaddr_t va, size_t npages, int zero, size_t *mappedp)
{
	size_t want = (npages + CHUNK_PAGES - 1) / CHUNK_PAGES, done = 0;
	size_t q = npages / CHUNK_PAGES;
	int error;

	while (done < want && pool_n > 0) {
		vaddr_t c = pool_pop();
		size_t k = 1;
		int rv;

		while (done + k < want && pool_n > 0 &&
		    pool_peek() == c + k * PT_SPAN) {
			(void)pool_pop();
			k++;
		}
		rv = pmap_kmove(c, c + k * PT_SPAN, va + done * PT_SPAN);
		if (rv > 0) {
			while (k-- > 0)
				pool_push(c + k * PT_SPAN);
			break;
		}
		uvm_unmap(kmem_map, c, c + k * PT_SPAN);
		if (rv < 0) {
			pages_unmap(va + done * PT_SPAN, k * CHUNK_PAGES);
			break;
		}
		if (zero)
			memset((void *)(va + done * PT_SPAN), 0, k * PT_SPAN);
		done += k;
		lst.chunk_hits += k;
		lst.reuse_pages += k * CHUNK_PAGES;
	}
	if (done > q) {
		pmap_kprotect(va + ptoa(npages), va + ptoa(npages + 1),
		    VM_PROT_NONE);
		*mappedp = done * CHUNK_PAGES;
		if (pmap_sync(pmap_kernel()) != 0) {
			/* the slack goes instead (removal always succeeds) */
			pages_unmap(va + ptoa(npages), *mappedp - npages);
			*mappedp = npages;
		}
		return 0;
	}
	error = pages_map(va + done * PT_SPAN, npages - done * CHUNK_PAGES,
	    zero);
	if (error != 0)
		pages_unmap(va, done * CHUNK_PAGES);
	*mappedp = npages;
	return error;
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
	size_t npages = round_page(size) >> PAGE_SHIFT, rsize, mapped;
	vaddr_t va;

	if (align < PAGE_SIZE)
		align = PAGE_SIZE;
	if (size == 0 || size > vm_map_max(kmem_map) - vm_map_min(kmem_map) ||
	    align > (vm_map_max(kmem_map) - vm_map_min(kmem_map)) / 2)
		return NULL;
	pthread_mutex_lock(&kma_large_lock);
	while ((npages < CHUNK_PAGES || pool_n == 0) &&
	    (lb = park_find(npages, align)) != NULL) {
		park_unlink(lb);
		if (unpark(lb, npages, zero) == 0)
			goto have;
	}
	pthread_mutex_unlock(&kma_large_lock);
	rsize = ptoa(npages + 1);
	/* a block that can give chunks to the pool starts a page table, and
	 * its VA runs to the end of its last one (pool_map) */
	if (npages >= CHUNK_PAGES) {
		if (align < PT_SPAN)
			align = PT_SPAN;
		rsize = (rsize + PT_SPAN - 1) & ~(PT_SPAN - 1);
	}
	lb = kma_meta_alloc();
	if (lb == NULL)
		return NULL;
	pthread_mutex_lock(&kma_large_lock);
	if (va_reserve_aligned(&va, rsize, align) != 0)
		goto fail;
	mapped = npages;
	if ((npages >= CHUNK_PAGES ? pool_map(va, npages, zero, &mapped) :
	    pages_map(va, npages, zero)) != 0) {
		uvm_unmap(kmem_map, va, va + rsize);
		goto fail;
	}
	lb->va = va;
	lb->rstart = va;
	lb->rend = va + rsize;
	lb->npages = npages;
	lb->mapped = mapped;
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
	if (pool_free(lb) != 0 && park(lb) != 0)
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

	/* at a 2 MiB boundary when big, for the chunk pool at free */
	if (va_reserve_aligned(&rs, ptoa(npages + 1), npages >= CHUNK_PAGES ?
	    PT_SPAN : PAGE_SIZE) != 0)
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
		/* slack left after it: its first page is the guard now */
		if (from < lb->mapped)
			pmap_kprotect(lb->va + ptoa(from),
			    lb->va + ptoa(from + 1), VM_PROT_NONE);
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
	bytes = park_bytes + slack_bytes + POOL_BYTES();
	while ((lb = TAILQ_FIRST(&parked)) != NULL) {
		park_unlink(lb);
		drop(lb);
	}
	while (pool_n > 0)
		pool_evict();
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
	st->pooled_bytes = POOL_BYTES();
	st->slack_bytes = slack_bytes;
	pthread_mutex_unlock(&kma_large_lock);
}

/*
 * kvamalloc.h: what the files of the malloc shim (lib/malloc/) share.
 *
 *   malloc.c    the exported malloc family, start-up, the bootstrap
 *               arena, errors, statistics and fork (theory statement)
 *   small.c     size classes, per-thread caches, slabs
 *   large.c     large blocks: own VA, guard page, quarantine, the cache
 *               of freed physical runs, realloc in place
 *   pagemap.c   the page map (VA page -> owner) and the descriptor pool
 *
 * Lock order of the shim (a thread holding one takes only later ones; all
 * of them rank before every kva lock, kva_impl.h):
 *   1 kma_init_lock
 *   2 class locks, in class order          kma_class[c].lock
 *   3 kma_tc_lock                          the list of thread caches
 *   4 kma_large_lock                       large blocks, quarantine, pcache
 *   5 kma_pm_lock                          page map nodes
 *   6 kma_meta_lock                        descriptor pool
 * kvamalloc_fork_prepare takes them all in that order.
 */
#ifndef KVAMALLOC_H
#define KVAMALLOC_H

#include "kva_impl.h"
#include "pmap_posix/pmap_md.h"
#include "kva_track.h"

#define KMA_HIDDEN __attribute__((visibility("hidden")))
#define KMA_ALIGN 16			/* every block is 16-byte aligned */

/*
 * Size classes (small.c).  Sizes 16..128 step by 16; above, every
 * doubling [2^k, 2^(k+1)] is cut in four equal steps, up to 128 KiB:
 * 8 + 4 * 10 = 48 classes, at most 25% internal waste (12.5% on
 * average), the usual trade of jemalloc and tcmalloc.
 */
#define KMA_NCLASS	48
#define KMA_CLASS_MAX	((size_t)128 << 10)	/* largest class */

static inline unsigned
kma_size_class(size_t n)
{
	unsigned k;
	size_t m;

	if (n <= 128)
		return n == 0 ? 0 : (unsigned)((n + 15) >> 4) - 1;
	m = n - 1;
	k = 63u - (unsigned)__builtin_clzl(m);		/* 2^k <= m < 2^(k+1) */
	return 8 + (k - 7) * 4 + (unsigned)((m - ((size_t)1 << k)) >> (k - 2));
}

struct kma_class {
	pthread_mutex_t lock;
	size_t size;			/* (C) block size */
	uint64_t inv;			/* (C) ceil(2^40 / size), for division */
	uint32_t nblocks;		/* (C) blocks per slab */
	uint32_t npages;		/* (C) pages per slab; 1 = pool page */
	uint32_t tcmax;			/* (C) thread cache capacity */
	uint32_t batch;			/* (C) blocks moved per refill/flush */
	struct kma_slab *partial;	/* (L) slabs with free blocks */
	struct kma_slab *empty;		/* (L) slabs with every block free */
	uint32_t nempty;		/* (L) */
	/* transfer stack: whole batches, as linked lists */
	struct { void *head; uint32_t n; } xfer[16];	/* (L) */
	uint32_t nxfer;			/* (L) */
	uint32_t xfer_used;		/* (L) a batch taken since the last GC */
	uint64_t nslabs;		/* (L) slabs now */
	uint64_t out;			/* (L) blocks out of slabs now (in use,
					 * in thread caches, on the stack) */
	uint64_t out_peak;		/* (L) */
} __attribute__((aligned(64)));

extern struct kma_class kma_class[KMA_NCLASS] KMA_HIDDEN;
extern unsigned kma_nclass KMA_HIDDEN;	/* classes in use (<= KMA_NCLASS) */
extern size_t kma_small_max KMA_HIDDEN;	/* largest size served by a class */

/*
 * A slab: one pool page, or a span of pages in kmem_map, cut into blocks
 * of one class.  Its descriptor is 64 bytes from the descriptor pool.
 */
struct kma_slab {
	struct kma_slab *next, *prev;	/* (L) partial or empty list */
	uintptr_t base;			/* (C) first block, page aligned */
	void *free;			/* (L) freed blocks, linked */
	uintptr_t fresh;		/* (L) next block never handed out */
	uint32_t nfree;			/* (L) free: listed + never used */
	uint32_t nblocks;		/* (C) */
	uint16_t cls;			/* (C) */
	uint8_t list;			/* (L) KMA_LIST_* */
	uint8_t span;			/* (C) 1: kmem_map span, 0: pool page */
};
#define KMA_LIST_NONE	0		/* full: on no list */
#define KMA_LIST_PARTIAL 1
#define KMA_LIST_EMPTY	2

/*
 * A free block starts with its link, and its second word holds
 * kma_free_tag(p) while it is free: a free finding the tag is a double
 * free.  malloc clears the word.
 */
struct kma_free {
	struct kma_free *next;
	uintptr_t tag;
};
extern uintptr_t kma_key KMA_HIDDEN;
static inline uintptr_t
kma_free_tag(const void *p)
{
	return kma_key ^ (uintptr_t)p;
}

/*
 * Per-thread caches.
 */
struct kma_bin {
	struct kma_free *head;
	uint32_t n;
	uint32_t max;
};
struct kma_tcache {
	struct kma_bin bin[KMA_NCLASS];
	uint64_t busy;			/* bins that took the slow path since
					 * the GC last looked at them */
	uint32_t gc_tick;		/* slow-path calls, for the GC pace */
	uint32_t gc_next;		/* the class the GC looks at next */
	int state;			/* KMA_TC_* */
	struct kma_tcache *next, *prev;	/* (T) kma_tc_lock: all live caches */
};
#define KMA_TC_NONE	0		/* not set up: take the slow path */
#define KMA_TC_LIVE	1
#define KMA_TC_DEAD	2		/* thread exiting: no caching */

extern __thread struct kma_tcache kma_tc
    __attribute__((tls_model("initial-exec"))) KMA_HIDDEN;

/*
 * A large block (large.c): its own VA in kmem_map [rstart, rend), the
 * block at va, npages mapped, and at least one unmapped page after it.
 */
struct kma_large {
	TAILQ_ENTRY(kma_large) link;	/* (G) the live or the parked list */
	vaddr_t va;			/* (G) the block */
	vaddr_t rstart, rend;		/* (G) VA reserved in kmem_map */
	size_t npages;			/* (G) pages of the block */
	size_t mapped;			/* (G) pages mapped at va: npages, then
					 * slack: inaccessible, or (the last
					 * chunk from the pool) a guard page
					 * and pages left accessible */
	size_t size;			/* (G) bytes asked for */
};

/*
 * Page map (pagemap.c): for every page of a slab, (slab | class); for the
 * first page of a large block, (descriptor | KMA_PM_LARGE).  Descriptors
 * are 64-byte aligned, so the low 6 bits carry the tag.
 */
#define KMA_PM_TAGMASK	((uintptr_t)63)
#define KMA_PM_LARGE	((uintptr_t)63)
uintptr_t kma_pagemap_get(uintptr_t va) KMA_HIDDEN;
int  kma_pagemap_set(uintptr_t va, size_t npages, uintptr_t v) KMA_HIDDEN;
void *kma_meta_alloc(void) KMA_HIDDEN;	/* 64 bytes, zeroed; NULL if none */
void kma_meta_free(void *p) KMA_HIDDEN;
size_t kma_meta_bytes(void) KMA_HIDDEN;	/* pool pages used by pagemap+meta */

/*
 * small.c
 */
void  kma_small_init(size_t small_max) KMA_HIDDEN;
void *kma_small_alloc_slow(unsigned cls) KMA_HIDDEN;
void  kma_small_free_slow(struct kma_free *b, unsigned cls) KMA_HIDDEN;
void  kma_tcache_setup(void) KMA_HIDDEN;
void  kma_tcache_flush(struct kma_tcache *tc, int dead) KMA_HIDDEN;
size_t kma_small_trim(void) KMA_HIDDEN;
void  kma_small_fork_child(void) KMA_HIDDEN;
void  kma_tc_lock_all(void) KMA_HIDDEN;
void  kma_tc_unlock_all(void) KMA_HIDDEN;
extern pthread_mutex_t kma_tc_lock KMA_HIDDEN;
extern struct kma_tcache *kma_tc_list KMA_HIDDEN;
extern int kma_vg KMA_HIDDEN;			/* running under valgrind */

/*
 * large.c
 */
struct kma_large_opts {
	size_t quarantine;		/* bytes of freed VA held out of reuse */
	size_t pcache;			/* bytes of freed frames kept populated */
	size_t park;			/* bytes of freed blocks kept parked
					 * (at least; 0 = none) */
};
void  kma_large_init(const struct kma_large_opts *o) KMA_HIDDEN;
void *kma_large_alloc(size_t size, size_t align, int zero) KMA_HIDDEN;
void  kma_large_free(struct kma_large *lb, void *p) KMA_HIDDEN;
void *kma_large_realloc(struct kma_large *lb, size_t size) KMA_HIDDEN;
size_t kma_large_trim(void) KMA_HIDDEN;
/* kma_span_alloc/free: npages wired pages at fresh kmem_map VA, no guard */
uintptr_t kma_span_alloc(size_t npages) KMA_HIDDEN;
void kma_span_free(uintptr_t va, size_t npages) KMA_HIDDEN;
/* what the address of a bad free is, for the message (slow path) */
const char *kma_large_explain(uintptr_t va, uintptr_t *blockp) KMA_HIDDEN;
extern pthread_mutex_t kma_large_lock KMA_HIDDEN;
struct kma_large_stats {
	size_t nblocks, bytes, bytes_peak, pcache_bytes, quarantine_bytes;
	size_t span_bytes, span_bytes_peak;
	size_t parked_bytes, nparked, slack_bytes, pooled_bytes;
	uint64_t nalloc, reuse_pages, fresh_pages, inplace, moved;
	uint64_t park_hits, park_evicted, chunk_hits;
};
void kma_large_stats(struct kma_large_stats *st) KMA_HIDDEN;
struct kva_fault_desc;
/* for kva's fault report: is va a guard page or a freed block? */
int kma_large_describe(vaddr_t va, struct kva_fault_desc *d) KMA_HIDDEN;

/*
 * malloc.c
 */
void kma_error(const char *what, const void *p, const void *block)
    __attribute__((noreturn)) KMA_HIDDEN;

#endif /* KVAMALLOC_H */

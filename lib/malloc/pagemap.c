/*
 * pagemap.c: the shim's page map, and the pool its descriptors come from.
 *
 * 1. The page map answers "who owns the page holding this address" for
 *    free(), in a few loads and no lock.  It is a three-level radix tree
 *    over the 47-bit user address space, since the shim's memory lies in
 *    two places (pool pages in the direct map, spans and large blocks in
 *    kmem_map): the top level (one pointer per GiB, 1 MiB of BSS that is
 *    touched only where kva lives) points to mid nodes (one per GiB, 512
 *    pointers), which point to leaves (one per 2 MiB, 512 words, one per
 *    page).  Nodes are pool pages and are never freed, so a lookup racing
 *    with a change reads a stale or a new word, never freed memory.
 *
 * 2. Descriptors (slabs, large blocks) are 64-byte objects, carved from
 *    pool pages and kept on a free list: 64-byte alignment leaves the
 *    page map six low bits for a tag.
 *
 * Locks: kma_pm_lock serialises the creation of nodes; words are written
 * with release stores by their owner (the class or the large lock) and
 * read with acquire loads.  kma_meta_lock guards the descriptor pool.
 */
#include "kvamalloc.h"

#define PM_TOP_SHIFT	30
#define PM_MID_SHIFT	21
#define PM_LEAF_SHIFT	12
#define PM_TOP_N	((size_t)1 << (47 - PM_TOP_SHIFT))
#define PM_NODE_N	512

typedef uintptr_t pm_leaf_t[PM_NODE_N];
typedef pm_leaf_t *pm_mid_t[PM_NODE_N];

static pm_mid_t *pm_top[PM_TOP_N];
static pthread_mutex_t kma_pm_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t kma_meta_lock = PTHREAD_MUTEX_INITIALIZER;
static void *meta_freelist;		/* (meta lock) */
static size_t meta_pages;		/* (meta lock) pool pages held */

/* a zeroed pool page, or NULL */
static void *
pm_page(void)
{
	vaddr_t va = uvm_km_alloc_poolpage();

	if (va == 0)
		return NULL;
	memset((void *)va, 0, PAGE_SIZE);
	return (void *)va;
}

/*
 * kma_pagemap_get: the word for the page of va, 0 if none.
 * => no lock; never faults.
 */
uintptr_t
kma_pagemap_get(uintptr_t va)
{
	pm_mid_t *mid;
	pm_leaf_t *leaf;

	if (KVA_UNLIKELY((va >> 47) != 0))
		return 0;
	mid = __atomic_load_n(&pm_top[va >> PM_TOP_SHIFT], __ATOMIC_ACQUIRE);
	if (mid == NULL)
		return 0;
	leaf = __atomic_load_n(&(*mid)[(va >> PM_MID_SHIFT) & (PM_NODE_N - 1)],
	    __ATOMIC_ACQUIRE);
	if (leaf == NULL)
		return 0;
	return __atomic_load_n(&(*leaf)[(va >> PM_LEAF_SHIFT) & (PM_NODE_N - 1)],
	    __ATOMIC_ACQUIRE);
}

/* pm_leaf: the leaf for va, created if need be; NULL when out of memory */
static pm_leaf_t *
pm_leaf(uintptr_t va)
{
	pm_mid_t *mid;
	pm_leaf_t *leaf;
	size_t mi = (va >> PM_MID_SHIFT) & (PM_NODE_N - 1);

	mid = __atomic_load_n(&pm_top[va >> PM_TOP_SHIFT], __ATOMIC_ACQUIRE);
	if (mid != NULL) {
		leaf = __atomic_load_n(&(*mid)[mi], __ATOMIC_ACQUIRE);
		if (leaf != NULL)
			return leaf;
	}
	pthread_mutex_lock(&kma_pm_lock);
	mid = pm_top[va >> PM_TOP_SHIFT];
	if (mid == NULL) {
		mid = pm_page();
		if (mid == NULL)
			goto fail;
		__atomic_store_n(&pm_top[va >> PM_TOP_SHIFT], mid,
		    __ATOMIC_RELEASE);
	}
	leaf = (*mid)[mi];
	if (leaf == NULL) {
		leaf = pm_page();
		if (leaf == NULL)
			goto fail;
		__atomic_store_n(&(*mid)[mi], leaf, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&kma_pm_lock);
	return leaf;
fail:
	pthread_mutex_unlock(&kma_pm_lock);
	return NULL;
}

/*
 * kma_pagemap_set: set the words of npages pages from va to v.
 * => the caller owns the pages (its class or large lock).
 * => 0, or ENOMEM when a node could not be had; the caller then clears
 *    what it set with v = 0, which never needs a new node.
 */
int
kma_pagemap_set(uintptr_t va, size_t npages, uintptr_t v)
{
	size_t i;

	for (i = 0; i < npages; i++, va += PAGE_SIZE) {
		pm_leaf_t *leaf;

		if (v == 0 && kma_pagemap_get(va) == 0)
			continue;
		leaf = pm_leaf(va);
		if (leaf == NULL)
			return ENOMEM;
		__atomic_store_n(&(*leaf)[(va >> PM_LEAF_SHIFT) &
		    (PM_NODE_N - 1)], v, __ATOMIC_RELEASE);
	}
	return 0;
}

/*
 * kma_meta_alloc: a zeroed 64-byte descriptor, or NULL.
 */
void *
kma_meta_alloc(void)
{
	void *p;

	pthread_mutex_lock(&kma_meta_lock);
	if (meta_freelist == NULL) {
		char *pg = pm_page();
		size_t off;

		if (pg == NULL) {
			pthread_mutex_unlock(&kma_meta_lock);
			return NULL;
		}
		meta_pages++;
		for (off = PAGE_SIZE; off > 0; off -= 64) {
			*(void **)(pg + off - 64) = meta_freelist;
			meta_freelist = pg + off - 64;
		}
	}
	p = meta_freelist;
	meta_freelist = *(void **)p;
	pthread_mutex_unlock(&kma_meta_lock);
	memset(p, 0, 64);
	return p;
}

void
kma_meta_free(void *p)
{
	pthread_mutex_lock(&kma_meta_lock);
	*(void **)p = meta_freelist;
	meta_freelist = p;
	pthread_mutex_unlock(&kma_meta_lock);
}

/* bytes of pool pages held by the descriptor pool (nodes not counted) */
size_t
kma_meta_bytes(void)
{
	return meta_pages * PAGE_SIZE;
}

/* fork: the page map lock and the pool lock, last of the shim's */
void kma_pm_lock_all(void) KMA_HIDDEN;
void kma_pm_unlock_all(void) KMA_HIDDEN;

void
kma_pm_lock_all(void)
{
	pthread_mutex_lock(&kma_pm_lock);
	pthread_mutex_lock(&kma_meta_lock);
}

void
kma_pm_unlock_all(void)
{
	pthread_mutex_unlock(&kma_meta_lock);
	pthread_mutex_unlock(&kma_pm_lock);
}

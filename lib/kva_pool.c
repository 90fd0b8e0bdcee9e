/*
 * kva_pool.c: fixed-size pools for the VM's own structures.
 *
 * Map entries, maps, objects and pv entries cannot come from malloc: the
 * malloc shim stands on kva.  They come from the bootstrap region, the
 * part of the kernel VA below virtual_avail that pmap_bootstrap maps
 * read-write before anything else exists (NetBSD's pmap_steal_memory
 * plays the same role).  Objects go back on a free list and are reused;
 * the memory itself is returned only by kva_fini.
 */
#include "kva_impl.h"
#include "pmap_posix/pmap_md.h"

#define POOL_CHUNK 64		/* objects carved from the region at a time */
#define POOL_MAX 32		/* pools known, for fork */

static struct kva_pool *pools[POOL_MAX];
static int npools;

void
kva_pool_init(struct kva_pool *pp, size_t size, const char *name)
{
	mutex_init(&pp->lock);
	pp->size = (size + 15) & ~(size_t)15;
	if (pp->size < sizeof(void *))
		pp->size = sizeof(void *);
	pp->freelist = NULL;
	pp->nalloc = 0;
	pp->name = name;
	for (int i = 0; i < npools; i++)
		if (pools[i] == pp)
			return;
	if (npools == POOL_MAX)
		panic("kva_pool_init(%p, %zu, %s): more than %d pools",
		    (void *)pp, size, name, POOL_MAX);
	pools[npools++] = pp;
}

/* fork: every pool's lock, in registration order, and back */
void
kva_pool_fork_lock(void)
{
	for (int i = 0; i < npools; i++)
		mutex_enter(&pools[i]->lock);
}

void
kva_pool_fork_unlock(void)
{
	for (int i = npools - 1; i >= 0; i--)
		mutex_exit(&pools[i]->lock);
}

/*
 * kva_pool_get: one zeroed object.
 * => takes and releases the pool lock; may be called with map, object,
 *    page or pmap locks held (rank 6).
 * => NULL when the bootstrap region is exhausted.
 */
void *
kva_pool_get(struct kva_pool *pp)
{
	void *obj;

	mutex_enter(&pp->lock);
	if (pp->freelist == NULL) {
		char *chunk = pmap_bootstrap_alloc(pp->size * POOL_CHUNK);
		int i;

		if (chunk == NULL) {
			mutex_exit(&pp->lock);
			return NULL;
		}
		for (i = POOL_CHUNK - 1; i >= 0; i--) {
			void **o = (void **)(chunk + (size_t)i * pp->size);
			*o = pp->freelist;
			pp->freelist = o;
		}
	}
	obj = pp->freelist;
	pp->freelist = *(void **)obj;
	pp->nalloc++;
	mutex_exit(&pp->lock);
	memset(obj, 0, pp->size);
	return obj;
}

void
kva_pool_put(struct kva_pool *pp, void *obj)
{
	KASSERT(obj != NULL);
	mutex_enter(&pp->lock);
	KASSERT(pp->nalloc > 0);
	*(void **)obj = pp->freelist;
	pp->freelist = obj;
	pp->nalloc--;
	mutex_exit(&pp->lock);
}

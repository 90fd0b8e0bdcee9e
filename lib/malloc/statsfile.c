/*
 * statsfile.c: the malloc shim's figures for the statistics file
 * (lib/kva_statsfile.h, struct kva_sf_shim), which kvastat shows.
 *
 * kva's publisher calls kma_sf_fill every 100 ms and at kva_drain, with
 * no kva lock held (kva_statsfile.c, lock order).  It counts the way
 * malloc_stats does: a class's blocks out of its slabs, less those in
 * thread caches and transfer stacks, are in use by the program.  The
 * thread caches are read without their owners' cooperation (a relaxed
 * load of each bin's count, under kma_tc_lock), so "cached" may be a
 * batch behind; the class figures themselves are taken under the class
 * lock.
 */
#include "kvamalloc.h"
#include "kva_statsfile.h"

void kma_sf_fill(struct kva_sf_shim *s) KMA_HIDDEN;

void
kma_sf_fill(struct kva_sf_shim *s)
{
	uint64_t incache[KMA_NCLASS];
	struct kma_large_stats l;
	struct kma_tcache *tc;
	unsigned c, n = kma_nclass;

	if (n > KVA_SF_NCLASS)
		n = KVA_SF_NCLASS;
	memset(incache, 0, sizeof(incache));
	pthread_mutex_lock(&kma_tc_lock);
	for (tc = kma_tc_list; tc != NULL; tc = tc->next)
		for (c = 0; c < n; c++)
			incache[c] += __atomic_load_n(&tc->bin[c].n,
			    __ATOMIC_RELAXED);
	pthread_mutex_unlock(&kma_tc_lock);
	s->nclass = n;
	for (c = 0; c < n; c++) {
		struct kma_class *k = &kma_class[c];
		struct kva_sf_class *r = &s->cls[c];
		uint64_t x = 0, out;
		unsigned i;

		pthread_mutex_lock(&k->lock);
		for (i = 0; i < k->nxfer; i++)
			x += k->xfer[i].n;
		out = k->out;
		r->slabs = k->nslabs;
		r->peak = k->out_peak;
		pthread_mutex_unlock(&k->lock);
		if (incache[c] + x > out)
			incache[c] = out - x;
		r->size = k->size;
		r->slab_pages = k->npages;
		r->cached = incache[c] + x;
		r->inuse = out - r->cached;
		s->small_inuse += r->inuse * k->size;
		s->cached += r->cached * k->size;
		s->small_held += r->slabs * ptoa(k->npages);
		s->small_peak += r->peak * k->size;
	}
	s->meta = kma_meta_bytes();
	kma_large_stats(&l);
	s->large_blocks = l.nblocks;
	s->large_bytes = l.bytes;
	s->large_peak = l.bytes_peak;
	s->large_nalloc = l.nalloc;
	s->large_inplace = l.inplace;
	s->large_moved = l.moved;
	s->pcache_bytes = l.pcache_bytes;
	s->quarantine_bytes = l.quarantine_bytes;
	s->parked_blocks = l.nparked;
	s->parked_bytes = l.parked_bytes + l.pooled_bytes;
	s->slack_bytes = l.slack_bytes;
	s->park_hits = l.park_hits;
}

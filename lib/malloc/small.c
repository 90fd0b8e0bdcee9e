/*
 * small.c: size classes, slabs and per-thread caches (malloc.c, sections
 * 2 and 3, has the design).
 *
 * A class owns slabs: a pool page (classes up to 1 KiB, and 2 and 4 KiB,
 * whose blocks tile a page: no system call to get one) or a span of
 * about 64 KiB of kmem_map (the other classes).  A slab hands out its
 * never-used blocks by bumping a pointer, and freed blocks from a list
 * threaded through them.  Between the slabs and the
 * threads sits a transfer stack of whole batches, so that memory freed by
 * one thread and allocated by another (producer/consumer) moves a batch
 * at a time without visiting the slabs.
 *
 * Memory parked in caches is given back when its class falls idle.  A
 * cached block pins its whole slab, and the blocks of a cache or a
 * transfer stack are scattered over many slabs: a few hundred parked
 * blocks of a class that the program has stopped using (strings that
 * grew out of it, say) can hold every slab of that class.  So each
 * thread, every GC_EVERY calls of its slow paths, looks at one class in
 * turn: if its bin took no slow path since the last look, the bin goes
 * back to the slabs, and if no thread took a batch off the class's
 * transfer stack since the last look, so does the stack.  A busy class
 * is left alone; an idle one is empty after two looks, and its empty
 * slabs go back to kva.
 *
 * Locking: (L) the class lock guards the class's lists, its slabs and
 * the transfer stack.  A thread's cache is its own and takes no lock.
 */
#include "kvamalloc.h"

struct kma_class kma_class[KMA_NCLASS];
unsigned kma_nclass;
size_t kma_small_max;
__thread struct kma_tcache kma_tc __attribute__((tls_model("initial-exec")));
pthread_mutex_t kma_tc_lock = PTHREAD_MUTEX_INITIALIZER;
struct kma_tcache *kma_tc_list;
static pthread_key_t kma_tc_key;
static int keep_all_empty;	/* the fork child: every shim lock is held */

#define POOL_CLASS_MAX	1024		/* classes up to this: one pool page */
#define SPAN_BYTES	((size_t)64 << 10)	/* target slab span */
#define TC_BYTES	((size_t)16 << 10)	/* thread cache per class */
#define TC_MAX		256
#define KEEP_EMPTY	1		/* empty slabs a class keeps */
#define XFER_MAX	16
#define GC_EVERY	32		/* slow-path calls between GC looks */

_Static_assert(KMA_NCLASS <= 64, "kma_tcache.busy has a bit per class");

static size_t
class_size(unsigned c)
{
	unsigned j, k;

	if (c < 8)
		return (size_t)16 * (c + 1);
	j = c - 8;
	k = 7 + j / 4;
	return ((size_t)1 << k) + (size_t)(j % 4 + 1) * ((size_t)1 << (k - 2));
}

static void tc_destroy(void *arg);

/*
 * kma_small_init: lay out the classes up to small_max.
 * => called once, from malloc's start-up, before any other thread can
 *    reach the classes.
 */
void
kma_small_init(size_t small_max)
{
	unsigned c;

	for (c = 0; c < KMA_NCLASS; c++) {
		struct kma_class *k = &kma_class[c];
		size_t size = class_size(c), bytes;

		if (size > small_max)
			break;
		pthread_mutex_init(&k->lock, NULL);
		k->size = size;
		k->inv = (((uint64_t)1 << 40) + size - 1) / size;
		if (size <= POOL_CLASS_MAX || PAGE_SIZE % size == 0) {
			k->npages = 1;
		} else {
			bytes = size * (SPAN_BYTES / size > 0 ?
			    SPAN_BYTES / size : 1);
			k->npages = (uint32_t)(round_page(bytes) >> PAGE_SHIFT);
		}
		k->nblocks = (uint32_t)(ptoa(k->npages) / size);
		k->tcmax = (uint32_t)(TC_BYTES / size);
		if (k->tcmax > TC_MAX)
			k->tcmax = TC_MAX;
		if (k->tcmax < 1)
			k->tcmax = 1;
		k->batch = k->tcmax / 2 > 0 ? k->tcmax / 2 : 1;
		kma_small_max = size;
	}
	kma_nclass = c;
	(void)pthread_key_create(&kma_tc_key, tc_destroy);
}

/*
 * Slabs.  Class lock held for all of them.
 */
static void
list_insert(struct kma_slab **head, struct kma_slab *s)
{
	s->prev = NULL;
	s->next = *head;
	if (*head != NULL)
		(*head)->prev = s;
	*head = s;
}

static void
list_remove(struct kma_slab **head, struct kma_slab *s)
{
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		*head = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
}

static void
slab_move(struct kma_class *k, struct kma_slab *s, uint8_t to)
{
	if (s->list == KMA_LIST_PARTIAL)
		list_remove(&k->partial, s);
	else if (s->list == KMA_LIST_EMPTY) {
		list_remove(&k->empty, s);
		k->nempty--;
	}
	if (to == KMA_LIST_PARTIAL)
		list_insert(&k->partial, s);
	else if (to == KMA_LIST_EMPTY) {
		list_insert(&k->empty, s);
		k->nempty++;
	}
	s->list = to;
}

/* slab_new: a new slab of class c, on no list; NULL when out of memory */
static struct kma_slab *
slab_new(unsigned c)
{
	struct kma_class *k = &kma_class[c];
	struct kma_slab *s = kma_meta_alloc();
	uintptr_t va;

	if (s == NULL)
		return NULL;
	va = k->npages == 1 ? uvm_km_alloc_poolpage() : kma_span_alloc(k->npages);
	if (va == 0) {
		kma_meta_free(s);
		return NULL;
	}
	s->base = s->fresh = va;
	s->nfree = s->nblocks = k->nblocks;
	s->cls = (uint16_t)c;
	s->span = k->npages > 1;
	if (kma_pagemap_set(va, k->npages, (uintptr_t)s | c) != 0) {
		(void)kma_pagemap_set(va, k->npages, 0);
		if (s->span)
			kma_span_free(va, k->npages);
		else
			uvm_km_free_poolpage(va);
		kma_meta_free(s);
		return NULL;
	}
	if (kma_vg)
		kva_track_noaccess((void *)va, ptoa(k->npages));
	k->nslabs++;
	return s;
}

static void
slab_release(struct kma_class *k, struct kma_slab *s)
{
	slab_move(k, s, KMA_LIST_NONE);
	(void)kma_pagemap_set(s->base, k->npages, 0);
	if (kma_vg)
		kva_track_undefined((void *)s->base, ptoa(k->npages));
	if (s->span)
		kma_span_free(s->base, k->npages);
	else
		uvm_km_free_poolpage(s->base);
	kma_meta_free(s);
	k->nslabs--;
}

/* make the link words of a free block accessible (valgrind only) */
static inline void
vg_open(void *b)
{
	if (kma_vg)
		kva_track_undefined(b, sizeof(struct kma_free));
}

/*
 * slab_take: up to want blocks of s onto *headp; returns how many.
 */
static unsigned
slab_take(struct kma_class *k, struct kma_slab *s, struct kma_free **headp,
    unsigned want)
{
	unsigned got = 0;
	uintptr_t end = s->base + (uintptr_t)s->nblocks * k->size;

	while (got < want && s->free != NULL) {
		struct kma_free *b = s->free;

		s->free = b->next;
		b->next = *headp;
		*headp = b;
		got++;
	}
	while (got < want && s->fresh < end) {
		struct kma_free *b = (struct kma_free *)s->fresh;

		s->fresh += k->size;
		vg_open(b);
		b->next = *headp;
		b->tag = 0;
		*headp = b;
		got++;
	}
	s->nfree -= got;
	if (s->nfree == 0)
		slab_move(k, s, KMA_LIST_NONE);
	else if (s->list != KMA_LIST_PARTIAL)
		slab_move(k, s, KMA_LIST_PARTIAL);
	return got;
}

/*
 * slab_put: give block b back to its slab.
 */
static void
slab_put(struct kma_class *k, struct kma_free *b)
{
	struct kma_slab *s = (struct kma_slab *)
	    (kma_pagemap_get((uintptr_t)b) & ~KMA_PM_TAGMASK);

	b->next = s->free;
	s->free = b;
	s->nfree++;
	if (s->nfree == s->nblocks) {
		if (k->nempty >= KEEP_EMPTY && !keep_all_empty)
			slab_release(k, s);
		else
			slab_move(k, s, KMA_LIST_EMPTY);
	} else if (s->list == KMA_LIST_NONE) {
		slab_move(k, s, KMA_LIST_PARTIAL);
	}
}

/*
 * list_put: give the n blocks of the list head back to their slabs.
 * => class locked.
 */
static void
list_put(struct kma_class *k, struct kma_free *head, unsigned n)
{
	k->out -= n;
	while (head != NULL) {
		struct kma_free *next = head->next;

		slab_put(k, head);
		head = next;
	}
}

/* xfer_drain: every batch of the transfer stack back to the slabs */
static void
xfer_drain(struct kma_class *k)
{
	while (k->nxfer > 0) {
		k->nxfer--;
		list_put(k, k->xfer[k->nxfer].head, k->xfer[k->nxfer].n);
	}
}

/*
 * class_get: up to want blocks of class c onto *headp.
 * => class locked.  Returns how many (0: out of memory).
 */
static unsigned
class_get(unsigned c, struct kma_free **headp, unsigned want)
{
	struct kma_class *k = &kma_class[c];
	unsigned got = 0, stacked = 0;

	if (k->nxfer > 0 && *headp == NULL && want >= k->batch) {
		k->nxfer--;
		*headp = k->xfer[k->nxfer].head;
		got = stacked = k->xfer[k->nxfer].n;
		k->xfer_used = 1;
	}
	while (got < want) {
		struct kma_slab *s = k->partial != NULL ? k->partial : k->empty;

		if (s == NULL && (s = slab_new(c)) == NULL)
			break;
		got += slab_take(k, s, headp, want - got);
	}
	k->out += got - stacked;	/* a stacked batch was out already */
	if (k->out > k->out_peak)
		k->out_peak = k->out;
	return got;
}

/*
 * class_put: give back the n blocks of the list head (class locked).
 */
static void
class_put(unsigned c, struct kma_free *head, unsigned n)
{
	struct kma_class *k = &kma_class[c];

	if (n == k->batch && k->nxfer < XFER_MAX) {
		k->xfer[k->nxfer].head = head;
		k->xfer[k->nxfer].n = n;
		k->nxfer++;
		return;
	}
	list_put(k, head, n);
}

/*
 * Thread caches.
 */
void
kma_tcache_setup(void)
{
	struct kma_tcache *tc = &kma_tc;
	unsigned c;

	if (tc->state != KMA_TC_NONE || kma_nclass == 0)
		return;
	for (c = 0; c < kma_nclass; c++)
		tc->bin[c].max = kma_class[c].tcmax;
	pthread_mutex_lock(&kma_tc_lock);
	tc->prev = NULL;
	tc->next = kma_tc_list;
	if (kma_tc_list != NULL)
		kma_tc_list->prev = tc;
	kma_tc_list = tc;
	pthread_mutex_unlock(&kma_tc_lock);
	(void)pthread_setspecific(kma_tc_key, tc);
	tc->state = KMA_TC_LIVE;
}

/*
 * kma_tcache_flush: give back every cached block of tc; dead: the
 * thread is going away, cache nothing from now on.
 */
void
kma_tcache_flush(struct kma_tcache *tc, int dead)
{
	unsigned c;

	if (dead) {
		for (c = 0; c < KMA_NCLASS; c++)
			tc->bin[c].max = 0;
		tc->state = KMA_TC_DEAD;
	}
	for (c = 0; c < kma_nclass; c++) {
		struct kma_bin *bin = &tc->bin[c];

		if (bin->head == NULL)
			continue;
		pthread_mutex_lock(&kma_class[c].lock);
		class_put(c, bin->head, bin->n);
		bin->head = NULL;
		bin->n = 0;
		pthread_mutex_unlock(&kma_class[c].lock);
	}
	if (dead) {
		pthread_mutex_lock(&kma_tc_lock);
		if (tc->prev != NULL)
			tc->prev->next = tc->next;
		else if (kma_tc_list == tc)
			kma_tc_list = tc->next;
		if (tc->next != NULL)
			tc->next->prev = tc->prev;
		tc->next = tc->prev = NULL;
		pthread_mutex_unlock(&kma_tc_lock);
	}
}

static void
tc_destroy(void *arg)
{
	kma_tcache_flush(arg, 1);
}

/*
 * tc_gc: one look of the cache GC (top of file) at the next class: give
 * back tc's bin of it unless the bin took a slow path since the last
 * look, and the class's transfer stack unless a batch was taken off it.
 * => called by tc's thread, no lock held; takes the class lock.
 */
static void
tc_gc(struct kma_tcache *tc)
{
	unsigned c = tc->gc_next;
	struct kma_class *k = &kma_class[c];
	struct kma_bin *bin = &tc->bin[c];
	uint64_t bit = (uint64_t)1 << c;
	int idle = (tc->busy & bit) == 0;

	tc->gc_next = c + 1 < kma_nclass ? c + 1 : 0;
	tc->busy &= ~bit;
	if ((!idle || bin->head == NULL) &&
	    __atomic_load_n(&k->nxfer, __ATOMIC_RELAXED) == 0)
		return;
	pthread_mutex_lock(&k->lock);
	if (idle && bin->head != NULL) {
		struct kma_free *head = bin->head;
		unsigned n = bin->n;

		bin->head = NULL;
		bin->n = 0;
		list_put(k, head, n);
	}
	if (!k->xfer_used)
		xfer_drain(k);
	k->xfer_used = 0;
	pthread_mutex_unlock(&k->lock);
}

/* tc_slow: a slow-path call of tc's thread on class cls, for the GC */
static inline void
tc_slow(struct kma_tcache *tc, unsigned cls)
{
	tc->busy |= (uint64_t)1 << cls;
	if (++tc->gc_tick % GC_EVERY == 0)
		tc_gc(tc);
}

/*
 * kma_small_alloc_slow: the thread's bin of class cls is empty (or the
 * thread has no cache): refill it, or take one block straight from the
 * class.
 * => NULL when memory is exhausted.
 */
void *
kma_small_alloc_slow(unsigned cls)
{
	struct kma_tcache *tc = &kma_tc;
	struct kma_bin *bin;
	struct kma_free *b = NULL;

	if (tc->state == KMA_TC_NONE)
		kma_tcache_setup();
	bin = &tc->bin[cls];
	pthread_mutex_lock(&kma_class[cls].lock);
	if (tc->state == KMA_TC_LIVE && bin->head == NULL) {
		bin->n = class_get(cls, &bin->head, kma_class[cls].batch);
	} else if (bin->head == NULL) {
		(void)class_get(cls, &b, 1);
	}
	pthread_mutex_unlock(&kma_class[cls].lock);
	if (b == NULL && bin->head != NULL) {
		b = bin->head;
		bin->head = b->next;
		bin->n--;
	}
	if (b != NULL)
		b->tag = 0;
	if (tc->state == KMA_TC_LIVE)
		tc_slow(tc, cls);
	return b;
}

/*
 * kma_small_free_slow: b (already tagged free) does not fit in the
 * thread's bin: give back a batch first, or b alone when the thread has
 * no cache.
 */
void
kma_small_free_slow(struct kma_free *b, unsigned cls)
{
	struct kma_tcache *tc = &kma_tc;
	struct kma_bin *bin = &tc->bin[cls];
	struct kma_class *k = &kma_class[cls];

	if (tc->state == KMA_TC_NONE)
		kma_tcache_setup();
	if (tc->state != KMA_TC_LIVE) {
		b->next = NULL;
		pthread_mutex_lock(&k->lock);
		class_put(cls, b, 1);
		pthread_mutex_unlock(&k->lock);
		return;
	}
	if (bin->n >= bin->max) {
		struct kma_free *head = bin->head, *cut = head;
		unsigned i;

		for (i = 1; i < k->batch; i++)
			cut = cut->next;
		bin->head = cut->next;
		cut->next = NULL;
		bin->n -= k->batch;
		pthread_mutex_lock(&k->lock);
		class_put(cls, head, k->batch);
		pthread_mutex_unlock(&k->lock);
	}
	b->next = bin->head;
	__asm__ __volatile__("" ::: "memory");	/* link before publish */
	bin->head = b;
	bin->n++;
	tc_slow(tc, cls);
}

/*
 * kma_small_trim: give every empty slab back to kva, after draining
 * the transfer stacks; returns the bytes given back.
 */
size_t
kma_small_trim(void)
{
	size_t bytes = 0;
	unsigned c;

	for (c = 0; c < kma_nclass; c++) {
		struct kma_class *k = &kma_class[c];

		pthread_mutex_lock(&k->lock);
		xfer_drain(k);
		while (k->empty != NULL) {
			bytes += ptoa(k->npages);
			slab_release(k, k->empty);
		}
		pthread_mutex_unlock(&k->lock);
	}
	return bytes;
}

/*
 * Fork (malloc.c, section 6).  Prepare takes every class lock and the
 * thread list lock; the child gives back the blocks cached by the
 * threads it does not have.  Their caches are still readable in the
 * child (their stacks are copied), and a thread stopped in the middle of
 * a push or a pop left a list that is sound up to the block being moved,
 * which is either lost (leaked) or not yet taken (reclaimed, correctly:
 * that malloc never returns in the child).  Every block is checked
 * against the page map before it is trusted.
 */
void
kma_tc_lock_all(void)
{
	unsigned c;

	for (c = 0; c < kma_nclass; c++)
		pthread_mutex_lock(&kma_class[c].lock);
	pthread_mutex_lock(&kma_tc_lock);
}

void
kma_tc_unlock_all(void)
{
	unsigned c;

	pthread_mutex_unlock(&kma_tc_lock);
	for (c = kma_nclass; c > 0; c--)
		pthread_mutex_unlock(&kma_class[c - 1].lock);
}

void
kma_small_fork_child(void)
{
	struct kma_tcache *tc, *next;
	unsigned c;

	keep_all_empty = 1;	/* releasing a slab would take held locks */
	for (tc = kma_tc_list; tc != NULL; tc = next) {
		next = tc->next;
		if (tc == &kma_tc)
			continue;
		for (c = 0; c < kma_nclass; c++) {
			struct kma_free *b = tc->bin[c].head;
			uint32_t n = 0, max = tc->bin[c].max;

			while (b != NULL && n <= max) {
				uintptr_t w = kma_pagemap_get((uintptr_t)b);
				struct kma_free *bn;

				/* trust b only once the page map vouches for it */
				if (w == 0 || (w & KMA_PM_TAGMASK) != c ||
				    ((uintptr_t)b & (KMA_ALIGN - 1)) != 0)
					break;
				bn = b->next;
				kma_class[c].out--;
				slab_put(&kma_class[c], b);
				b = bn;
				n++;
			}
		}
	}
	keep_all_empty = 0;
	kma_tc_list = NULL;
	if (kma_tc.state == KMA_TC_LIVE) {
		kma_tc.next = kma_tc.prev = NULL;
		kma_tc_list = &kma_tc;
	}
}

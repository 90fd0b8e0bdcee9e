/*
 * malloc.c: libkvamalloc.so, the C library's malloc family over kva.
 *
 * Theory of operation.
 *
 * 1. What the shim is.  An LD_PRELOAD malloc whose heap is kernel memory
 *    of kva: every block lives in kmem_map or in pool pages, is wired and
 *    mapped when handed out, and never needs a fault to be filled, so the
 *    shim needs no SIGSEGV handler and programs that install their own run
 *    unchanged.  A fault on shim memory only happens on a bug (use after
 *    free, overflow into a guard page): kva's trap handler names the
 *    address and the default action kills the process.
 *
 * 2. Small blocks (up to kma_small_max, 128 KiB unless KVA_OPTIONS large=
 *    says less) go in 48 size classes (kvamalloc.h).  A class's slabs are
 *    one pool page (classes up to 1 KiB, 2 and 4 KiB; a pool page comes
 *    through the direct map, with no system call) or a span of about
 *    64 KiB mapped in kmem_map with one host call.  The page map
 *    (pagemap.c) tells free() the slab and class of any address in a few
 *    loads, with no lock.
 *
 * 3. Per-thread caches.  Each thread keeps, per class, a list of free
 *    blocks (at most 16 KiB worth, 256 blocks).  malloc pops, free pushes:
 *    no lock, no system call, no atomic instruction.  An empty list is
 *    refilled with a batch (half the capacity) under the class lock, a
 *    full one gives a batch back; whole batches wait on the class's
 *    transfer stack for the next thread that needs one.  A thread's cache
 *    is given back by a pthread key destructor when it exits; after that
 *    the thread allocates straight from the classes.  Caches live in
 *    initial-exec TLS, which never allocates.
 *
 * 4. Large blocks (above kma_small_max) get their own VA in kmem_map with
 *    an inaccessible guard page after them.  A block of 2 MiB or more
 *    starts at a 2 MiB boundary, and free() moves its whole 2 MiB pieces,
 *    mapped, to fresh VA in a pool (pmap_kmove: the host's page tables go
 *    along, so on a virtualised host they cost no hypervisor exit when
 *    touched again) and quarantines its VA; the next such block takes
 *    pooled pieces, moved into place.  A smaller one is parked: its
 *    pages stay mapped but inaccessible (every later access faults), and
 *    the next large malloc that fits takes it back with one mprotect, at
 *    the same VA, so that its pages cost no host fault (large.c has the
 *    policy; park=SIZE bounds it).  A block that is not parked, or is
 *    dropped from the parked list, is unmapped and its VA held out of
 *    reuse in a FIFO quarantine (64 MiB of VA, 1024 blocks, by default),
 *    so that a use after free keeps faulting for a long while.  Its frames
 *    stay populated in a cache (32 MiB by default) and are mapped at the
 *    next new block's VA, a run at a time with MAP_POPULATE: no zeroing,
 *    since malloc promises no contents.  calloc zeroes what it reuses and
 *    only the fresh frames not known zero (PG_ZERO).  realloc grows a
 *    large block into its slack, or in place when the VA after it is
 *    free, and otherwise moves its frames to new VA: no byte is copied.
 *
 * 5. Errors.  A free block carries a tag (the process key xor its
 *    address) in its second word, and malloc clears it; free finding the
 *    tag is a double free.  A pointer the page map does not know, or not
 *    at a block boundary, or in a guard page, is an invalid free.  Each
 *    prints one line, "kvamalloc: <error>: <address>", and aborts, as
 *    glibc does.  A size that overflows, or memory that runs out, returns
 *    NULL with ENOMEM, and the process goes on.  malloc(0) is a unique
 *    16-byte block.
 *
 * 6. Start-up and fork.  kva_init runs in the first malloc call, never in
 *    a constructor, so the dynamic loader's early calls work.  Anything
 *    kva_init (or the shim's own set-up) allocates on the same thread is
 *    served from a static bootstrap arena, recognised by address at free.
 *    After kva_init, the shim registers its fork handlers
 *    (kvamalloc_fork_prepare/parent/child, exported so kva can order
 *    them): prepare takes every shim lock, in the order of kvamalloc.h,
 *    before kva's; the child gives back the blocks cached by the threads
 *    it does not have.  Giving the child its own copy of the memfd heap is
 *    kva's part.
 *
 * 7. Options (KVA_OPTIONS; kvamalloc(3)): large=SIZE (largest size in a
 *    class; sizes above are large blocks), quarantine=SIZE (VA held back
 *    after a large free), pcache=SIZE (freed frames kept populated),
 *    park=SIZE (freed large blocks kept parked, at least).  They
 *    are taken out before the rest goes to kva_init.  stats=1 prints a
 *    summary at exit.
 *
 * 8. Valgrind.  Every block is announced (kva_track_malloclike) and
 *    withdrawn (freelike); the link words of free blocks are made
 *    accessible only for the shim.  Spans are not announced by uvm_km
 *    because the shim maps them itself.
 */
#include "kvamalloc.h"
#include "kva_statsfile.h"
#include "kva_report.h"

#include <malloc.h>
#include <stdlib.h>

#define KMA_EXPORT __attribute__((visibility("default")))

uintptr_t kma_key;
int kma_vg;

static pthread_mutex_t kma_init_lock = PTHREAD_MUTEX_INITIALIZER;
static int kma_state;			/* 0 down, 1 up, -1 failed */
static __thread int kma_in_init __attribute__((tls_model("initial-exec")));

void kma_pm_lock_all(void) KMA_HIDDEN;
void kma_sf_fill(struct kva_sf_shim *s) KMA_HIDDEN;	/* statsfile.c */
void kma_pm_unlock_all(void) KMA_HIDDEN;

static void kma_print_stats(int fd);

KMA_EXPORT void kvamalloc_fork_prepare(void);
KMA_EXPORT void kvamalloc_fork_parent(void);
KMA_EXPORT void kvamalloc_fork_child(void);

/*
 * The bootstrap arena: a bump allocator in BSS for the calls made while
 * the shim starts (or if kva cannot start at all).  A block has a
 * 16-byte header holding its size.  Nothing is given back.
 */
#define BOOT_SIZE	((size_t)1 << 20)
static char boot_arena[BOOT_SIZE] __attribute__((aligned(4096)));
static size_t boot_used;

static inline int
boot_owns(const void *p)
{
	return (const char *)p >= boot_arena &&
	    (const char *)p < boot_arena + BOOT_SIZE;
}

static void *
boot_alloc(size_t size, size_t align)
{
	size_t cur, start, end;

	if (align < KMA_ALIGN)
		align = KMA_ALIGN;
	if (size > BOOT_SIZE)
		return NULL;
	cur = __atomic_load_n(&boot_used, __ATOMIC_RELAXED);
	do {
		start = (cur + KMA_ALIGN + align - 1) & ~(align - 1);
		end = start + ((size + KMA_ALIGN - 1) & ~(size_t)(KMA_ALIGN - 1));
		if (end > BOOT_SIZE)
			return NULL;
	} while (!__atomic_compare_exchange_n(&boot_used, &cur, end, 0,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	*(size_t *)(boot_arena + start - KMA_ALIGN) = size;
	return boot_arena + start;
}

static size_t
boot_size(const void *p)
{
	return *(const size_t *)((const char *)p - KMA_ALIGN);
}

/*
 * Options.  The shim's keys are cut out of KVA_OPTIONS into opt_rest,
 * which goes to kva_init; kva parses everything else.
 */
static char opt_rest[1024];

static int
opt_key_is(const char *item, size_t len, const char *key, const char **val,
    size_t *vlen)
{
	size_t kl = strlen(key);
	const char *eq;

	while (len > 0 && (*item == ' ' || *item == '\t')) {
		item++;
		len--;
	}
	if (len <= kl || memcmp(item, key, kl) != 0)
		return 0;
	eq = item + kl;
	while (eq < item + len && (*eq == ' ' || *eq == '\t'))
		eq++;
	if (eq == item + len || *eq != '=')
		return 0;
	*val = eq + 1;
	*vlen = (size_t)(item + len - *val);
	return 1;
}

static void
opt_size(const char *key, const char *val, size_t vlen, size_t *out)
{
	size_t v;

	while (vlen > 0 && (val[vlen - 1] == ' ' || val[vlen - 1] == '\t'))
		vlen--;
	while (vlen > 0 && (*val == ' ' || *val == '\t')) {
		val++;
		vlen--;
	}
	if (kva_parse_size(val, vlen, &v) != 0) {
		kva_warn("kvamalloc: KVA_OPTIONS: bad value for %s, default kept",
		    key);
		return;
	}
	*out = v;
}

static void
opt_parse(const char *env, size_t *large, struct kma_large_opts *lo)
{
	const char *s = env;
	size_t used = 0;

	opt_rest[0] = '\0';
	while (s != NULL && *s != '\0') {
		const char *comma = strchr(s, ',');
		size_t len = comma != NULL ? (size_t)(comma - s) : strlen(s);
		const char *val;
		size_t vlen;

		if (opt_key_is(s, len, "large", &val, &vlen))
			opt_size("large", val, vlen, large);
		else if (opt_key_is(s, len, "quarantine", &val, &vlen))
			opt_size("quarantine", val, vlen, &lo->quarantine);
		else if (opt_key_is(s, len, "pcache", &val, &vlen))
			opt_size("pcache", val, vlen, &lo->pcache);
		else if (opt_key_is(s, len, "park", &val, &vlen))
			opt_size("park", val, vlen, &lo->park);
		else if (used + len + 2 < sizeof(opt_rest)) {
			if (used > 0)
				opt_rest[used++] = ',';
			memcpy(opt_rest + used, s, len);
			used += len;
			opt_rest[used] = '\0';
		}
		s = comma != NULL ? comma + 1 : NULL;
	}
}

/*
 * Start-up (section 6).
 */
static uintptr_t
kma_random(void)
{
	uintptr_t x = (uintptr_t)kva_host_nanotime();

	x ^= (uintptr_t)&x * 0x9e3779b97f4a7c15ULL;
	x ^= (uintptr_t)boot_arena >> 12;
	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 29;
	return x | 1;
}

/*
 * kma_init: bring kva and the shim up.
 * => 1 when up; 0 when this thread is already inside kma_init (use the
 *    bootstrap arena) or start-up failed.
 */
static int __attribute__((noinline))
kma_init(void)
{
	struct kva_config cfg;
	struct kma_large_opts lo = {
		.quarantine = (size_t)64 << 20,
		.pcache = (size_t)32 << 20,
		.park = (size_t)64 << 20,
	};
	size_t large = KMA_CLASS_MAX;
	int error, state;

	state = __atomic_load_n(&kma_state, __ATOMIC_ACQUIRE);
	if (state != 0)
		return state > 0;
	if (kma_in_init)
		return 0;
	pthread_mutex_lock(&kma_init_lock);
	if (kma_state != 0) {
		pthread_mutex_unlock(&kma_init_lock);
		return kma_state > 0;
	}
	kma_in_init = 1;
	opt_parse(kva_host_getenv("KVA_OPTIONS"), &large, &lo);
	memset(&cfg, 0, sizeof(cfg));
	cfg.options = opt_rest;
	error = kva_init(&cfg);
	if (error != 0) {
		kva_warn("kvamalloc: kva_init failed (error %d); serving from "
		    "the %zu KiB bootstrap arena only", error, BOOT_SIZE >> 10);
		state = -1;
	} else {
		kma_vg = kva_track_on_valgrind();
		kma_key = kma_random();
		if (large < KMA_ALIGN)
			large = KMA_ALIGN;
		kma_large_init(&lo);
		kva_fault_set_describe(kma_large_describe);
		kva_stats_set_hook(kma_print_stats);
		kma_small_init(large);
		(void)pthread_atfork(kvamalloc_fork_prepare,
		    kvamalloc_fork_parent, kvamalloc_fork_child);
		kva_fork_threads_deferred();
		kva_statsfile_set_shim(kma_sf_fill);	/* statsfile */
		state = 1;
	}
	__atomic_store_n(&kma_state, state, __ATOMIC_RELEASE);
	kma_in_init = 0;
	pthread_mutex_unlock(&kma_init_lock);
	return state > 0;
}

/*
 * Errors (section 5).
 */
void
kma_error(const char *what, const void *p, const void *block)
{
	if (block != NULL && block != p)
		kva_printf(2, "kvamalloc: %s: %p (block %p)\n", what, p, block);
	else
		kva_printf(2, "kvamalloc: %s: %p\n", what, p);
	abort();
}

static void __attribute__((noreturn, noinline))
bad_free(const void *p, uintptr_t w)
{
	uintptr_t block = 0;
	const char *what;

	if (w != 0 && (w & KMA_PM_TAGMASK) != KMA_PM_LARGE) {
		struct kma_slab *s = (struct kma_slab *)(w & ~KMA_PM_TAGMASK);
		size_t size = kma_class[w & KMA_PM_TAGMASK].size;

		block = s->base + ((uintptr_t)p - s->base) / size * size;
		kma_error("invalid free (interior pointer)", p, (void *)block);
	}
	if (kma_state <= 0)
		kma_error("invalid free (not allocated by kvamalloc)", p, NULL);
	what = kma_large_explain((uintptr_t)p, &block);
	kma_error(what, p, (void *)block);
}

/*
 * The small-block paths (sections 2, 3).
 */

/* slab_of: p's slab and class from page map word w, checked */
static inline struct kma_slab *
slab_check(void *p, uintptr_t w, unsigned *clsp)
{
	struct kma_slab *s = (struct kma_slab *)(w & ~KMA_PM_TAGMASK);
	unsigned c = (unsigned)(w & KMA_PM_TAGMASK);
	const struct kma_class *k = &kma_class[c];
	uint64_t off = (uintptr_t)p - s->base, idx = (off * k->inv) >> 40;

	if (KVA_UNLIKELY(idx * k->size != off || idx >= s->nblocks))
		bad_free(p, w);
	if (KVA_UNLIKELY(kma_vg)) {
		/* the tag word is inside a block memcheck sees as live: its
		 * value is ours to look at, whatever the program left there */
		uint64_t tag = ((struct kma_free *)p)->tag;

		kva_track_defined(&tag, sizeof(tag));
		if (tag == kma_free_tag(p))
			kma_error("double free", p, NULL);
	} else if (KVA_UNLIKELY(((struct kma_free *)p)->tag ==
	    kma_free_tag(p))) {
		kma_error("double free", p, NULL);
	}
	*clsp = c;
	return s;
}

static inline void *
small_alloc(size_t n)
{
	unsigned c = kma_size_class(n);
	struct kma_bin *bin = &kma_tc.bin[c];
	struct kma_free *b = bin->head;

	if (KVA_LIKELY(b != NULL)) {
		bin->head = b->next;
		bin->n--;
		b->tag = 0;
	} else {
		b = kma_small_alloc_slow(c);
		if (KVA_UNLIKELY(b == NULL))
			return NULL;
	}
	/* memcheck knows the block by its usable size, the class's, which
	 * malloc_usable_size promises and realloc may use */
	if (KVA_UNLIKELY(kma_vg))
		kva_track_malloclike(b, kma_class[c].size, 0, 0);
	return b;
}

static inline void
small_free(void *p, unsigned c)
{
	struct kma_bin *bin = &kma_tc.bin[c];
	struct kma_free *b = p;

	if (KVA_UNLIKELY(kma_vg)) {
		kva_track_freelike(p, 0);
		kva_track_undefined(p, sizeof(*b));
	}
	b->tag = kma_free_tag(p);
	if (KVA_LIKELY(bin->n < bin->max)) {
		b->next = bin->head;
		__asm__ __volatile__("" ::: "memory");	/* link, then publish */
		bin->head = b;
		bin->n++;
		return;
	}
	kma_small_free_slow(b, c);
}

/*
 * kma_alloc: malloc's body for every size, and alignment up to a page
 * through the classes.
 */
static void * __attribute__((noinline))
kma_alloc_slow(size_t n, size_t align, int zero)
{
	void *p;

	if (KVA_UNLIKELY(!kma_init())) {
		p = boot_alloc(n, align);
		if (p == NULL)
			errno = ENOMEM;
		return p;
	}
	if (n <= kma_small_max && align <= KMA_ALIGN) {
		p = small_alloc(n);
		if (p != NULL && zero)
			memset(p, 0, n);
	} else {
		p = n > PTRDIFF_MAX ? NULL : kma_large_alloc(n, align, zero);
	}
	if (p == NULL)
		errno = ENOMEM;
	return p;
}

KMA_EXPORT void *
malloc(size_t n)
{
	if (KVA_LIKELY(n <= kma_small_max)) {
		struct kma_bin *bin = &kma_tc.bin[kma_size_class(n)];
		struct kma_free *b = bin->head;

		if (KVA_LIKELY(b != NULL && !kma_vg)) {
			bin->head = b->next;
			bin->n--;
			b->tag = 0;
			return b;
		}
	}
	return kma_alloc_slow(n, 0, 0);
}

static void __attribute__((noinline))
kma_free_slow(void *p, uintptr_t w)
{
	if (boot_owns(p)) {
		if (kma_vg)
			kva_track_freelike(p, 0);
		return;
	}
	if (w != 0 && (w & KMA_PM_TAGMASK) == KMA_PM_LARGE) {
		kma_large_free((struct kma_large *)(w & ~KMA_PM_TAGMASK), p);
		return;
	}
	bad_free(p, w);
}

KMA_EXPORT void
free(void *p)
{
	uintptr_t w;
	unsigned c;

	if (p == NULL)
		return;
	w = kma_pagemap_get((uintptr_t)p);
	if (KVA_LIKELY(w != 0 && (w & KMA_PM_TAGMASK) != KMA_PM_LARGE)) {
		(void)slab_check(p, w, &c);
		small_free(p, c);
		return;
	}
	kma_free_slow(p, w);
}

KMA_EXPORT void *
calloc(size_t nmemb, size_t size)
{
	size_t n;

	if (KVA_UNLIKELY(__builtin_mul_overflow(nmemb, size, &n))) {
		errno = ENOMEM;
		return NULL;
	}
	return kma_alloc_slow(n, 0, 1);
}

/* usable size of a live block; aborts on a bad pointer */
static size_t
kma_usable(void *p, uintptr_t *wp)
{
	uintptr_t w = kma_pagemap_get((uintptr_t)p);
	unsigned c;

	*wp = w;
	if (boot_owns(p))
		return boot_size(p);
	if (w != 0 && (w & KMA_PM_TAGMASK) != KMA_PM_LARGE) {
		(void)slab_check(p, w, &c);
		return kma_class[c].size;
	}
	if (w != 0) {
		struct kma_large *lb = (struct kma_large *)(w & ~KMA_PM_TAGMASK);

		if ((vaddr_t)p != lb->va)
			bad_free(p, 0);
		return ptoa(lb->npages);
	}
	bad_free(p, w);
}

KMA_EXPORT void *
realloc(void *p, size_t n)
{
	uintptr_t w;
	size_t old;
	void *q;

	if (p == NULL)
		return malloc(n);
	if (n == 0) {
		free(p);
		return NULL;
	}
	old = kma_usable(p, &w);
	if (!boot_owns(p) && (w & KMA_PM_TAGMASK) != KMA_PM_LARGE) {
		/* small: stay while the class still fits well */
		if (n <= old && (n > old / 2 || old <= 32))
			return p;	/* same block, same usable size */
	} else if (!boot_owns(p) && n > kma_small_max) {
		q = kma_large_realloc((struct kma_large *)(w & ~KMA_PM_TAGMASK),
		    n);
		if (q != NULL)
			return q;
	}
	q = malloc(n);
	if (q == NULL)
		return NULL;
	memcpy(q, p, old < n ? old : n);
	free(p);
	return q;
}

KMA_EXPORT void *
reallocarray(void *p, size_t nmemb, size_t size)
{
	size_t n;

	if (__builtin_mul_overflow(nmemb, size, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, n);
}

/*
 * Aligned allocation.  Up to a page, a class whose size is a multiple of
 * the alignment gives aligned blocks (slabs are page aligned); beyond,
 * a large block aligned in its VA.
 */
static void *
kma_memalign(size_t align, size_t n)
{
	unsigned c;
	void *p;

	if (align <= KMA_ALIGN)
		return malloc(n);
	if (KVA_UNLIKELY(!kma_init()))
		return kma_alloc_slow(n, align, 0);
	if (align <= PAGE_SIZE && n <= kma_small_max) {
		for (c = kma_size_class(n); c < kma_nclass; c++)
			if ((kma_class[c].size & (align - 1)) == 0)
				return malloc(kma_class[c].size);
	}
	p = n > PTRDIFF_MAX ? NULL : kma_large_alloc(n > 0 ? n : 1, align, 0);
	if (p == NULL)
		errno = ENOMEM;
	return p;
}

KMA_EXPORT int
posix_memalign(void **pp, size_t align, size_t n)
{
	int saved = errno;
	void *p;

	if (align < sizeof(void *) || (align & (align - 1)) != 0)
		return EINVAL;
	p = kma_memalign(align, n);
	if (p == NULL) {
		errno = saved;
		return ENOMEM;
	}
	*pp = p;
	return 0;
}

static size_t
pow2_up(size_t a)
{
	size_t p = 1;

	while (p < a && p != 0)
		p <<= 1;
	return p;
}

KMA_EXPORT void *
memalign(size_t align, size_t n)
{
	if ((align & (align - 1)) != 0)
		align = pow2_up(align);
	if (align == 0) {
		errno = EINVAL;
		return NULL;
	}
	return kma_memalign(align, n);
}

KMA_EXPORT void *
aligned_alloc(size_t align, size_t n)
{
	return memalign(align, n);
}

KMA_EXPORT void *
valloc(size_t n)
{
	return kma_memalign(PAGE_SIZE, n);
}

KMA_EXPORT void *
pvalloc(size_t n)
{
	size_t ps = PAGE_SIZE;

	if (n > SIZE_MAX - ps) {
		errno = ENOMEM;
		return NULL;
	}
	return kma_memalign(ps, n == 0 ? ps : (n + ps - 1) & ~(ps - 1));
}

KMA_EXPORT size_t
malloc_usable_size(void *p)
{
	uintptr_t w;

	if (p == NULL)
		return 0;
	return kma_usable(p, &w);
}

/*
 * Statistics.
 */
struct kma_totals {
	size_t small_inuse, small_held, small_peak;
	size_t cached;			/* in thread caches and transfer stacks */
	size_t nslabs, meta;
	struct kma_large_stats l;
};

static void
kma_totals(struct kma_totals *t, int fd)
{
	size_t incache[KMA_NCLASS];
	struct kma_tcache *tc;
	unsigned c;

	memset(t, 0, sizeof(*t));
	if (kma_state <= 0)
		return;
	memset(incache, 0, sizeof(incache));
	pthread_mutex_lock(&kma_tc_lock);
	for (tc = kma_tc_list; tc != NULL; tc = tc->next)
		for (c = 0; c < kma_nclass; c++)
			incache[c] += __atomic_load_n(&tc->bin[c].n,
			    __ATOMIC_RELAXED);
	pthread_mutex_unlock(&kma_tc_lock);
	for (c = 0; c < kma_nclass; c++) {
		struct kma_class *k = &kma_class[c];
		size_t x, out, nslabs, peak;
		unsigned i;

		pthread_mutex_lock(&k->lock);
		for (x = 0, i = 0; i < k->nxfer; i++)
			x += k->xfer[i].n;
		out = k->out;
		nslabs = k->nslabs;
		peak = k->out_peak;
		pthread_mutex_unlock(&k->lock);
		if (incache[c] + x > out)
			incache[c] = out - x;
		t->small_inuse += (out - incache[c] - x) * k->size;
		t->cached += (incache[c] + x) * k->size;
		t->small_held += nslabs * ptoa(k->npages);
		t->small_peak += peak * k->size;
		t->nslabs += nslabs;
		if (fd >= 0 && (nslabs > 0 || peak > 0))
			kva_printf(fd, "kvamalloc: %7zu %12zu %12zu %12zu "
			    "%7zu x %u\n", k->size,
			    (out - incache[c] - x) * k->size,
			    (incache[c] + x) * k->size, peak * k->size,
			    nslabs, k->npages);
	}
	t->meta = kma_meta_bytes();
	kma_large_stats(&t->l);
}

KMA_EXPORT struct mallinfo2
mallinfo2(void)
{
	struct mallinfo2 mi;
	struct kma_totals t;

	memset(&mi, 0, sizeof(mi));
	kma_totals(&t, -1);
	mi.arena = t.small_held + t.meta;
	mi.ordblks = t.nslabs;
	mi.hblks = t.l.nblocks;
	mi.hblkhd = t.l.bytes;
	mi.usmblks = 0;
	mi.fsmblks = t.cached;
	mi.uordblks = t.small_inuse + t.l.bytes;
	mi.fordblks = mi.arena > t.small_inuse ? mi.arena - t.small_inuse : 0;
	mi.keepcost = t.l.pcache_bytes + t.l.parked_bytes + t.l.slack_bytes +
	    t.l.pooled_bytes;
	return mi;
}

static int
clamp_int(size_t v)
{
	return v > INT32_MAX ? INT32_MAX : (int)v;
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
KMA_EXPORT struct mallinfo
mallinfo(void)
{
	struct mallinfo2 m2 = mallinfo2();
	struct mallinfo mi;

	memset(&mi, 0, sizeof(mi));
	mi.arena = clamp_int(m2.arena);
	mi.ordblks = clamp_int(m2.ordblks);
	mi.hblks = clamp_int(m2.hblks);
	mi.hblkhd = clamp_int(m2.hblkhd);
	mi.fsmblks = clamp_int(m2.fsmblks);
	mi.uordblks = clamp_int(m2.uordblks);
	mi.fordblks = clamp_int(m2.fordblks);
	mi.keepcost = clamp_int(m2.keepcost);
	return mi;
}
#pragma GCC diagnostic pop

/*
 * kma_print_stats: the shim's part of kva_stats_print (registered with
 * kva_stats_set_hook): per size class, the bytes in use by the program,
 * cached by threads, and the most ever out of the slabs (in use and
 * cached); then the totals, which are the figures mallinfo2 reports
 * (uordblks = in use, hblkhd = large bytes, arena = held in slabs and
 * descriptors, keepcost = the page cache).
 */
static void
kma_print_stats(int fd)
{
	struct kma_totals t;

	kva_printf(fd, "kvamalloc: size classes up to %zu bytes (bytes):\n"
	    "kvamalloc:   class       in use       cached         peak   "
	    "slabs x pages\n", kma_small_max);
	kma_totals(&t, fd);
	kva_printf(fd,
	    "kvamalloc: small: %zu bytes in use, %zu cached by threads, "
	    "%zu held in %zu slabs, peak in use %zu\n"
	    "kvamalloc: large: %zu blocks, %zu bytes, peak %zu; %zu allocated, "
	    "%zu grown in place, %zu moved\n"
	    "kvamalloc: large: pages reused %zu, fresh %zu; page cache %zu "
	    "bytes, quarantine %zu bytes of VA\n"
	    "kvamalloc: large: parked %zu blocks, %zu bytes, slack %zu bytes; "
	    "%zu allocations from parked blocks; pooled chunks %zu bytes, "
	    "%zu chunks reused; %zu dropped\n"
	    "kvamalloc: in use %zu bytes; held from kva %zu bytes "
	    "(descriptors %zu)\n",
	    t.small_inuse, t.cached, t.small_held, t.nslabs, t.small_peak,
	    t.l.nblocks, t.l.bytes, t.l.bytes_peak, (size_t)t.l.nalloc,
	    (size_t)t.l.inplace, (size_t)t.l.moved, (size_t)t.l.reuse_pages,
	    (size_t)t.l.fresh_pages, t.l.pcache_bytes, t.l.quarantine_bytes,
	    t.l.nparked, t.l.parked_bytes, t.l.slack_bytes,
	    (size_t)t.l.park_hits, t.l.pooled_bytes, (size_t)t.l.chunk_hits,
	    (size_t)t.l.park_evicted, t.small_inuse + t.l.bytes,
	    t.small_held + t.l.bytes + t.meta + t.l.pcache_bytes +
	    t.l.parked_bytes + t.l.slack_bytes + t.l.pooled_bytes, t.meta);
}

KMA_EXPORT void
malloc_stats(void)
{
	if (kma_state > 0)
		kva_stats_print(2);	/* the shim's part first, then kva's */
	else
		kva_printf(2, "kvamalloc: not started\n");
}

KMA_EXPORT int
malloc_trim(size_t pad)
{
	size_t bytes;

	(void)pad;
	if (kma_state <= 0)
		return 0;
	if (kma_tc.state == KMA_TC_LIVE)
		kma_tcache_flush(&kma_tc, 0);
	bytes = kma_small_trim() + kma_large_trim();
	kva_drain();
	uvm_pdzero_drain(1);		/* punch every free run, now */
	return bytes > 0;
}

/*
 * Fork (section 6).
 */
void
kvamalloc_fork_prepare(void)
{
	pthread_mutex_lock(&kma_init_lock);
	if (kma_state <= 0)
		return;
	kma_tc_lock_all();		/* classes, then the thread list */
	pthread_mutex_lock(&kma_large_lock);
	kma_pm_lock_all();		/* page map, descriptors */
}

static void
fork_unlock(void)
{
	if (kma_state > 0) {
		kma_pm_unlock_all();
		pthread_mutex_unlock(&kma_large_lock);
		kma_tc_unlock_all();
	}
	pthread_mutex_unlock(&kma_init_lock);
}

void
kvamalloc_fork_parent(void)
{
	fork_unlock();
}

void
kvamalloc_fork_child(void)
{
	if (kma_state > 0)
		kma_small_fork_child();
	fork_unlock();
	kva_fork_child_threads();	/* now that malloc works again */
	if (kma_state > 0)
		kva_statsfile_fork_done();	/* statsfile: its publisher */
}

/*
 * uvm_hist.c: UVMHIST history rings (uvm_hist.h has the interface).
 *
 * 1. Where the rings are.  Each history owns a ring of
 *    KVA_SF_HISTENT entries in the statistics file (kva_statsfile.h,
 *    section 3), or in anonymous memory of the same layout when the
 *    file is off (kva_statsfile.c decides).  kva_sf points at it while
 *    kva is up; a history is enabled only while kva_sf is set.
 *
 * 2. Logging.  uvmhist_log claims a slot with one fetch-add on the
 *    ring's counter, marks it busy (seq 2n+1), writes the time, the
 *    thread, the two string offsets and the values, and publishes it
 *    with seq 2n+2 (release).  Two writers meet on one slot only when
 *    the ring wraps while the first is still writing; the reader then
 *    skips the slot, because the seq it finds is not the one it wants.
 *
 * 3. Strings.  A call site's function name and format are copied into
 *    the string table once, the first time the site logs with its
 *    history on, and the offsets kept in the site's static word.  The
 *    copy takes no lock either: space is claimed with a fetch-add, and a
 *    string already in the table is found and reused, so two threads
 *    racing on one site cost at most a duplicate.  When the table is
 *    full, the site logs with empty strings (kvahist shows "?").
 *
 * 4. Threads are named by their Linux thread id, read once per thread
 *    (a forked child's thread starts over: uvm_hist_fork_child).
 */
#include "kva_impl.h"
#include "kva_statsfile.h"
#include "uvm_hist.h"
#include "pmap_posix/pmap_md.h"

struct kern_history maphist = { 0, 0, "maphist" };
struct kern_history pdhist = { 0, 1, "pdhist" };
struct kern_history pmaphist = { 0, 2, "pmaphist" };
struct kern_history faulthist = { 0, 3, "faulthist" };
struct kern_history swaphist = { 0, 4, "swaphist" };

static struct kern_history *const uvm_histories[] = {
	&maphist, &pdhist, &pmaphist, &faulthist, &swaphist,
};
#define NHIST (sizeof(uvm_histories) / sizeof(uvm_histories[0]))
_Static_assert(NHIST <= KVA_SF_NHIST, "more histories than rings");

static struct kva_statsfile *kva_sf;	/* the rings, while kva is up */
static __thread uint32_t hist_tid __attribute__((tls_model("initial-exec")));

/*
 * A site's word: (0x80000000 | table generation) << 32, then the two
 * string offsets, 16 bits each.  The generation changes with every
 * kva_init, so a site interned into an earlier file interns again.
 */
static uint32_t strtab_gen;
_Static_assert(KVA_SF_STRTAB <= 65536, "string offsets are 16 bits");

/*
 * strtab_find: the offset of s in the table, or 0.  The table only
 * grows and each string is written before any site publishes its
 * offset; a string being written concurrently is simply not found.
 */
static uint32_t
strtab_find(struct kva_sf_strtab *t, const char *s, size_t len)
{
	uint32_t used = __atomic_load_n(&t->used, __ATOMIC_ACQUIRE);
	uint32_t off = 1;

	if (used > KVA_SF_STRTAB)
		used = KVA_SF_STRTAB;
	while (off + len < used) {
		const char *p = t->s + off;
		size_t n = strnlen(p, used - off);

		if (n == len && memcmp(p, s, len) == 0)
			return off;
		off += (uint32_t)n + 1;
	}
	return 0;
}

/* strtab_intern: s in the table; 0 ("") when the table is full */
static uint32_t
strtab_intern(struct kva_sf_strtab *t, const char *s)
{
	size_t len = strlen(s);
	uint32_t off;

	off = strtab_find(t, s, len);
	if (off != 0)
		return off;
	if (len >= KVA_SF_STRTAB)
		return 0;
	off = __atomic_fetch_add(&t->used, (uint32_t)len + 1, __ATOMIC_RELAXED);
	if ((size_t)off + len + 1 > KVA_SF_STRTAB)
		return 0;	/* full: the counter stays past the end */
	memcpy(t->s + off, s, len + 1);
	return off;
}

static uint64_t
site_intern(struct kva_statsfile *sf, uint64_t *site, const char *fn,
    const char *fmt)
{
	uint64_t v = __atomic_load_n(site, __ATOMIC_ACQUIRE);
	uint64_t tag = (uint64_t)(0x80000000u | strtab_gen) << 32;

	if (KVA_LIKELY((v & ~(uint64_t)0xffffffff) == tag))
		return v;
	v = tag | ((uint64_t)strtab_intern(&sf->strtab, fn) << 16) |
	    strtab_intern(&sf->strtab, fmt);
	__atomic_store_n(site, v, __ATOMIC_RELEASE);
	return v;
}

void
uvmhist_log(struct kern_history *h, uint64_t *site, const char *fn,
    const char *fmt, uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
	struct kva_statsfile *sf = __atomic_load_n(&kva_sf, __ATOMIC_ACQUIRE);
	struct kva_sf_hist *ring;
	struct kva_sf_histent *e;
	uint64_t n, s;

	if (sf == NULL || h->idx >= KVA_SF_NHIST)
		return;
	s = site_intern(sf, site, fn, fmt);
	if (KVA_UNLIKELY(hist_tid == 0))
		hist_tid = kva_host_gettid();
	ring = &sf->hist[h->idx];
	n = __atomic_fetch_add(&ring->next, 1, __ATOMIC_RELAXED);
	e = &ring->e[n & (KVA_SF_HISTENT - 1)];
	__atomic_store_n(&e->seq, 2 * n + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	e->ts = kva_host_nanotime();
	e->tid = hist_tid;
	e->fn = (uint32_t)(s >> 16) & 0xffff;
	e->fmt = (uint32_t)s & 0xffff;
	e->v[0] = a;
	e->v[1] = b;
	e->v[2] = c;
	e->v[3] = d;
	__atomic_store_n(&e->seq, 2 * n + 2, __ATOMIC_RELEASE);
}

static void
hist_publish_mask(void)
{
	struct kva_statsfile *sf = kva_sf;
	uint32_t mask = 0;
	size_t i;

	if (sf == NULL)
		return;
	for (i = 0; i < NHIST; i++)
		if (uvm_histories[i]->enabled)
			mask |= 1u << uvm_histories[i]->idx;
	__atomic_store_n(&sf->hdr.hist_on, mask, __ATOMIC_RELEASE);
}

int
uvmhist_set(const char *name, int on)
{
	int found = 0;
	size_t i;

	if (kva_sf == NULL)
		return -1;
	for (i = 0; i < NHIST; i++)
		if (strcmp(name, "all") == 0 ||
		    strcmp(name, uvm_histories[i]->name) == 0) {
			uvm_histories[i]->enabled = on != 0;
			found = 1;
		}
	hist_publish_mask();
	return found ? 0 : -1;
}

void
uvm_hist_init(struct kva_statsfile *sf, const char *list)
{
	const char *p = list;
	size_t i;

	for (i = 0; i < NHIST; i++) {
		size_t n = strlen(uvm_histories[i]->name);

		memcpy(sf->hdr.hist_name[uvm_histories[i]->idx],
		    uvm_histories[i]->name, n + 1);
	}
	sf->hdr.nhist = (uint32_t)NHIST;
	sf->hdr.histent = KVA_SF_HISTENT;
	if (sf->strtab.used == 0) {
		sf->strtab.size = KVA_SF_STRTAB;
		sf->strtab.used = 1;	/* offset 0 is "" */
	}
	strtab_gen = (strtab_gen + 1) & 0x7fffffff;
	__atomic_store_n(&kva_sf, sf, __ATOMIC_RELEASE);
	while (p != NULL && *p != '\0') {
		char name[32];
		const char *e = strchr(p, ',');
		size_t n = e != NULL ? (size_t)(e - p) : strlen(p);

		if (n > 0 && n < sizeof(name)) {
			memcpy(name, p, n);
			name[n] = '\0';
			if (uvmhist_set(name, 1) != 0)
				kva_warn("KVA_OPTIONS: no history named \"%s\" "
				    "(maphist, pdhist, pmaphist, faulthist, "
				    "swaphist or all)", name);
		}
		p = e != NULL ? e + 1 : NULL;
	}
}

void
uvm_hist_fini(void)
{
	size_t i;

	for (i = 0; i < NHIST; i++)
		uvm_histories[i]->enabled = 0;
	__atomic_store_n(&kva_sf, NULL, __ATOMIC_RELEASE);
}

void
uvm_hist_rebase(struct kva_statsfile *sf)
{
	__atomic_store_n(&kva_sf, sf, __ATOMIC_RELEASE);
}

void
uvm_hist_fork_child(void)
{
	hist_tid = 0;
}

/*
 * uvm_hist_dump: for panic.  Reads the rings the way kvahist does
 * (kva_sfread.c), one history after the other.
 */
void
uvm_hist_dump(int fd)
{
	struct kva_statsfile *sf = __atomic_load_n(&kva_sf, __ATOMIC_ACQUIRE);
	size_t i;

	if (sf == NULL)
		return;
	for (i = 0; i < NHIST; i++) {
		const struct kern_history *h = uvm_histories[i];
		uint64_t next, n;

		if (!h->enabled)
			continue;
		next = __atomic_load_n(&sf->hist[h->idx].next, __ATOMIC_ACQUIRE);
		kva_printf(fd, "kva: history %s (%llu entries logged):\n",
		    h->name, (unsigned long long)next);
		n = next > KVA_SF_HISTENT ? next - KVA_SF_HISTENT : 0;
		for (; n < next; n++) {
			struct kva_sf_histent e;
			char line[384];

			if (!kva_sf_hist_get(sf, h->idx, n, &e))
				continue;
			kva_sf_hist_format(sf, h->idx, &e, line, sizeof(line));
			kva_printf(fd, "  %s\n", line);
		}
	}
}

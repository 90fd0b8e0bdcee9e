/*
 * kva_statsfile.c: the statistics file, kva's live figures for
 * outside tools (kvastat, kvahist), like the JVM's hsperfdata.
 *
 * 1. The region.  kva_statsfile_init maps one struct kva_statsfile
 *    (kva_statsfile.h): the file $XDG_RUNTIME_DIR/kva-<uid>/<pid> (or
 *    /tmp/...), or, with KVA_OPTIONS statsfile=0 or when the file cannot
 *    be made, anonymous memory of the same layout, so that the UVMHIST
 *    rings (uvm_hist.c) always have a home.  Before making its file, a
 *    process removes the files of processes that are gone.
 *
 * 2. Publishing.  A publisher thread copies uvmexp, the maps, a picture
 *    of their entries and the shim's figures into the file every
 *    PUBLISH_MS, and kva_drain publishes at once.  Each section is
 *    written between two increments of its sequence count, so readers
 *    need no lock.  The publisher only tries the map and object locks
 *    and skips a section whose lock is busy, so it never makes the
 *    program wait; kva_drain waits for them, and is exact.
 *
 * 3. Resident pages.  For an entry backed by an object, each page is
 *    looked up (the object lock held), which tells resident from absent
 *    and wired from pageable.  Past LOOKUP_BUDGET lookups in one
 *    publication (big pageable ranges), an entry is counted by the
 *    pmap's per-2 MiB mapped counts instead, flagged KVA_SF_E_APPROX;
 *    so is an entry without an object (the malloc shim maps its slabs
 *    and large blocks itself), whose pages have no object to ask.
 *
 * 4. Lifetime.  kva_fini stops the thread, removes the file and unmaps
 *    the region; a destructor removes the file at exit when kva_fini
 *    was not called (the malloc shim never calls it).  A forked child
 *    makes a file of its own (a copy, rings included) and starts its
 *    own publisher; exec drops the mapping, and no descriptor is kept.
 *
 * Lock order: sf.shimlock, then the shim's locks, then sf.lock (which
 * kva_init_lock precedes), then the VM's locks (kva_impl.h).  Nobody
 * waits for shimlock while holding kva_init_lock's followers, so the
 * shim's fork handler (its locks, then kva_init_lock, sf.lock) cannot
 * meet a publisher in a cycle.  sf.runlock only guards the
 * publisher thread's sleep.  A forked child re-initialises shimlock and
 * runlock, which the parent's publisher may have held.
 */
#include "kva_impl.h"
#include "kva_statsfile.h"
#include "uvm_hist.h"
#include "pmap_posix/pmap_md.h"

#include <limits.h>
#include <stdio.h>
#include <time.h>

#define PUBLISH_MS	100
#define LOOKUP_BUDGET	16384	/* page lookups per publication */
#define EXACT_MAX	4096	/* pages of an entry worth looking up */

extern vaddr_t kva_kernel_base;		/* kva_init.c */

static struct {
	pthread_mutex_t lock;		/* (S) publishing, fork, fini */
	struct kva_statsfile *sf;	/* (S) the region, or NULL */
	int is_file;			/* (S) sf is the file in dir */
	long pid;			/* (S) the owner of the file */
	char dir[KVA_PATH_MAX];		/* (S) */
	void (*shim)(struct kva_sf_shim *);	/* the shim's filler */
	pthread_mutex_t shimlock;	/* (H) the shim's scratch section */
	pthread_mutex_t runlock;	/* (R) the thread's sleep */
	pthread_cond_t runcv;		/* (R) */
	int stop;			/* (R) the thread must end */
	int running;			/* (S) the thread exists */
	int defer;			/* (S) forked child: wait for the shim */
	int exiting;			/* the process is exiting */
	pthread_t thread;		/* (S) */
} sf = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.runlock = PTHREAD_MUTEX_INITIALIZER,
	.shimlock = PTHREAD_MUTEX_INITIALIZER,
};

/* scratch for building sections, (S) */
static struct kva_sf_maps sf_maps;
static struct kva_sf_entries sf_ents;

/*
 * Sections: the writer's half of kva_sf_read.
 */
static void
sec_begin(uint64_t *seq)
{
	__atomic_store_n(seq, *seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void
sec_end(uint64_t *seq)
{
	__atomic_store_n(seq, *seq + 1, __ATOMIC_RELEASE);
}

/* sec_write: the body of a section (everything after its seq) */
static void
sec_write(void *sec, const void *src, size_t len)
{
	uint64_t *seq = sec;

	sec_begin(seq);
	memcpy((char *)sec + sizeof(uint64_t),
	    (const char *)src + sizeof(uint64_t), len - sizeof(uint64_t));
	sec_end(seq);
}

/* sec_reset: a copied section whose writer was caught in it */
static void
sec_reset(uint64_t *seq)
{
	*seq &= ~(uint64_t)1;
}

static void
copy_name(char *dst, size_t len, const char *src)
{
	size_t n = src != NULL ? strlen(src) : 0;

	if (n >= len)
		n = len - 1;
	memset(dst, 0, len);
	if (n > 0)
		memcpy(dst, src, n);
}

/*
 * The map walk (section 3).
 */
struct walk {
	int force;		/* wait for locks */
	long budget;		/* page lookups left */
};

static int
walk_lock_map(struct walk *w, struct vm_map *map)
{
	if (w->force) {
		vm_map_lock(map);
		return 1;
	}
	return vm_map_lock_try(map);
}

static int
entry_kind(const struct vm_map_entry *e)
{
	const struct uvm_object *o;

	if (UVM_ET_ISSUBMAP(e))
		return KVA_SF_SUBMAP;
	o = UVM_ET_ISOBJ(e) ? e->object.uvm_obj : NULL;
	if (o == NULL)
		return KVA_SF_NONE;
	if (o == uvm.kernel_object)
		return KVA_SF_KOBJ;
	if (o == uvmexp.kmem_object)
		return KVA_SF_KMEMOBJ;
	if (o == uvmexp.mb_object)
		return KVA_SF_MBOBJ;
	return o->pgops == &aobj_pager ? KVA_SF_AOBJ : KVA_SF_OBJ;
}

/* resident_by_chunk: the pmap's mapped counts over [start, end) */
static uint64_t
resident_by_chunk(vaddr_t start, vaddr_t end)
{
	uint64_t n = 0;
	vaddr_t c;

	for (c = start & ~(UVM_RESV_SIZE - 1); c < end; c += UVM_RESV_SIZE) {
		vaddr_t s = c > start ? c : start;
		vaddr_t e = c + UVM_RESV_SIZE < end ? c + UVM_RESV_SIZE : end;
		uint64_t m = pmap_chunk_mapped(c);
		uint64_t span = (e - s) >> PAGE_SHIFT;

		n += m < span ? m : span;
	}
	return n;
}

/* entry_resident: fill resident, wired and flags of r for entry e */
static void
entry_resident(struct walk *w, const struct vm_map_entry *e,
    struct kva_sf_entry *r)
{
	struct uvm_object *o = UVM_ET_ISOBJ(e) ? e->object.uvm_obj : NULL;
	size_t npages = (e->end - e->start) >> PAGE_SHIFT, i;

	r->resident = r->wired = 0;
	if (o == NULL && e->start == kva_kernel_base)
		return;		/* the bootstrap region: not the pmap's */
	if (o == NULL || npages > EXACT_MAX || (long)npages > w->budget ||
	    !(w->force ? (mutex_enter(&o->vmobjlock), 1) :
	    mutex_tryenter(&o->vmobjlock))) {
		r->resident = resident_by_chunk(e->start, e->end);
		r->flags |= KVA_SF_E_APPROX;
		return;
	}
	for (i = 0; i < npages; i++) {
		struct vm_page *pg = uvm_pagelookup(o,
		    e->offset + (voff_t)ptoa(i));

		if (pg != NULL) {
			r->resident++;
			r->wired += pg->wire_count != 0;
		}
	}
	mutex_exit(&o->vmobjlock);
	w->budget -= (long)npages;
}

/*
 * walk_map: record map (locked by the caller) and its entries, then its
 * submaps, depth first.  => 0, or -1 when a submap lock was busy.
 */
static int
walk_map(struct walk *w, struct vm_map *map, int depth, int parent)
{
	struct vm_map_entry *e;
	struct kva_sf_map *m;
	int idx = (int)sf_maps.nmaps;

	if (idx >= KVA_SF_MAXMAPS)
		return 0;
	sf_maps.nmaps++;
	m = &sf_maps.map[idx];
	memset(m, 0, sizeof(*m));
	copy_name(m->name, sizeof(m->name), map->name != NULL ? map->name :
	    "submap");
	m->start = vm_map_min(map);
	m->end = vm_map_max(map);
	m->size = map->size;
	m->nentries = (uint64_t)map->nentries;
	m->depth = depth;
	m->parent = parent;
	for (e = map->header.next; e != &map->header; e = e->next) {
		struct kva_sf_entry r;

		memset(&r, 0, sizeof(r));
		r.start = e->start;
		r.end = e->end;
		r.map = (uint16_t)idx;
		r.depth = (uint8_t)depth;
		r.kind = (uint8_t)entry_kind(e);
		r.prot = (uint8_t)e->protection;
		r.maxprot = (uint8_t)e->max_protection;
		if (UVM_ET_ISSUBMAP(e)) {
			struct vm_map *sub = e->object.sub_map;
			uint32_t slot = sf_ents.n;
			int sidx = (int)sf_maps.nmaps, rv;

			if (sf_ents.n < KVA_SF_MAXENT)
				sf_ents.e[sf_ents.n++] = r;
			sf_ents.total++;
			if (!walk_lock_map(w, sub))
				return -1;
			rv = walk_map(w, sub, depth + 1, idx);
			vm_map_unlock(sub);
			if (rv != 0)
				return rv;
			if (sidx < KVA_SF_MAXMAPS) {
				const struct kva_sf_map *s = &sf_maps.map[sidx];

				m->wired += s->wired;
				m->pageable += s->pageable;
				m->other += s->other;
				if (slot < KVA_SF_MAXENT) {
					sf_ents.e[slot].submap = (uint8_t)sidx;
					sf_ents.e[slot].resident = s->wired +
					    s->pageable + s->other;
					sf_ents.e[slot].wired = s->wired;
				}
			}
			continue;
		}
		entry_resident(w, e, &r);
		if (r.flags & KVA_SF_E_APPROX) {
			m->other += r.resident;
		} else {
			m->wired += r.wired;
			m->pageable += r.resident - r.wired;
		}
		if (sf_ents.n < KVA_SF_MAXENT)
			sf_ents.e[sf_ents.n++] = r;
		sf_ents.total++;
	}
	return 0;
}

static void
publish_maps(struct kva_statsfile *f, int force)
{
	struct walk w = { force, force ? LONG_MAX : LOOKUP_BUDGET };
	int rv;

	if (kernel_map == NULL || !walk_lock_map(&w, kernel_map))
		return;
	sf_maps.nmaps = 0;
	sf_ents.n = sf_ents.total = 0;
	rv = walk_map(&w, kernel_map, 0, -1);
	vm_map_unlock(kernel_map);
	if (rv != 0)
		return;		/* a submap was busy: next time */
	sec_write(&f->maps, &sf_maps, sizeof(sf_maps));
	sec_write(&f->entries, &sf_ents, offsetof(struct kva_sf_entries, e) +
	    sf_ents.n * sizeof(sf_ents.e[0]));
}

static void
publish_uvmexp(struct kva_statsfile *f)
{
	struct kva_sf_uvmexp u;

	memset(&u, 0, sizeof(u));
#define KVA_SF_X(fld, d) u.fld = (int64_t)__atomic_load_n(&uvmexp.fld, \
	    __ATOMIC_RELAXED);
	KVA_SF_UVMEXP_FIELDS(KVA_SF_X)
#undef KVA_SF_X
	sec_write(&f->uvmexp, &u, sizeof(u));
}

void
kva_statsfile_publish(int force)
{
	static struct kva_sf_shim shim;		/* (H) */
	void (*fill)(struct kva_sf_shim *) =
	    __atomic_load_n(&sf.shim, __ATOMIC_ACQUIRE);
	struct kva_statsfile *f;

	if (__atomic_load_n(&sf.exiting, __ATOMIC_RELAXED))
		return;
	/* the shim's figures first, with no lock of ours: its fork
	 * handler holds its locks while it waits for ours */
	pthread_mutex_lock(&sf.shimlock);
	if (fill != NULL) {
		memset(&shim, 0, sizeof(shim));
		fill(&shim);
		shim.present = 1;
	}
	pthread_mutex_lock(&sf.lock);
	f = sf.sf;
	if (f != NULL && kva_initialized()) {
		publish_uvmexp(f);
		publish_maps(f, force);
		if (fill != NULL)
			sec_write(&f->shim, &shim, sizeof(shim));
		sec_begin(&f->hdr.seq);
		f->hdr.publish_ns = kva_host_realtime();
		f->hdr.npublish++;
		sec_end(&f->hdr.seq);
	}
	pthread_mutex_unlock(&sf.lock);
	pthread_mutex_unlock(&sf.shimlock);
}

/*
 * The publisher thread.
 */
static void *
publisher(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&sf.runlock);
	while (!sf.stop) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += PUBLISH_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		(void)pthread_cond_timedwait(&sf.runcv, &sf.runlock, &ts);
		if (sf.stop)
			break;
		pthread_mutex_unlock(&sf.runlock);
		kva_statsfile_publish(0);
		pthread_mutex_lock(&sf.runlock);
	}
	pthread_mutex_unlock(&sf.runlock);
	return NULL;
}

/* thread_start: => sf.lock held */
static void
thread_start(void)
{
	pthread_condattr_t ca;
	int error;

	if (sf.running || sf.sf == NULL || !sf.is_file)
		return;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sf.runcv, &ca);
	pthread_condattr_destroy(&ca);
	sf.stop = 0;
	error = kva_host_thread_create(&sf.thread, publisher, NULL);
	if (error != 0) {
		kva_warn("statistics file: cannot start the publisher thread "
		    "(error %d); figures are published by kva_drain only",
		    error);
		pthread_cond_destroy(&sf.runcv);
		return;
	}
	sf.running = 1;
}

/* thread_stop: => sf.lock NOT held (the thread may be publishing) */
static void
thread_stop(void)
{
	pthread_t t;
	int running;

	pthread_mutex_lock(&sf.lock);
	running = sf.running;
	t = sf.thread;
	sf.running = 0;
	pthread_mutex_unlock(&sf.lock);
	if (!running)
		return;
	pthread_mutex_lock(&sf.runlock);
	sf.stop = 1;
	pthread_cond_signal(&sf.runcv);
	pthread_mutex_unlock(&sf.runlock);
	pthread_join(t, NULL);
	pthread_cond_destroy(&sf.runcv);
}

/*
 * The region (section 1).
 */
static void
header_fill(struct kva_statsfile *f, long pid)
{
	sec_begin(&f->hdr.seq);
	memcpy(f->hdr.magic, KVA_SF_MAGIC, 8);
	f->hdr.version = KVA_SF_VERSION;
	f->hdr.endian = KVA_SF_ENDIAN;
	f->hdr.size = sizeof(*f);
	f->hdr.pid = pid;
	f->hdr.uid = kva_host_getuid();
	f->hdr.start_ns = kva_host_realtime();
	f->hdr.start_ticks = kva_host_start_ticks();
	f->hdr.pagesize = (uint64_t)uvmexp.pagesize;
	memset(f->hdr.comm, 0, sizeof(f->hdr.comm));
	kva_host_comm(f->hdr.comm, sizeof(f->hdr.comm));
	sec_end(&f->hdr.seq);
}

/* region_file: this process's file; NULL (after a warning) if not */
static struct kva_statsfile *
region_file(long pid)
{
	struct kva_statsfile *f;
	int error;

	error = kva_host_sf_dir(sf.dir, sizeof(sf.dir));
	if (error != 0) {
		kva_warn("statistics file: %s %s (error %d); kvastat and "
		    "kvahist will not see this process", error == -EPERM ?
		    "refusing directory" : "no directory", sf.dir, -error);
		return NULL;
	}
	(void)kva_host_sf_clean(sf.dir);
	f = kva_host_sf_create(sf.dir, pid, sizeof(*f), &error);
	if (f == NULL)
		kva_warn("statistics file: cannot create %s/%ld (error %d)",
		    sf.dir, pid, -error);
	return f;
}

int
kva_statsfile_init(const struct kva_params *p)
{
	struct kva_statsfile *f = NULL;
	long pid = kva_host_getpid();
	int error;

	pthread_mutex_lock(&sf.lock);
	sf.is_file = 0;
	sf.exiting = 0;
	if (p->statsfile) {
		f = region_file(pid);
		sf.is_file = f != NULL;
	}
	if (f == NULL) {
		f = kva_host_map_anon(sizeof(*f), &error);
		if (f == NULL) {
			pthread_mutex_unlock(&sf.lock);
			kva_warn("statistics: no memory for the UVMHIST rings "
			    "(error %d)", -error);
			return error;
		}
	}
	sf.sf = f;
	sf.pid = pid;
	header_fill(f, pid);
	f->hdr.physmem = p->physmem;
	uvm_hist_init(f, p->hist);
	pthread_mutex_unlock(&sf.lock);
	return 0;
}

void
kva_statsfile_start(vaddr_t kva_base, vaddr_t kva_end)
{
	pthread_mutex_lock(&sf.lock);
	if (sf.sf != NULL) {
		sec_begin(&sf.sf->hdr.seq);
		sf.sf->hdr.kva_base = kva_base;
		sf.sf->hdr.kva_size = kva_end - kva_base;
		sf.sf->hdr.pagesize = (uint64_t)uvmexp.pagesize;
		sec_end(&sf.sf->hdr.seq);
	}
	pthread_mutex_unlock(&sf.lock);
	kva_statsfile_publish(1);
	pthread_mutex_lock(&sf.lock);
	thread_start();
	pthread_mutex_unlock(&sf.lock);
}

void
kva_statsfile_fini(void)
{
	thread_stop();
	uvm_hist_fini();
	pthread_mutex_lock(&sf.lock);
	if (sf.sf != NULL) {
		if (sf.is_file)
			(void)kva_host_sf_unlink(sf.dir, sf.pid);
		(void)kva_host_unmap(sf.sf, sizeof(*sf.sf));
	}
	sf.sf = NULL;
	sf.is_file = 0;
	sf.shim = NULL;
	pthread_mutex_unlock(&sf.lock);
}

void
kva_statsfile_set_shim(void (*fill)(struct kva_sf_shim *))
{
	__atomic_store_n(&sf.shim, fill, __ATOMIC_RELEASE);
}

const char *
kva_statsfile_path(char *buf, size_t len)
{
	pthread_mutex_lock(&sf.lock);
	if (sf.sf != NULL && sf.is_file)
		snprintf(buf, len, "%s/%ld", sf.dir, sf.pid);
	else if (len > 0)
		buf[0] = '\0';
	pthread_mutex_unlock(&sf.lock);
	return buf;
}

/*
 * Fork (section 4; kva_init.c calls these).
 */
void
kva_statsfile_fork_prepare(void)
{
	pthread_mutex_lock(&sf.lock);
}

void
kva_statsfile_fork_parent(void)
{
	pthread_mutex_unlock(&sf.lock);
}

/* child_region: a copy of the parent's region, in a file of our own
 * if the parent had one */
static struct kva_statsfile *
child_region(struct kva_statsfile *old, long pid, int *is_file)
{
	struct kva_statsfile *f = NULL;
	int error;

	if (*is_file) {
		f = kva_host_sf_create(sf.dir, pid, sizeof(*f), &error);
		if (f == NULL)
			kva_warn("statistics file: the child cannot create "
			    "%s/%ld (error %d)", sf.dir, pid, -error);
	}
	*is_file = f != NULL;
	if (f == NULL && (f = kva_host_map_anon(sizeof(*f), &error)) == NULL)
		return NULL;
	memcpy(f, old, sizeof(*f));
	sec_reset(&f->hdr.seq);
	sec_reset(&f->uvmexp.seq);
	sec_reset(&f->maps.seq);
	sec_reset(&f->entries.seq);
	sec_reset(&f->shim.seq);
	return f;
}

void
kva_statsfile_fork_child(void)
{
	struct kva_statsfile *old = sf.sf, *f;
	long pid = kva_host_getpid();
	int is_file = sf.is_file;

	/* the parent's publisher may have held these at the fork */
	pthread_mutex_init(&sf.runlock, NULL);
	pthread_mutex_init(&sf.shimlock, NULL);
	sf.running = 0;
	uvm_hist_fork_child();
	if (old == NULL || !is_file) {
		/* anonymous rings: the child has its own copy already */
		pthread_mutex_unlock(&sf.lock);
		return;
	}
	f = child_region(old, pid, &is_file);
	if (f != NULL) {
		uint64_t pm = old->hdr.physmem, kb = old->hdr.kva_base,
		    ks = old->hdr.kva_size;

		header_fill(f, pid);
		f->hdr.physmem = pm;
		f->hdr.kva_base = kb;
		f->hdr.kva_size = ks;
		uvm_hist_rebase(f);
		sf.sf = f;
		sf.pid = pid;
		sf.is_file = is_file;
	} else {
		/* no memory for a copy: the parent's file is not ours to
		 * write, so the child goes without rings and statistics */
		kva_warn("statistics file: the child has no statistics and "
		    "no UVMHIST");
		uvm_hist_fini();
		sf.sf = NULL;
		sf.is_file = 0;
	}
	(void)kva_host_unmap(old, sizeof(*old));
	sf.defer = sf.shim != NULL;
	if (!sf.defer)
		thread_start();
	pthread_mutex_unlock(&sf.lock);
}

void
kva_statsfile_fork_done(void)
{
	pthread_mutex_lock(&sf.lock);
	if (sf.defer) {
		sf.defer = 0;
		thread_start();
	}
	pthread_mutex_unlock(&sf.lock);
	kva_statsfile_publish(0);
}

/* at exit: the file goes, even without kva_fini (the shim's case) */
static void __attribute__((destructor))
statsfile_atexit(void)
{
	__atomic_store_n(&sf.exiting, 1, __ATOMIC_RELAXED);
	if (sf.sf != NULL && sf.is_file && sf.pid == kva_host_getpid())
		(void)kva_host_sf_unlink(sf.dir, sf.pid);
}

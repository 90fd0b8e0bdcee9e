/*
 * kva_statsfile.h: the layout of the statistics file, shared by the
 * library (which writes it) and by kvastat and kvahist (which read it).
 *
 * 1. One file per process, $XDG_RUNTIME_DIR/kva-<uid>/<pid> or
 *    /tmp/kva-<uid>/<pid>, mode 0600 in a directory of mode 0700, like
 *    the JVM's hsperfdata.  The process maps it read-write; the tools map
 *    it read-only.  It is one struct kva_statsfile: fixed size, versioned
 *    (KVA_SF_VERSION changes with any change below), and without a single
 *    pointer, so that another process can read it.
 *
 * 2. Sections.  Every section but the history rings starts with a
 *    sequence count.  The writer makes it odd, writes the section, and
 *    makes it even again (release); a reader copies the section between
 *    two reads of the count and retries while the count was odd or moved
 *    (kva_sf_read).  No lock is shared with the readers, so a tool can
 *    never stall the process.
 *
 * 3. History rings (UVMHIST, uvm_hist.h).  A writer claims slot n with a
 *    fetch-add on the ring's next, writes the entry's seq as 2n+1, the
 *    fields, and then seq 2n+2 with release order.  A reader takes entry n
 *    only if it sees seq 2n+2 before and after copying it: a torn or
 *    overwritten entry is skipped, never misread.  Function names and
 *    formats are offsets into the string table, which only grows.
 *
 * 4. Everything is in the host's byte order; endian lets a reader check.
 */
#ifndef KVA_STATSFILE_H
#define KVA_STATSFILE_H

#include <stddef.h>
#include <stdint.h>

#define KVA_SF_MAGIC	"KVASTATS"	/* 8 bytes, no NUL */
#define KVA_SF_VERSION	2
#define KVA_SF_ENDIAN	0x01020304u

#define KVA_SF_NHIST	8		/* ring slots; 5 histories in use */
#define KVA_SF_HISTENT	1024		/* entries per ring, a power of 2 */
#define KVA_SF_STRTAB	32768		/* bytes of interned strings */
#define KVA_SF_MAXMAPS	16		/* kernel_map and its submaps */
#define KVA_SF_MAXENT	512		/* entries in the map picture */
#define KVA_SF_NCLASS	64		/* shim size classes */
#define KVA_SF_NAMELEN	32

/*
 * The header: who wrote the file, and the machine it describes.
 * Written at creation (and again by a forked child); publish_ns and
 * npublish move with every publication.
 */
struct kva_sf_header {
	char magic[8];			/* KVA_SF_MAGIC */
	uint32_t version;		/* KVA_SF_VERSION */
	uint32_t endian;		/* KVA_SF_ENDIAN */
	uint64_t size;			/* sizeof(struct kva_statsfile) */
	uint64_t seq;
	int64_t pid;
	uint32_t uid;
	uint32_t hist_on;		/* bit i: history i records */
	uint64_t start_ns;		/* CLOCK_REALTIME at creation */
	uint64_t start_ticks;		/* field 22 of /proc/<pid>/stat */
	uint64_t pagesize;
	uint64_t kva_base, kva_size;	/* the kernel VA */
	uint64_t physmem;		/* the physical memory cap */
	uint64_t publish_ns;		/* CLOCK_REALTIME of the last publish */
	uint64_t npublish;
	uint32_t nhist;			/* histories defined */
	uint32_t histent;		/* KVA_SF_HISTENT */
	char comm[16];			/* the program's name */
	char hist_name[KVA_SF_NHIST][16];
};

/*
 * The numeric fields of struct uvmexp, copied in this fixed order.
 * X(field, description) -- the description is what kvastat prints.
 */
#define KVA_SF_UVMEXP_FIELDS(X) \
	X(pagesize, "bytes per page") \
	X(npages, "pages managed") \
	X(free, "pages free") \
	X(zeropages, "free pages known to be zero") \
	X(active, "pages active") \
	X(inactive, "pages inactive") \
	X(paging, "pages paging") \
	X(wired, "pages wired down") \
	X(reserve_pagedaemon, "reserve pages for the page daemon") \
	X(freemin, "minimum free pages") \
	X(freetarg, "target free pages") \
	X(swpages, "swap pages") \
	X(swpginuse, "swap pages in use") \
	X(faults, "page faults") \
	X(pageins, "pager reads") \
	X(pgswapin, "pages swapped in") \
	X(pgswapout, "pages swapped out") \
	X(pdwoke, "page daemon wakeups") \
	X(pdfreed, "pages freed by the daemon") \
	X(pdscans, "pages scanned by the daemon") \
	X(pdpageouts, "pageouts started by the daemon") \
	X(pga_zerohit, "zeroed allocations from zero pages") \
	X(pga_zeromiss, "zeroed allocations that zeroed") \
	X(hostcalls, "host calls by the pmap") \
	X(hostmaps, "host mappings now") \
	X(hostmaps_peak, "host mappings at most") \
	X(hostmaps_limit, "host mappings allowed") \
	X(decommitted, "bytes given back to the host")

struct kva_sf_uvmexp {
	uint64_t seq;
#define KVA_SF_X(f, d) int64_t f;
	KVA_SF_UVMEXP_FIELDS(KVA_SF_X)
#undef KVA_SF_X
};

/* kernel_map and its submaps: usage */
struct kva_sf_map {
	char name[KVA_SF_NAMELEN];
	uint64_t start, end;		/* [start, end) */
	uint64_t size;			/* bytes allocated */
	uint64_t nentries;
	uint64_t wired;			/* resident pages, wired entries */
	uint64_t pageable;		/* resident pages, pageable entries */
	uint64_t other;			/* resident pages counted by chunk
					 * (KVA_SF_E_APPROX): either kind */
	int32_t depth;			/* 0: kernel_map */
	int32_t parent;			/* index of the parent map, or -1 */
};

struct kva_sf_maps {
	uint64_t seq;
	uint32_t nmaps;
	uint32_t pad;
	struct kva_sf_map map[KVA_SF_MAXMAPS];
};

/* what an entry maps */
enum kva_sf_kind {
	KVA_SF_NONE = 0,		/* no object (the bootstrap region) */
	KVA_SF_KOBJ,			/* uvm.kernel_object */
	KVA_SF_KMEMOBJ,			/* uvmexp.kmem_object */
	KVA_SF_MBOBJ,			/* uvmexp.mb_object */
	KVA_SF_AOBJ,			/* another anonymous object */
	KVA_SF_OBJ,			/* another object */
	KVA_SF_SUBMAP,			/* a submap: map[] holds it */
};

#define KVA_SF_E_APPROX	0x01		/* resident was counted by 2 MiB
					 * chunk (an upper bound), and wired
					 * is not known */

struct kva_sf_entry {
	uint64_t start, end;
	uint64_t resident;		/* resident pages */
	uint64_t wired;			/* of which wired */
	uint16_t map;			/* index into maps.map[] */
	uint8_t depth;
	uint8_t kind;			/* enum kva_sf_kind */
	uint8_t prot, maxprot;		/* VM_PROT_* */
	uint8_t flags;			/* KVA_SF_E_* */
	uint8_t submap;			/* KVA_SF_SUBMAP: index into map[] */
};

struct kva_sf_entries {
	uint64_t seq;
	uint32_t n;			/* entries recorded below */
	uint32_t total;			/* entries in all the maps */
	struct kva_sf_entry e[KVA_SF_MAXENT];
};

/* the malloc shim (libkvamalloc): its size classes and large blocks */
struct kva_sf_class {
	uint64_t size;			/* block size */
	uint64_t inuse;			/* blocks in use by the program */
	uint64_t cached;		/* blocks in thread caches */
	uint64_t peak;			/* most blocks out of slabs */
	uint64_t slabs;
	uint64_t slab_pages;		/* pages per slab */
};

struct kva_sf_shim {
	uint64_t seq;
	uint32_t present;		/* 1 once the shim publishes */
	uint32_t nclass;
	struct kva_sf_class cls[KVA_SF_NCLASS];
	uint64_t small_inuse;		/* bytes */
	uint64_t small_held;		/* bytes of slabs */
	uint64_t small_peak;		/* bytes, sum of class peaks */
	uint64_t cached;		/* bytes in thread caches */
	uint64_t meta;			/* bytes of descriptors */
	uint64_t large_blocks, large_bytes, large_peak, large_nalloc;
	uint64_t large_inplace, large_moved;
	uint64_t pcache_bytes, quarantine_bytes;
	uint64_t parked_blocks, parked_bytes, slack_bytes, park_hits;
};

/* one UVMHIST entry; nothing formatted, no pointers */
struct kva_sf_histent {
	uint64_t seq;			/* 2n+2 when entry n is complete */
	uint64_t ts;			/* CLOCK_MONOTONIC, ns */
	uint32_t tid;			/* the thread (gettid) */
	uint32_t fn;			/* function name: strtab offset */
	uint32_t fmt;			/* printf format: strtab offset */
	uint32_t pad;
	uint64_t v[4];
};

struct kva_sf_hist {
	uint64_t next;			/* entries ever claimed */
	uint64_t pad[7];
	struct kva_sf_histent e[KVA_SF_HISTENT];
};

struct kva_sf_strtab {
	uint32_t used;			/* bytes taken; byte 0 is "" */
	uint32_t size;			/* KVA_SF_STRTAB */
	char s[KVA_SF_STRTAB];
};

struct kva_statsfile {
	struct kva_sf_header hdr;
	struct kva_sf_uvmexp uvmexp __attribute__((aligned(64)));
	struct kva_sf_maps maps __attribute__((aligned(64)));
	struct kva_sf_entries entries __attribute__((aligned(64)));
	struct kva_sf_shim shim __attribute__((aligned(64)));
	struct kva_sf_strtab strtab __attribute__((aligned(64)));
	struct kva_sf_hist hist[KVA_SF_NHIST] __attribute__((aligned(4096)));
};

/*
 * Readers (kva_sfread.c; compiled into the library and the tools).
 */

/* kva_sf_read: copy len bytes of the section at sec, whose count is
 * *seq, into dst, retrying while a writer is in it.  => 0, or -1 if it
 * never settled (a writer died inside it). */
int kva_sf_read(const uint64_t *seq, const void *sec, void *dst, size_t len);
/* the sections whose count is their first word */
#define KVA_SF_READ(secp, dst) \
	kva_sf_read(&(secp)->seq, (secp), (dst), sizeof(*(secp)))

/* kva_sf_str: the string at offset off of the table, or "?" when off or
 * the string runs out of the table. */
const char *kva_sf_str(const struct kva_statsfile *sf, uint32_t off);

/* kva_sf_hist_get: entry n of ring h, if complete and still there.
 * => 1 and *out, or 0. */
int kva_sf_hist_get(const struct kva_statsfile *sf, unsigned h, uint64_t n,
    struct kva_sf_histent *out);

/* kva_sf_hist_format: the entry as one line (no newline) in buf:
 * "ts tid function: formatted".  The format is used only if it takes at
 * most four integer or %p conversions; otherwise the values are shown
 * in hex after it. */
void kva_sf_hist_format(const struct kva_statsfile *sf, unsigned h,
    const struct kva_sf_histent *e, char *buf, size_t len);

/* kva_sf_check: the header is one this reader understands, for a file
 * of filesize bytes.  => NULL, or why not. */
const char *kva_sf_check(const struct kva_statsfile *sf, uint64_t filesize);

/*
 * The library's side (kva_statsfile.c), for the files of lib/ that
 * include kva_impl.h first.
 */
#ifdef KVA_IMPL_H
/* kva_statsfile_init: the region for the statistics and the rings (the
 * file, unless p->statsfile is 0 or it cannot be made: then anonymous
 * memory) and the histories of p->hist.  => 0, or -errno (no region:
 * no histories, nothing published). */
int  kva_statsfile_init(const struct kva_params *p);
/* kva_statsfile_start: the machine is up: fill in the header, publish,
 * and start the publisher thread.  => kva_init_lock held. */
void kva_statsfile_start(vaddr_t kva_base, vaddr_t kva_end);
/* kva_statsfile_fini: stop the publisher, histories off, the file
 * removed, the region unmapped.  Nothing stays behind. */
void kva_statsfile_fini(void);
/* kva_statsfile_publish: copy the counters into the file now.
 * => force: wait for the locks (kva_drain); else skip what is busy.
 * => no kva lock held by the caller. */
void kva_statsfile_publish(int force);
/* fork (kva_init.c): prepare after kva_init_lock, before the VM locks */
void kva_statsfile_fork_prepare(void);
void kva_statsfile_fork_parent(void);
void kva_statsfile_fork_child(void);
/* the malloc shim hands its figures over through fill, which the
 * publisher calls with no kva lock held; in a forked child the
 * publisher starts only at kva_statsfile_fork_done, which the shim calls
 * at the end of its child handler (its locks are free by then). */
void kva_statsfile_set_shim(void (*fill)(struct kva_sf_shim *));
void kva_statsfile_fork_done(void);
/* the path of this process's file into buf; "" when there is none */
const char *kva_statsfile_path(char *buf, size_t len);
#endif

#endif /* KVA_STATSFILE_H */

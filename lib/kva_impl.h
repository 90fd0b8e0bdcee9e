/*
 * kva_impl.h: what the machine-independent layers of kva share with each
 * other and do not show the world.
 *
 * Layers, each calling only the one below (ARCHITECTURE.md):
 *   uvm_km.c                       the seed's interface
 *   uvm_map.c uvm_page.c uvm_aobj.c uvm_km_pager  the MI VM
 *   kern_synch.c                   locks, sleep/wakeup, panic
 *   pmap_posix/ (pmap_md.h)        the machine-dependent layer
 *
 * Lock order (a thread holding a lock may take only locks ranked higher):
 *   0 pager I/O lock (read: I/O in flight)       uvm_swap_iolock
 *     zeroer's pass lock                         pdz.passlock (uvm_pdzero.c)
 *   1 map lock (kernel_map, then a submap)       vm_map_lock
 *   2 object lock                                uobj->vmobjlock
 *   3 page queue lock                            uvm_pageqlock
 *       (the page daemon holds it and only tries object locks, or drops
 *       it to take a kernel object's: uvm_pdaemon.c, pd_lock_object)
 *   4 free page lock                             uvm_fpageqlock (uvm_page.c)
 *   5 pmap lock                                  (pmap_posix)
 *   6 bootstrap pool locks, swap slots,          kva_pool, sw.lock,
 *     the daemon's sleep lock (leaves)           pd.lock
 *   7 sleep queue lock                           (kern_synch.c)
 * fork takes them all in this order (kva_init.c), after quiescing the
 * zeroer and the statistics file's publisher.  Ranks are not checked
 * at run time yet; mutex_enter only counts the locks a thread holds, so
 * that a fault taken with any held panics instead of deadlocking.
 */
#ifndef KVA_IMPL_H
#define KVA_IMPL_H

#include "kva.h"
#include "kva_sdt.h"		/* KVA_PROBE_* (USDT probes) */
#include <errno.h>
#include <string.h>

#define KVA_LIKELY(x)   __builtin_expect(!!(x), 1)
#define KVA_UNLIKELY(x) __builtin_expect(!!(x), 0)

/*
 * Parsed options: one table, one parser, no allocation (kva_options.c).
 */
#define KVA_PATH_MAX 256
#define KVA_HIST_MAX 128
struct kva_params {
	size_t physmem;		/* bytes; 0 = host RAM */
	size_t kva;		/* bytes; 0 = default */
	size_t kmem;		/* bytes; 0 = half of kva */
	char swap[KVA_PATH_MAX];	/* "" = temporary, "none" = no swap */
	size_t swapsize;	/* bytes; 0 = default */
	long max_vmas;		/* 0 = automatic */
	int stats;		/* print statistics at exit */
	int debug;		/* 0..3 */
	char hist[KVA_HIST_MAX];	/* UVMHIST histories */
	int uring;		/* 1 = use io_uring when available */
	size_t freemin;		/* bytes; 0 = derived */
	size_t freetarg;	/* bytes; 0 = derived */
	long decommit;		/* ms a free page idles before it is
				 * given back to the host; 0 = never */
	size_t prezero;		/* bytes of free pages kept zeroed ahead;
				 * 0 = none, KVA_PREZERO_AUTO = derived */
	int statsfile;		/* 1 = keep the statistics file (default) */
	long warm;		/* 2 MiB runs whose host mappings the pmap
				 * keeps aside (pmap.c, section 10), at
				 * most 32; 0 = none */
};
#define KVA_PREZERO_AUTO ((size_t)-1)
#define KVA_WARM_DEFAULT 32
#define KVA_DECOMMIT_DEFAULT 1000	/* ms */

/*
 * kva_options_parse: parse a KVA_OPTIONS string into p.
 * => keys not in the table, and malformed values, print one line on
 *    stderr naming the key and leave that field at its current value.
 * => does not allocate; safe before malloc works.
 * => returns the number of errors found (0 = all good).
 */
int kva_options_parse(const char *s, struct kva_params *p);
/* kva_parse_size: "64M" -> bytes; -1 on a malformed value */
int kva_parse_size(const char *s, size_t len, size_t *out);
void kva_params_default(struct kva_params *p);

extern struct kva_params kva_params;	/* in force since kva_init */
extern int kva_debug;			/* kva_params.debug, for fast checks */

/*
 * Locks.  Thin wrappers over pthread so that lock ranks can be checked
 * in debug builds and fork can take every lock in order.
 */
typedef pthread_mutex_t kmutex_t;
void mutex_init(kmutex_t *m);
void mutex_destroy(kmutex_t *m);
void mutex_enter(kmutex_t *m);
int  mutex_tryenter(kmutex_t *m);	/* 1 if taken */
void mutex_exit(kmutex_t *m);

/* UVM_UNLOCK_AND_WAIT: sleep on event, dropping lock as we go to sleep. */
#define UVM_UNLOCK_AND_WAIT(event, lock, intr, msg, timo) \
	((void)ltsleep((event), PVM | PNORELOCK, (msg), (timo), (lock)))

/* how many kva locks this thread holds (the trap handler checks) */
int kva_locks_held(void);


/*
 * Fork (kva_init.c): each module takes its locks in prepare and gives
 * them back in the parent and the child, in the order of the ranks above.
 */
void kern_synch_fork_lock(void);
void kern_synch_fork_unlock(void);
void kern_synch_fork_child(void);	/* in the child: queues made anew */
void kva_pool_fork_lock(void);
void kva_pool_fork_unlock(void);
void uvm_page_fork_lock(void);
void uvm_page_fork_unlock(void);

/*
 * Output without malloc: formats into a stack buffer and write(2)s it.
 */
void kva_printf(int fd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void kva_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define KASSERT(e) do { \
	if (KVA_UNLIKELY(!(e))) \
		panic("kernel assertion \"%s\" failed: file \"%s\", line %d", \
		    #e, __FILE__, __LINE__); \
} while (0)

/*
 * Fixed-size object pools for the VM's own structures (map entries,
 * maps, objects, pv entries).  Memory comes from the bootstrap region
 * [VM_MIN_KERNEL_ADDRESS, virtual_avail), never from malloc, so that the
 * malloc shim can stand on kva.  Pools never give memory back until
 * kva_fini.
 */
struct kva_pool {
	kmutex_t lock;
	size_t size;		/* (C) object size, rounded to 16 */
	void *freelist;		/* (L) */
	long nalloc;		/* (L) objects handed out now */
	const char *name;	/* (C) */
};
void  kva_pool_init(struct kva_pool *pp, size_t size, const char *name);
void *kva_pool_get(struct kva_pool *pp);	/* zeroed; NULL if exhausted */
void  kva_pool_put(struct kva_pool *pp, void *obj);

/*
 * uvm_page.c: physical page allocator and object page lookup.
 *
 * Free pages are kept by a buddy allocator over page frame numbers, so
 * that consecutive allocations get consecutive physical pages when they
 * can, and runs can be had in one call.
 */
extern kmutex_t uvm_pageqlock;
#define uvm_lock_pageq()   mutex_enter(&uvm_pageqlock)
#define uvm_unlock_pageq() mutex_exit(&uvm_pageqlock)

/* uvm_page_init: set up the page array for npages_max pages at pgs. */
void uvm_page_init(struct vm_page *pgs, size_t npages_max);
/* uvm_page_physload: make pages [first, first+n) (frame numbers) free. */
void uvm_page_physload(size_t first, size_t n);
void uvm_page_fini(void);
/*
 * uvm_pglistalloc_contig: allocate npages physically contiguous pages,
 * not owned by any object.
 * => pages come back with PG_BUSY|PG_CLEAN set, off every queue;
 *    PG_ZERO tells which are known to be zero.
 * => returns the first page (the others follow in the page array), or
 *    NULL if no run is free (never sleeps).
 */
struct vm_page *uvm_pglistalloc_contig(size_t npages, int flags);
/* uvm_pagefree_contig: free npages pages starting at pg, none tabled. */
void uvm_pagefree_contig(struct vm_page *pg, size_t npages);
/* uvm_pageinsert / uvm_pageremove: (un)table pg in obj at off.
 * => object locked */
void uvm_pageinsert(struct vm_page *pg, struct uvm_object *obj, voff_t off);
void uvm_pageremove(struct vm_page *pg);
/* uvm_pagewire / uvm_pageunwire: page queue lock held */
void uvm_pagewire(struct vm_page *pg);
void uvm_pageunwire(struct vm_page *pg);
/* paging queues; page queue lock held */
TAILQ_HEAD(pglist, vm_page);
extern struct pglist uvm_page_active, uvm_page_inactive;	/* (Q) */
void uvm_pageactivate(struct vm_page *pg);
void uvm_pagedeactivate(struct vm_page *pg);
void uvm_pagedequeue(struct vm_page *pg);
/* uvm_page_check: the free lists against the page array; 0 when sound */
int  uvm_page_check(char *why, size_t whylen);
/* uvm_pagefree: the caller must NOT hold the page queue lock (it is
 * taken inside for queued or wired pages), unlike the seed's callers. */
/* uvm_pagewakeup: wake sleepers on pg if PG_WANTED. object locked. */
void uvm_pagewakeup(struct vm_page *pg);
/* uvm_page_free_ok: the free page count can satisfy n pages now */
int uvm_page_free_ok(size_t n);
/*
 * Reservations (uvm_page.c, section 8): uvm_pagealloc(obj, off, NULL,
 * UVM_PGA_RESERV) takes the frame at off's place in the aligned 2 MiB
 * physical run reserved for the chunk (obj, off / UVM_RESV_SIZE).
 */
#define UVM_RESV_SIZE	((vsize_t)2 << 20)		/* bytes */
#define UVM_RESV_PAGES	(UVM_RESV_SIZE >> PAGE_SHIFT)	/* pages */
#define UVM_RESV_PAGES_MAX 512	/* UVM_RESV_PAGES: pages are 4 KiB or more */
/* uvm_reserv_populated: pages in use in the reservation of the chunk
 * holding off, 0 if it has none.  => free lock not held. */
int uvm_reserv_populated(struct uvm_object *obj, voff_t off);
/* uvm_reserv_break_all: break every reservation, giving their free
 * frames to the free lists; returns how many were broken. */
size_t uvm_reserv_break_all(void);
/*
 * The background zeroer (uvm_pdzero.c) and its side of the free lists
 * (uvm_page.c, section 9).
 */
#define UVM_PGA_ZEROPREF 0x1000	/* prefer known-zero pages; zero nothing */
#define UVM_PGA_NOGROW   0x2000	/* contig: fail rather than grow physical
				 * memory while the free frames could make
				 * up the run in pieces */
struct uvm_pdz_blk {
	size_t frame;		/* first frame of a block in transit */
	unsigned order;		/* 2^order frames */
	uint64_t tick;		/* when it was freed (ms) */
};
#define UVM_PDZ_ZERO	1	/* take: dirty blocks, to zero */
#define UVM_PDZ_IDLE	2	/* take: idle blocks, to punch */
#define UVM_PDZ_ZEROED	1	/* put: the pages now read zero, populated */
#define UVM_PDZ_PUNCHED	2	/* put: punched, zero and decommitted */
#define UVM_PDZ_FAILED	3	/* put: unchanged */
int    uvm_pdz_take(int what, uint64_t before, size_t maxpages,
    size_t keepzero, struct uvm_pdz_blk *b, int maxb);
void   uvm_pdz_put(const struct uvm_pdz_blk *b, const int *result, int nb);
size_t uvm_pdz_prezeroed(void);
void   uvm_pdz_settick(uint64_t ms);
/* uvm_pdzero.c: the thread */
int  uvm_pdzero_init(void);		/* after uvm_page_init */
void uvm_pdzero_fini(void);		/* before uvm_page_fini */
void uvm_pdzero_drain(int trim);	/* wait for a pass; trim: punch all */
void uvm_pdzero_fork_prepare(void);	/* quiesce (before the locks) */
void uvm_pdzero_fork_parent(void);
void uvm_pdzero_fork_child(void);
void uvm_pdzero_restart(void);	/* in a forked child: start it again */
int  uvm_pdzero_uring(void);		/* 1: io_uring in use; 0 sync */
int  uvm_pdzero_running(void);		/* the thread is up */

/* vm_page_array / frames loaded (for PHYS_TO_VM_PAGE) */
extern struct vm_page *vm_page_array;
extern size_t vm_page_array_n;		/* frames loaded so far */
extern size_t vm_page_array_max;	/* frames the cap allows */
static inline size_t vm_page_index(const struct vm_page *pg)
{
	return (size_t)(pg - vm_page_array);
}

/*
 * uvm_map.c internals used by uvm_km and the fault handler.
 */
void uvm_map_init(void);
void uvm_map_fini(void);
/* uvm_unmap_remove: unlink [start,end) from map (locked); the removed
 * entries are returned on *dead for uvm_unmap_detach after unlock.
 * Kernel-object pages in the range are freed and the pmap updated. */
void uvm_unmap_remove(struct vm_map *map, vaddr_t start, vaddr_t end,
    struct vm_map_entry **dead);
void uvm_unmap_detach(struct vm_map_entry *dead);
/* largest free gap in map (locked) */
vsize_t uvm_map_maxfree(struct vm_map *map);
/* uvm_km.c: the storage of kernel_map */
extern struct vm_map kernel_map_store;

/* kernel objects: offset = va - vm_map_min(kernel_map) */
#define UVM_KOBJ_OFFSET(va) ((voff_t)((va) - vm_map_min(kernel_map)))
int uvm_object_is_kernel(const struct uvm_object *uobj);

/*
 * uvm_aobj.c: anonymous objects, and the km pager (uvm_km.c).
 */
extern const struct uvm_pagerops aobj_pager;
extern const struct uvm_pagerops km_pager;
void uao_init(void);
void uao_fini(void);
int  uao_set_swslot(struct uvm_object *uobj, size_t pageidx, int slot);
/* the get of a zero-fill pager (aobj without swap, km pager) */
int  uvm_pager_zfill_get(struct uvm_object *uobj, voff_t offset,
    struct vm_page **pps, int *npagesp, int centeridx, int flags,
    int pgaflags, int alloc_all, const char *wmsg,
    int (*swapped)(struct uvm_object *, voff_t));
/* uvm_km_pgremove for a range being unmapped (uvm_unmap_remove) */
void uvm_km_pgremove_dead(struct uvm_object *uobj, vm_offset_t start,
    vm_offset_t end);
void uvm_km_fini(void);
/* aobj swap slots: find, and drop those of pages [start, end) (offsets),
 * freeing their slots.  => object locked */
int  uao_find_swslot(struct uvm_object *uobj, size_t pageidx);
void uao_dropswap_range(struct uvm_object *uobj, voff_t start, voff_t end);

/*
 * uvm_swap.c: the swap file and its slots (slot 0 = none).
 */
#include <pthread.h>
extern pthread_rwlock_t uvm_swap_iolock;	/* read: pager I/O; write: fork */
int  uvm_swap_init(const struct kva_params *p);
void uvm_swap_fini(void);
/* *nslots contiguous slots (fewer if lessok); first slot or 0 */
int  uvm_swap_alloc(int *nslots, int lessok);
void uvm_swap_free(int slot, int nslots);
/* pages to/from slots [slot, slot + n); busy pages, no VM lock held */
int  uvm_swap_io(int slot, struct vm_page **pps, int npages, int write);
void uvm_swap_drain(void);		/* wait for pager I/O in flight */
void uvm_swap_sizes(size_t *used_mib, size_t *total_mib);
void uvm_swap_fork_iowait(void);
void uvm_swap_fork_iodone(int child);
void uvm_swap_fork_lock(void);
void uvm_swap_fork_unlock(void);
int  uvm_swap_fork_child(void);

/*
 * uvm_pdaemon.c: the page daemon.
 */
int  uvm_pdaemon_init(void);		/* start the thread; 0 or errno */
void uvm_pdaemon_fini(void);		/* stop and join it */
/* wake the daemon if free memory is below freemin (cheap when not) */
void uvm_pdaemon_kick(void);
/* uvm_wait_or_fail: uvm_wait that gives up: ENOMEM when the daemon has
 * found nothing left to free (RAM and swap full), else 0 */
int  uvm_wait_or_fail(const char *wmsg);
/* the daemon has given up: memory and swap are exhausted */
int  uvm_pdaemon_exhausted(void);
/* one line on what is exhausted, into buf */
void uvm_pdaemon_oom_message(char *buf, size_t len);
void uvm_pdaemon_fork_lock(void);
void uvm_pdaemon_fork_parent(void);
void uvm_pdaemon_fork_child(void);	/* forget the parent's thread */
void uvm_pdaemon_restart(void);		/* start it again, if it ran */

/*
 * Background threads after fork (kva_init.c).  A forked child has none
 * of its parent's threads; kva starts its own again.  Starting a thread
 * allocates (glibc's pthread_create calls calloc), so when kva runs under
 * the malloc shim the shim's child handler, which runs after kva's and
 * releases the shim's locks, calls kva_fork_child_threads itself; it
 * says so once with kva_fork_threads_deferred().
 */
void kva_fork_threads_deferred(void);
void kva_fork_child_threads(void);
/* uvm_page.c: the daemon's side of uvm_wait */
void uvm_page_set_exhausted(void);
int  uvm_free_waiters_count(void);

#endif /* KVA_IMPL_H */

/*
 * pmap_md.h: the contract between the machine-independent layers of kva
 * and the machine-dependent layer, lib/pmap_posix/.
 *
 * This is the only header through which MI code reaches the host, apart
 * from pthread and stdio-free formatting.  Rules that hold for every
 * function here:
 *  - host failures come back as 0 or -errno; nothing here sets errno for
 *    the caller, and every path keeps the caller's errno (the malloc shim
 *    calls through here);
 *  - nothing here calls malloc;
 *  - "pre:" says what must hold on entry.
 *
 * The machine, as pmap_posix builds it:
 *
 *   kva_base                virtual_avail                      kva_end
 *   | bootstrap region (RW) | kernel VA, PROT_NONE until mapped  |
 *
 *   dmap_base: the direct map, the whole memfd mapped read-write once,
 *   segment by segment as physical memory grows.
 *
 * A physical address is a byte offset in the memfd.  Page frame n is
 * physical address n * PAGE_SIZE; vm_page_array[n] describes it.
 */
#ifndef PMAP_MD_H
#define PMAP_MD_H

#include "../kva_impl.h"
#include <sys/types.h>

struct pmap_bootinfo {
	vaddr_t kva_base;	/* VM_MIN_KERNEL_ADDRESS */
	vaddr_t kva_end;	/* VM_MAX_KERNEL_ADDRESS */
	vaddr_t virtual_avail;	/* first VA after the bootstrap region */
	struct vm_page *pages;	/* page array, room for npages_max */
	size_t npages_max;	/* physmem cap in pages */
};

/*
 * pmap_bootstrap: reserve the kernel VA, create physical memory and the
 * direct map, and lay out the bootstrap region (page array, page table,
 * pools).
 * pre: not bootstrapped; p->kva and p->physmem are final (non-zero).
 * => 0, or -errno with nothing left behind.
 */
int pmap_bootstrap(const struct kva_params *p, struct pmap_bootinfo *bi);

/*
 * pmap_shutdown: undo pmap_bootstrap: every mapping, the memfd, threads.
 * pre: bootstrapped; no other thread uses kva.
 */
void pmap_shutdown(void);

/*
 * pmap_bootstrap_alloc: size bytes from the bootstrap region, zeroed,
 * 64-byte aligned, never freed before pmap_shutdown.
 * pre: bootstrapped.  May be called by any thread (it locks).
 * => NULL when the region is exhausted.
 */
void *pmap_bootstrap_alloc(size_t size);

/*
 * pmap_physmem_grow: extend physical memory by one segment.
 * pre: the free page lock is held (uvm_page.c calls this when its free
 *      lists run dry), so growth is serialised.
 * => on success returns 0 and the new frames [*first, *first + *n), which
 *    the caller loads with uvm_page_physload; -ENOMEM at the cap, or
 *    the host's -errno (memfd could not grow).
 */
int pmap_physmem_grow(size_t *first, size_t *n);

/* pmap_direct_map: the direct-map VA of physical address pa. */
vaddr_t pmap_direct_map(paddr_t pa);

/*
 * pmap_sync: pmap_update that reports failure.  Pushes every queued
 * change of pmap to the host.
 * => 0, or -ENOMEM when the host refused a mapping; the software state
 *    is then ahead of the host for the ranges that failed, and the caller
 *    must pmap_remove them (removal always succeeds) and pmap_sync again.
 */
int pmap_sync(pmap_t pmap);

/*
 * pmap_enter with PMAP_CANFAIL returns ENOMEM when the mapping would take
 * the host mappings (VMAs) the pmap holds beyond its limit.  The limit is
 * vm.max_map_count less headroom for the rest of the process, or
 * kva_params.max_vmas; tests lower it with pmap_set_vma_limit.
 */
void pmap_set_vma_limit(long limit);
long pmap_vma_count(void);

/*
 * pmap_kprotect: set the protection of the wired mappings in [sva, eva)
 * to prot, VM_PROT_NONE included: a page made inaccessible stays entered
 * (pmap_extract finds it) and faults on access; the same call with
 * VM_PROT_READ|VM_PROT_WRITE gives access back for one mprotect, with
 * no host page fault after it.  The malloc shim parks freed large blocks
 * this way.
 * pre: every page in the range is entered wired (else panic).
 * => takes effect at pmap_update/pmap_sync; pmap_sync may fail (the
 *    host's mapping limit), and the caller then removes the range.
 */
void pmap_kprotect(vaddr_t sva, vaddr_t eva, vm_prot_t prot);

/*
 * pmap_kmove: move the wired mappings of [sva, eva) to
 * [dva, dva + (eva - sva)): the same frames, protection and wiring at the
 * new VA, and nothing at the old.  On the host this is mremap, which
 * keeps the page tables of every aligned 2 MiB that both ranges cover;
 * on a virtualised host the pages then do not fault again at the new VA,
 * where a fresh mapping of the same frames costs a hypervisor exit per
 * page at first touch.  The malloc shim parks freed large blocks this
 * way (lib/malloc/large.c).
 * pre: every page of [sva, eva) is entered wired, no page of the
 *      destination is entered, and the ranges do not overlap (else panic).
 * => 0; ENOMEM with nothing changed when the move would take the host
 *    mappings over the limit; or, as pmap_sync, -ENOMEM when the host
 *    refused to map part of the destination: the translations have
 *    moved, and the caller removes the destination.
 */
int pmap_kmove(vaddr_t sva, vaddr_t eva, vaddr_t dva);

/*
 * Warm runs (pmap.c, section 10): the host mappings of whole aligned
 * 2 MiB runs of pageable memory are kept, moved aside, when they are
 * taken away, and moved back in when the same run is mapped whole again.
 */
struct pmap_warm_stats {
	int nwarm;		/* runs kept now */
	long parks, hits, drops;	/* kept, moved back in, given up */
	long nparked;		/* chunks parked now (section 11) */
	long chunk_parks, chunk_unparks;	/* parked, moved back */
	long chunk_kept;	/* parked chunks removed whole: kept warm */
	long io_pinned;		/* swap I/O through a warm run */
};
void pmap_warm_stats(struct pmap_warm_stats *ws);
/* pmap_warm_runs: the first frames of up to max warm runs, the most
 * recently kept first (a reservation takes one of them if it is free).
 * => how many */
int pmap_warm_runs(size_t *frames, int max);
/* pmap_warm_count: warm runs kept now; no lock, a hint */
int pmap_warm_count(void);
/*
 * pmap_io_pin: when the frame at pa is in a warm run, the host address
 * of the run's first frame in the park region (pmap.c, section 11),
 * through which its frames may be read and written with no host fault;
 * the run stays there until pmap_io_unpin(pa).  0 when it is in none
 * (use the direct map).  For swap I/O on busy pages.
 */
vaddr_t pmap_io_pin(paddr_t pa);
void pmap_io_unpin(paddr_t pa);
/* pmap_io_page: the page at pa is about to be read (overwrite 0) or
 * wholly written (1) through pmap_io_pin's address: a deferred zeroing
 * is done first, or, when the I/O overwrites the page, forgotten (the
 * direct map, pmap_direct_map, does this itself) */
void pmap_io_page(paddr_t pa, int overwrite);
/*
 * pmap_chunk_pages: the pages of the non-wired mappings in the aligned
 * 2 MiB of kernel VA that holds va, in VA order, into pgs (room for
 * 512).  => how many.  A snapshot: the page daemon ages a chunk at once.
 */
int pmap_chunk_pages(vaddr_t va, struct vm_page **pgs);

/* pmap_page_freed: pg goes back to the free lists: its referenced and
 * modified history ends (what the direct map holds of it is kept).
 * pre: pg has no mapping at a kernel VA. */
void pmap_page_freed(struct vm_page *pg);

/*
 * pmap_enter_pages: pmap_enter of pgs[i] at va + i pages for each
 * non-NULL pgs[i], all under one hold of the pmap's lock, so that no
 * update sees part of them (a whole chunk of a warm run then comes in
 * by one move).  => ENOMEM when the page at index center could not be
 * entered (PMAP_CANFAIL), else 0; the others are best effort.
 */
int pmap_enter_pages(pmap_t pmap, vaddr_t va, struct vm_page **pgs,
    int n, vm_prot_t prot, unsigned flags, int center);

/* pmap_chunk_mapped: pages the host maps in the aligned 2 MiB of kernel
 * VA that holds va (as of the last update); O(1), no lock */
unsigned pmap_chunk_mapped(vaddr_t va);

/* pmap_page_is_mapped: pg has at least one mapping at a kernel VA */
bool pmap_page_is_mapped(struct vm_page *pg);

/*
 * Fork (pmap.c, section 8).  pmap_fork_lock, in the parent before fork,
 * takes the pmap's locks, pushes its queue to the host, lists the runs of
 * frames in use and makes the memfd that will be the child's.  After
 * fork both processes copy the runs into it, in the kernel, half each:
 * pmap_fork_copy(PMAP_FORK_CHILD_HALF) in the child and
 * pmap_fork_copy(PMAP_FORK_PARENT_HALF) in the parent (which the child
 * does itself if the parent says it failed), and the parent then lets go
 * of the new memfd with pmap_fork_parent_done.  pmap_fork_child, in the
 * child with every half copied, maps the new memfd wherever the old one
 * was mapped: the direct map and every kernel mapping.  pmap_fork_unlock
 * gives the locks back.
 * => 0, or -errno (the child must not go on sharing the parent's memory).
 */
#define PMAP_FORK_CHILD_HALF	0
#define PMAP_FORK_PARENT_HALF	1
void pmap_fork_lock(void);
void pmap_fork_unlock(void);
int  pmap_fork_copy(int half);
void pmap_fork_parent_done(void);
/* tests: make the next forks take a fallback path: no plan (the child
 * copies everything into one memfd), or a parent that does not copy its
 * half (the child copies both) */
#define PMAP_FORK_NOPLAN	1
#define PMAP_FORK_NOPARENT	2
extern int pmap_fork_degrade;
int  pmap_fork_child(void);
/* a pipe (O_CLOEXEC) for the parent to wait on the child's copy */
int  kva_host_pipe(int fds[2]);
void kva_host_close(int fd);
/* read one byte (=> it, or -1 at EOF); write one byte */
int  kva_host_wait_byte(int fd);
void kva_host_post_byte(int fd, int c);

/*
 * Background zeroing and decommit of free frames (pmap_async.c).  Only
 * one thread at a time (the zeroer's) calls these.
 *  pmap_zero_start: set up io_uring if want_uring and the host allows;
 *	=> 1 if io_uring is in use, 0 for plain system calls.
 *  pmap_zero_stop: tear it down (no descriptor or mapping stays).
 *  pmap_zero_run: carry out ops[0..n), ops[n].op == 0; pre: the frames
 *	are free and in transit (uvm_pdz_take), mapped at no kernel VA.
 *	=> each op's error: 0 or -errno.
 */
#define PMAP_ZOP_ZERO	1	/* zero, keep populated, drop the direct map */
#define PMAP_ZOP_PUNCH	2	/* punch a hole: zero, no memory */
struct pmap_zop {
	int op;			/* PMAP_ZOP_*, 0 ends the array */
	int error;		/* out: 0 or -errno */
	int dmap;		/* (private) the direct map holds some */
	paddr_t pa;
	size_t len;
};
int  pmap_zero_start(int want_uring);
void pmap_zero_stop(void);
void pmap_zero_run(struct pmap_zop *ops, int n);
int  pmap_zero_uring(void);

/*
 * The trap handler (trap.c): SIGSEGV and SIGBUS become page faults.
 */
int  trap_install(void);		/* 0 or -errno */
void trap_uninstall(void);
/* trap_note_freed: remember a freed range, to diagnose later faults */
void trap_note_freed(const struct vm_map *map, vaddr_t start, vaddr_t end);
/* pmap_emulate_access: the fault handler saw access to pg (ref/mod) */
void pmap_emulate_access(struct vm_page *pg, vm_prot_t access);

/*
 * Host wrappers used by MI code.  Each returns 0 or -errno and keeps
 * errno as it was.
 */
long    kva_host_pagesize(void);
size_t  kva_host_physmem(void);		/* bytes of RAM on the host */
int     kva_host_on_valgrind(void);
ssize_t kva_host_write(int fd, const void *buf, size_t len);
void    kva_host_abort(void) __attribute__((noreturn));
uint64_t kva_host_nanotime(void);	/* CLOCK_MONOTONIC, ns */
const char *kva_host_getenv(const char *name);
/* the swap file: path NULL or "" = unlinked temporary file in $TMPDIR;
 * mode 0600, size bytes.  => fd or -errno */
int     kva_host_swap_open(const char *path, off_t size);
/* n pages (direct-map addresses) to or from fd at byte offset off, with
 * pwritev/preadv.  => 0 or -errno */
int     kva_host_swap_io(int fd, int write, void *const *pages, int n,
    off_t off);
/* copy len bytes at off from fd_in to fd_out (same offset) */
int     kva_host_copy_file(int fd_in, int fd_out, off_t off, size_t len);

/*
 * The statistics file (host_statsfile.c; kva_statsfile.c uses these).
 * Each returns 0 (or a value) or -errno and keeps errno; none allocates.
 */
/* kva_host_sf_dir: the directory of this user's files, created mode 0700
 * if missing: $XDG_RUNTIME_DIR/kva-<uid>, else /tmp/kva-<uid>.
 * => 0 and the path in dir; -EPERM if it exists but is not a directory
 *    of ours with mode 0700 (the path is still in dir, for the message). */
int   kva_host_sf_dir(char *dir, size_t len);
/* kva_host_sf_create: create dir/<pid> (mode 0600, replacing a stale
 * one), size bytes of zeros, and map it shared read-write; no
 * descriptor stays open.  => the mapping, or NULL with *err = -errno. */
void *kva_host_sf_create(const char *dir, long pid, size_t size, int *err);
int   kva_host_sf_unlink(const char *dir, long pid);
/* kva_host_sf_clean: remove the files in dir of processes that are
 * gone.  => how many, or -errno. */
int   kva_host_sf_clean(const char *dir);
/* anonymous private read-write memory, and unmapping it */
void *kva_host_map_anon(size_t size, int *err);
int   kva_host_unmap(void *addr, size_t size);
long     kva_host_getpid(void);
unsigned kva_host_getuid(void);
uint32_t kva_host_gettid(void);
uint64_t kva_host_realtime(void);	/* CLOCK_REALTIME, ns */
/* field 22 of /proc/self/stat (start time in clock ticks), or 0 */
uint64_t kva_host_start_ticks(void);
/* the program's name (/proc/self/comm), NUL-terminated, in buf */
void     kva_host_comm(char *buf, size_t len);
/* a thread with every signal blocked (the program's signals go to the
 * program's threads).  => 0 or an errno value */
int      kva_host_thread_create(pthread_t *t, void *(*fn)(void *), void *arg);
int     kva_host_atexit(void (*fn)(void));	/* 0 or -ENOMEM */

#endif /* PMAP_MD_H */

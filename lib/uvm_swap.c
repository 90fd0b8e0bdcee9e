/*
 * uvm_swap.c: the swap device: one file, and the slots in it.
 *
 * 1. The file.  By default an unlinked temporary file in $TMPDIR (or
 *    /tmp), mode 0600, so nothing is left behind even after a crash;
 *    KVA_OPTIONS swap=PATH names a file instead (created 0600 if need
 *    be; kept afterwards, as the user asked for it by name), swap=none
 *    turns swap off.  Its size is swapsize=, by default four times the
 *    physmem cap and at least 256 MiB; the file is sparse, so a large
 *    swap costs nothing until used (the slot bitmap costs 1 bit a page).
 *
 * 2. Slots.  A slot is one page of the file; slot s (s >= 1) is the page
 *    at byte (s - 1) * PAGE_SIZE, and 0 means "no slot", as in the aobj's
 *    tables.  A bitmap (from the bootstrap region) marks the slots in
 *    use.  uvm_swap_alloc hands out a run of contiguous slots, searching
 *    next-fit from where the last run ended, so that the pages of one
 *    pageout cluster go out in one pwritev and come back in one preadv.
 *    uvmexp.swpages and uvmexp.swpginuse count the slots.
 *
 * 3. I/O goes through the direct map: pwritev from, and preadv into, the
 *    direct-map addresses of the pages; or, for the frames of a warm run
 *    (pmap.c, section 11), through the run's place in the park region,
 *    where the host has them mapped already.  No bounce buffer.  The callers
 *    (the page daemon for writes, the aobj pager for reads) hold the
 *    pages busy and no VM lock across the call, and hold uvm_swap_iolock
 *    for reading, so that fork can wait until no page is in transit.
 *
 * 4. Fork.  The child must not share the file with its parent: the
 *    parent will free and reuse slots whose contents the child still
 *    needs.  The child gets a file of its own holding a copy of every
 *    slot in use (uvm_swap_fork_child), like physical memory (pmap.c).
 *
 * Locks: sw.lock (rank 6, a leaf like the pool locks) protects the
 * bitmap and the counters; uvm_swap_iolock (rank 0, taken before any
 * other) is a reader/writer lock held for reading around pager I/O and
 * for writing by fork.
 */
#include "kva_impl.h"
#include "pmap_posix/pmap_md.h"
#include "uvm_hist.h"

#include <pthread.h>

static struct {
	kmutex_t lock;
	int fd;			/* (S) the file, or -1: no swap (yet) */
	int lazy;		/* (S) a forked child's file: made at first use */
	size_t nslots;		/* (C) slots in the file */
	uint64_t *bitmap;	/* (S) bit i: slot i + 1 in use */
	size_t cursor;		/* (S) next-fit search start (bit index) */
	size_t inuse;		/* (S) slots in use */
} sw = { .lock = PTHREAD_MUTEX_INITIALIZER, .fd = -1 };

pthread_rwlock_t uvm_swap_iolock;

#define SW_BIT(i)	(sw.bitmap[(i) >> 6] >> ((i) & 63) & 1)

/* swap_iolock_init: writers first, so that fork is not starved */
static void
swap_iolock_init(void)
{
	pthread_rwlockattr_t ra;

	pthread_rwlockattr_init(&ra);
	pthread_rwlockattr_setkind_np(&ra,
	    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&uvm_swap_iolock, &ra);
	pthread_rwlockattr_destroy(&ra);
}

/* uvm_swap_default_size: swapsize=, or 4 x physmem, at least 256 MiB */
static size_t
uvm_swap_default_size(const struct kva_params *p)
{
	size_t size = p->physmem * 4;

	if (p->swapsize != 0)
		return p->swapsize;
	return size < ((size_t)256 << 20) ? (size_t)256 << 20 : size;
}

/*
 * uvm_swap_init: open swap as kva_params asks.
 * => 0, or -errno: swap could not be set up (the caller runs without it
 *    and says so).
 */
int
uvm_swap_init(const struct kva_params *p)
{
	size_t size, bytes;
	int fd;

	swap_iolock_init();
	mutex_init(&sw.lock);
	sw.fd = -1;
	sw.lazy = 0;
	sw.nslots = sw.inuse = sw.cursor = 0;
	sw.bitmap = NULL;
	uvmexp.swpages = uvmexp.swpginuse = 0;
	if (strcmp(p->swap, "none") == 0)
		return 0;

	size = trunc_page(uvm_swap_default_size(p));
	/* the bitmap comes from the bootstrap region; halve swap if the
	 * region is short, rather than go without */
	while (size >= (size_t)PAGE_SIZE) {
		bytes = ((size >> PAGE_SHIFT) + 63) / 64 * sizeof(uint64_t);
		if ((sw.bitmap = pmap_bootstrap_alloc(bytes)) != NULL)
			break;
		size /= 2;
	}
	if (sw.bitmap == NULL)
		return -ENOMEM;
	if (size < trunc_page(uvm_swap_default_size(p)))
		kva_warn("kva: swap cut to %zu MiB: no room for its slot map",
		    size >> 20);
	fd = kva_host_swap_open(p->swap, (off_t)size);
	if (fd < 0) {
		kva_warn("kva: cannot open swap %s: error %d; running without "
		    "swap", p->swap[0] != '\0' ? p->swap : "(temporary file)",
		    -fd);
		sw.bitmap = NULL;
		return fd;
	}
	sw.fd = fd;
	sw.nslots = size >> PAGE_SHIFT;
	uvmexp.swpages = (int)sw.nslots;
	return 0;
}

/* uvm_swap_fini: close swap.  => no pager I/O in flight. */
void
uvm_swap_fini(void)
{
	if (sw.fd >= 0)
		kva_host_close(sw.fd);
	sw.fd = -1;
	sw.lazy = 0;
	sw.bitmap = NULL;
	sw.nslots = sw.inuse = sw.cursor = 0;
	uvmexp.swpages = uvmexp.swpginuse = 0;
	mutex_destroy(&sw.lock);
	pthread_rwlock_destroy(&uvm_swap_iolock);
}

/*
 * swap_find_run: the first bit index in [from, to) that starts n clear
 * bits, all below to; -1 if none.  Whole words in use are skipped.
 * => sw.lock held.
 */
static long
swap_find_run(size_t from, size_t to, size_t n)
{
	size_t start = from, run = 0, i = from;

	while (i < to) {
		uint64_t w = sw.bitmap[i >> 6];

		if ((i & 63) == 0 && w == ~(uint64_t)0) {
			run = 0;
			i += 64;
			continue;
		}
		if ((i & 63) == 0 && w == 0 && i + 64 <= to) {
			if (run == 0)
				start = i;
			run += 64;
			i += 64;
		} else if (w >> (i & 63) & 1) {
			run = 0;
			i++;
			continue;
		} else {
			if (run == 0)
				start = i;
			run++;
			i++;
		}
		if (run >= n)
			return (long)start;
	}
	return -1;
}

/*
 * swap_make_lazy: a forked child that had no slot in use at the fork
 * gets its swap file at the first allocation.
 * => sw.lock held.  0, or -errno (the child then has no swap).
 */
static int
swap_make_lazy(void)
{
	int fd = kva_host_swap_open(NULL, (off_t)sw.nslots << PAGE_SHIFT);

	sw.lazy = 0;
	if (fd < 0) {
		kva_warn("kva: cannot open swap in a forked child: error %d; "
		    "running without swap", -fd);
		uvmexp.swpages = 0;
		return fd;
	}
	sw.fd = fd;
	return 0;
}

/*
 * uvm_swap_alloc: allocate *nslots contiguous slots.  With lessok, a
 * shorter run will do (down to 1 slot), and *nslots says how many.
 * => the first slot, or 0 when swap is off or no run is free.
 */
int
uvm_swap_alloc(int *nslots, int lessok)
{
	size_t n = (size_t)*nslots;
	long at = -1;
	UVMHIST_FUNC("uvm_swap_alloc");

	if ((sw.fd < 0 && !sw.lazy) || n == 0)
		return 0;
	mutex_enter(&sw.lock);
	if (sw.lazy && swap_make_lazy() != 0) {
		mutex_exit(&sw.lock);
		return 0;
	}
	while (n > 0 && sw.inuse + n <= sw.nslots) {
		at = swap_find_run(sw.cursor, sw.nslots, n);
		if (at < 0)
			at = swap_find_run(0, sw.nslots, n);
		if (at >= 0 || !lessok)
			break;
		n /= 2;
	}
	if (at < 0 && lessok && n > 0 && sw.inuse < sw.nslots) {
		n = 1;
		at = swap_find_run(0, sw.nslots, 1);
	}
	if (at < 0) {
		mutex_exit(&sw.lock);
		return 0;
	}
	for (size_t i = (size_t)at; i < (size_t)at + n; i++)
		sw.bitmap[i >> 6] |= (uint64_t)1 << (i & 63);
	UVMHIST_LOG(swaphist, "alloc %zu slots at %ld (of %zu asked), %zu in use",
	    n, at + 1, (size_t)*nslots, sw.inuse + n);
	sw.inuse += n;
	sw.cursor = (size_t)at + n < sw.nslots ? (size_t)at + n : 0;
	uvmexp.swpginuse = (int)sw.inuse;
	mutex_exit(&sw.lock);
	*nslots = (int)n;
	return (int)at + 1;
}

/*
 * uvm_swap_free: free nslots slots from slot on.
 * => panics on a slot that is out of range or not in use.
 */
void
uvm_swap_free(int slot, int nslots)
{
	if (slot <= 0 || nslots <= 0)
		return;
	mutex_enter(&sw.lock);
	for (size_t i = (size_t)slot - 1; i < (size_t)slot - 1 + (size_t)nslots;
	    i++) {
		if (i >= sw.nslots || !SW_BIT(i)) {
			mutex_exit(&sw.lock);
			panic("uvm_swap_free(%d, %d): slot %zu %s", slot, nslots,
			    i + 1, i >= sw.nslots ? "beyond swap" : "not in use");
		}
		sw.bitmap[i >> 6] &= ~((uint64_t)1 << (i & 63));
	}
	sw.inuse -= (size_t)nslots;
	uvmexp.swpginuse = (int)sw.inuse;
	mutex_exit(&sw.lock);
}

/*
 * uvm_swap_io: write (write != 0) or read npages pages to or from slots
 * [slot, slot + npages), through the direct map.
 * => the pages are busy and the caller's; no VM lock held (I/O sleeps);
 *    uvm_swap_iolock held for reading.
 * => 0, or -errno.
 */
int
uvm_swap_io(int slot, struct vm_page **pps, int npages, int write)
{
	void *addrs[64];
	paddr_t pa0, run0;
	vaddr_t runva;
	int error = 0;

	if (sw.fd < 0 || slot <= 0)
		return -ENXIO;
	/* the frames of a warm run are read and written where the host
	 * maps them already, the others through the direct map */
	pa0 = VM_PAGE_TO_PHYS(pps[0]);
	run0 = pa0 & ~(paddr_t)(UVM_RESV_SIZE - 1);
	runva = pmap_io_pin(pa0);
	for (int i = 0; i < npages && error == 0; i += 64) {
		int n = npages - i < 64 ? npages - i : 64;

		for (int j = 0; j < n; j++) {
			paddr_t pa = VM_PAGE_TO_PHYS(pps[i + j]);

			if (runva != 0 && (pa & ~(paddr_t)(UVM_RESV_SIZE - 1)) ==
			    run0) {
				/* a page-in overwrites the page: a zeroing
				 * still pending must not follow it */
				pmap_io_page(pa, !write);
				addrs[j] = (void *)(runva + (pa - run0));
			} else {
				addrs[j] = (void *)pmap_direct_map(pa);
			}
		}
		error = kva_host_swap_io(sw.fd, write, addrs, n,
		    (off_t)(slot - 1 + i) << PAGE_SHIFT);
	}
	if (runva != 0)
		pmap_io_unpin(pa0);
	return error;
}

/* uvm_swap_drain: wait until no pager I/O is in flight (kva_drain) */
void
uvm_swap_drain(void)
{
	pthread_rwlock_wrlock(&uvm_swap_iolock);
	pthread_rwlock_unlock(&uvm_swap_iolock);
}

/*
 * Fork: uvm_swap_fork_iowait, first of all fork's locks, waits until no
 * pager I/O is in flight and holds it off; uvm_swap_fork_lock, among the
 * leaves, freezes the slots.  The unlocks undo them.
 */
void
uvm_swap_fork_iowait(void)
{
	pthread_rwlock_wrlock(&uvm_swap_iolock);
}

/* in the child the lock is made anew: glibc's unlock tells a writer by
 * its thread id, which the child's thread does not share */
void
uvm_swap_fork_iodone(int child)
{
	if (child)
		swap_iolock_init();
	else
		pthread_rwlock_unlock(&uvm_swap_iolock);
}

void
uvm_swap_fork_lock(void)
{
	mutex_enter(&sw.lock);
}

void
uvm_swap_fork_unlock(void)
{
	mutex_exit(&sw.lock);
}

/*
 * uvm_swap_fork_child: in the child, with the fork locks held: a swap
 * file of our own with a copy of every slot in use.  A named swap file
 * is the parent's; the child's copy is a temporary file.
 * => 0, or -errno (the child then has no swap, and what it had there
 *    is lost: the caller reports it).
 */
int
uvm_swap_fork_child(void)
{
	size_t nwords = (sw.nslots + 63) / 64, w;
	int fd, error = 0;

	if (sw.fd < 0)
		return 0;
	if (sw.inuse == 0) {
		/* nothing to copy: make the file when it is first needed */
		kva_host_close(sw.fd);
		sw.fd = -1;
		sw.lazy = 1;
		return 0;
	}
	fd = kva_host_swap_open(NULL, (off_t)sw.nslots << PAGE_SHIFT);
	if (fd < 0)
		return fd;
	/* copy each run of slots in use; whole free words are skipped */
	for (w = 0; w < nwords && error == 0; w++) {
		size_t i, j;

		if (sw.bitmap[w] == 0)
			continue;
		for (i = w * 64; i < (w + 1) * 64 && i < sw.nslots; i++) {
			if (!SW_BIT(i))
				continue;
			for (j = i; j < sw.nslots && SW_BIT(j); j++)
				;
			error = kva_host_copy_file(sw.fd, fd,
			    (off_t)i << PAGE_SHIFT, (j - i) << PAGE_SHIFT);
			w = (j - 1) / 64;
			i = j;
			if (error != 0)
				break;
		}
	}
	kva_host_close(sw.fd);
	sw.fd = fd;
	return error;
}

/* uvm_swap_sizes: the sizes, for messages: MiB in use and in all */
void
uvm_swap_sizes(size_t *used_mib, size_t *total_mib)
{
	*used_mib = (sw.inuse << PAGE_SHIFT) >> 20;
	*total_mib = (sw.nslots << PAGE_SHIFT) >> 20;
}

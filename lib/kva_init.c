/*
 * kva_init.c: bringing kva up and down, and what it tells about itself.
 *
 * kva_init boots the machine in the order a NetBSD kernel does:
 *   1. options: defaults, then KVA_OPTIONS (or cfg->options), then the
 *      non-zero fields of cfg;
 *   2. pmap_bootstrap: kernel VA, physical memory, direct map, bootstrap
 *      region (pmap_posix);
 *   3. uvm_page_init: the page array and free lists;
 *   4. uvm_map_init, uao_init: pools for entries and objects;
 *   5. uvm_km_init: kernel objects and kernel_map, with the bootstrap
 *      region entered as used;
 *   6. kmem_map, the submap for kernel malloc and pools;
 *   7. the trap handler (pmap_posix/trap.c);
 *   8. fork handlers (pthread_atfork, once per process; section "fork");
 *   9. the background zeroer's thread (uvm_pdzero.c).
 *  10. the statistics file (kva_statsfile.c): its region and the UVMHIST
 *      rings come first, right after the options, so that the boot is
 *      logged; the publisher starts once the machine is up.
 * kva_fini undoes all of it; nothing stays behind (no mapping, no
 * descriptor, no heap block), and kva_init may run again.
 */
#include "kva_impl.h"
#include "kva_track.h"
#include "kva_statsfile.h"
#include "kva_report.h"
#include "pmap_posix/pmap_md.h"

struct uvmexp uvmexp = {
	.pagesize = 4096,
	.pagemask = 4095,
	.pageshift = 12,
};
struct kva_params kva_params;
int kva_debug;
vaddr_t kva_kernel_base;

static pthread_mutex_t kva_init_lock = PTHREAD_MUTEX_INITIALIZER;
static int kva_up;
static pthread_once_t kva_atfork_once = PTHREAD_ONCE_INIT;
static void kva_atfork_register(void);
static pthread_once_t kva_atexit_once = PTHREAD_ONCE_INIT;
static void kva_atexit_register(void);

/*
 * Valgrind: blocks of uvm_km memory still allocated at kva_fini stay
 * known to memcheck, which reports them as leaks at exit, with the stack
 * that allocated them.  Should kva_init run again, the new kernel VA may
 * lie where they were: they are withdrawn first, so that memcheck's
 * record of them does not collide with new blocks.
 */
#define STALE_MAX 4096
static vaddr_t stale_blocks[STALE_MAX];
static int nstale;

static void
stale_note(void)
{
	size_t f;
	int n = 0;

	if (!kva_track_on_valgrind())
		return;
	for (f = 0; f < vm_page_array_n; f++) {
		struct vm_page *pg = &vm_page_array[f];

		if ((pg->flags & PG_KMBLOCK) && pg->uobject != NULL) {
			n++;
			if (nstale < STALE_MAX)
				stale_blocks[nstale++] = kva_kernel_base +
				    (vaddr_t)pg->offset;
		}
	}
	if (n > 0)
		kva_warn("kva_fini: %d block(s) of uvm_km memory were never "
		    "freed (memcheck reports them as lost)", n);
}

static void
stale_withdraw(void)
{
	while (nstale > 0)
		kva_track_freelike((void *)stale_blocks[--nstale], 0);
}

static int
log2_of(long v)
{
	int s = 0;

	while ((1L << s) < v)
		s++;
	return s;
}

/* fill in what the options left to be derived */
static void
params_finish(struct kva_params *p)
{
	size_t hostmem = kva_host_physmem();

	if (p->kva == 0)
		p->kva = kva_host_on_valgrind() ? (size_t)16 << 30 :
		    (size_t)64 << 30;
	/* the host's RAM, but no more than half the kernel VA, which must
	 * also hold the page array and the rest of the bootstrap region */
	if (p->physmem == 0)
		p->physmem = hostmem < p->kva / 2 ? hostmem : p->kva / 2;
	if (p->kmem == 0 || p->kmem >= p->kva / 4 * 3)
		p->kmem = p->kva / 2;
}

static void
params_from_config(struct kva_params *p, const struct kva_config *cfg)
{
	if (cfg->options != NULL)
		(void)kva_options_parse(cfg->options, p);
	if (cfg->physmem != 0)
		p->physmem = cfg->physmem;
	if (cfg->kva != 0)
		p->kva = cfg->kva;
	if (cfg->kmem != 0)
		p->kmem = cfg->kmem;
	if (cfg->swap != NULL) {
		size_t n = strlen(cfg->swap);
		if (n >= sizeof(p->swap))
			n = sizeof(p->swap) - 1;
		memcpy(p->swap, cfg->swap, n);
		p->swap[n] = '\0';
	}
	if (cfg->swapsize != 0)
		p->swapsize = cfg->swapsize;
	if (cfg->max_vmas != 0)
		p->max_vmas = cfg->max_vmas;
	if (cfg->stats != 0)
		p->stats = cfg->stats;
	if (cfg->debug != 0)
		p->debug = cfg->debug;
	if (cfg->hist != NULL) {
		size_t n = strlen(cfg->hist);
		if (n >= sizeof(p->hist))
			n = sizeof(p->hist) - 1;
		memcpy(p->hist, cfg->hist, n);
		p->hist[n] = '\0';
	}
}

/*
 * kva_init: bring kva up.
 * => cfg NULL: defaults and KVA_OPTIONS.  Otherwise cfg->options (if
 *    set) and the non-zero fields of cfg; KVA_OPTIONS is not read.
 * => idempotent: a second call while up returns 0 and changes nothing.
 * => 0, or an errno value with nothing left behind.
 */
int
kva_init(const struct kva_config *cfg)
{
	struct pmap_bootinfo bi;
	struct kva_params p;
	vaddr_t kmin, kmax;
	long psz;
	int error;

	pthread_mutex_lock(&kva_init_lock);
	if (kva_up) {
		pthread_mutex_unlock(&kva_init_lock);
		return 0;
	}
	psz = kva_host_pagesize();
	uvmexp.pagesize = (int)psz;
	uvmexp.pagemask = (int)psz - 1;
	uvmexp.pageshift = log2_of(psz);

	kva_params_default(&p);
	if (cfg == NULL) {
		const char *env = kva_host_getenv("KVA_OPTIONS");
		if (env != NULL)
			(void)kva_options_parse(env, &p);
	} else {
		params_from_config(&p, cfg);
	}
	params_finish(&p);
	kva_params = p;
	kva_debug = p.debug;

	stale_withdraw();
	(void)kva_statsfile_init(&p);		/* statsfile: region, UVMHIST */
	memset(&bi, 0, sizeof(bi));
	error = pmap_bootstrap(&p, &bi);
	if (error != 0) {
		kva_statsfile_fini();
		kva_warn("kva_init: cannot set up the machine (kva %zu MiB, "
		    "physmem %zu MiB): error %d", p.kva >> 20, p.physmem >> 20,
		    -error);
		pthread_mutex_unlock(&kva_init_lock);
		return -error;
	}
	kva_kernel_base = bi.kva_base;
	uvm_page_init(bi.pages, bi.npages_max);
	uvm_map_init();
	uao_init();
	uvm_km_init(bi.virtual_avail, bi.kva_end);

	kmin = 0;
	kmem_map = uvm_km_suballoc(kernel_map, &kmin, &kmax, p.kmem, FALSE,
	    FALSE, NULL);
	if (kmem_map == NULL)
		panic("kva_init: no room for kmem_map of %zu bytes in a kernel "
		    "VA of %zu", p.kmem, p.kva);
	kmem_map->name = "kmem_map";
	pmap_update(pmap_kernel());
	error = trap_install();
	if (error != 0) {
		kva_warn("kva_init: cannot install the fault handler: error %d",
		    -error);
		uvm_km_fini();
		uvm_map_fini();
		uao_fini();
		uvm_page_fini();
		pmap_shutdown();
		kva_statsfile_fini();
		pthread_mutex_unlock(&kva_init_lock);
		return -error;
	}
	if (uvm_swap_init(&p) != 0)
		kva_params.swap[0] = '\0';
	(void)uvm_pdzero_init();
	kva_up = 1;
	error = uvm_pdaemon_init();
	if (error != 0)
		kva_warn("kva_init: no page daemon (error %d): memory will not "
		    "be paged out", error);
	kva_statsfile_start(bi.kva_base, bi.kva_end);	/* statsfile */
	pthread_mutex_unlock(&kva_init_lock);
	pthread_once(&kva_atfork_once, kva_atfork_register);
	if (p.stats)
		pthread_once(&kva_atexit_once, kva_atexit_register);
	return 0;
}

/*
 * kva_fini: undo kva_init.  No other thread may be using kva.
 */
void
kva_fini(void)
{
	struct uvmexp keep;

	pthread_mutex_lock(&kva_init_lock);
	if (!kva_up) {
		pthread_mutex_unlock(&kva_init_lock);
		return;
	}
	if (kva_params.stats)
		kva_stats_print(2);
	kva_statsfile_fini();			/* statsfile: thread, file */
	uvm_pdzero_fini();
	uvm_pdaemon_fini();
	trap_uninstall();
	__atomic_store_n(&kva_up, 0, __ATOMIC_RELEASE);
	stale_note();
	uvm_swap_fini();
	uvm_km_fini();
	uvm_map_fini();
	uao_fini();
	uvm_page_fini();
	pmap_shutdown();
	keep = uvmexp;
	memset(&uvmexp, 0, sizeof(uvmexp));
	uvmexp.pagesize = keep.pagesize;
	uvmexp.pagemask = keep.pagemask;
	uvmexp.pageshift = keep.pageshift;
	kva_kernel_base = 0;
	pthread_mutex_unlock(&kva_init_lock);
}

int
kva_initialized(void)
{
	return __atomic_load_n(&kva_up, __ATOMIC_ACQUIRE);
}

/*
 * kva_drain: wait until background work is done: pager I/O in flight
 * (the page daemon's pageouts, whose slots a free may have released),
 * the pmap's queued changes, and a whole pass of the background zeroer
 * (uvm_pdzero.c), so that the counters are exact.  Then the statistics file
 * gets the quiescent figures.
 */
void
kva_drain(void)
{
	if (!kva_initialized())
		return;
	uvm_swap_drain();		/* pageouts and pageins in flight */
	pmap_update(pmap_kernel());
	uvm_pdzero_drain(0);
	kva_statsfile_publish(1);	/* statsfile */
}

/*
 * Pictures of the machine.
 */
struct dump_arg {
	int fd;
	int depth;
};

static const char *
prot_str(vm_prot_t p, char *buf)
{
	buf[0] = (p & VM_PROT_READ) ? 'r' : '-';
	buf[1] = (p & VM_PROT_WRITE) ? 'w' : '-';
	buf[2] = (p & VM_PROT_EXECUTE) ? 'x' : '-';
	buf[3] = '\0';
	return buf;
}

static int
dump_entry(const struct vm_map_entry *e, void *arg)
{
	struct dump_arg *da = arg;
	char pb[4];
	const char *what;

	if (UVM_ET_ISSUBMAP(e))
		what = e->object.sub_map->name ? e->object.sub_map->name : "submap";
	else if (e->object.uvm_obj == NULL)
		what = "(no object)";
	else if (e->object.uvm_obj == uvm.kernel_object)
		what = "kernel_object";
	else if (e->object.uvm_obj == uvmexp.kmem_object)
		what = "kmem_object";
	else if (e->object.uvm_obj == uvmexp.mb_object)
		what = "mb_object";
	else
		what = e->object.uvm_obj->pgops && e->object.uvm_obj->pgops->pgo_name ?
		    e->object.uvm_obj->pgops->pgo_name : "object";
	kva_printf(da->fd, "%*s%#014lx-%#014lx %10zu KiB %s %s%s\n",
	    da->depth * 2, "", (unsigned long)e->start, (unsigned long)e->end,
	    (size_t)(e->end - e->start) >> 10, prot_str(e->protection, pb),
	    what, e->wired_count ? " wired" : "");
	if (UVM_ET_ISSUBMAP(e)) {
		struct dump_arg sub = { da->fd, da->depth + 1 };
		(void)uvm_map_foreach(e->object.sub_map, dump_entry, &sub);
	}
	return 0;
}

void
kva_dump(int fd)
{
	struct dump_arg da = { fd, 1 };

	if (!kva_initialized()) {
		kva_printf(fd, "kva: not initialised\n");
		return;
	}
	kva_printf(fd, "kernel_map %#lx-%#lx (%zu MiB), %d entries\n",
	    (unsigned long)vm_map_min(kernel_map),
	    (unsigned long)vm_map_max(kernel_map),
	    (size_t)(vm_map_max(kernel_map) - vm_map_min(kernel_map)) >> 20,
	    kernel_map->nentries);
	(void)uvm_map_foreach(kernel_map, dump_entry, &da);
	kva_stats_print(fd);
}

/*
 * Statistics (KVA_OPTIONS stats=1, malloc_stats, kva_dump).
 *
 * kva_stats_print writes a summary in the manner of malloc_stats and
 * mi_stats_print: first what the layer above has to say (the malloc
 * shim registers its per-size-class table with kva_stats_set_hook), then
 * kva's pages, faults, paging and host calls.  With stats=1 it runs at
 * kva_fini, or at exit if kva is still up then (atexit, registered by the
 * first kva_init that has stats=1).
 * => formats with kva_printf (no malloc); reads the counters without
 *    locks, so figures taken while other threads work may disagree a
 *    little with each other.
 */
static void (*kva_stats_hook)(int fd);

void
kva_stats_set_hook(void (*fn)(int fd))
{
	__atomic_store_n(&kva_stats_hook, fn, __ATOMIC_RELEASE);
}

#define STATS_MIB(pages) \
	((unsigned long long)(pages) * (unsigned long long)uvmexp.pagesize >> 20)

void
kva_stats_print(int fd)
{
	void (*hook)(int) = __atomic_load_n(&kva_stats_hook, __ATOMIC_ACQUIRE);
	long ncalls = uvmexp.hostcalls, ns = uvmexp.hostcall_ns;
	int pageable = uvmexp.active + uvmexp.inactive;
	struct pmap_warm_stats warm;

	if (hook != NULL)
		hook(fd);
	kva_printf(fd,
	    "kva: pages: %d of %d KiB (%llu MiB); %d free (%d known zero), "
	    "%d wired (%llu MiB), %d pageable (%llu MiB: %d active, "
	    "%d inactive)\n",
	    uvmexp.npages, uvmexp.pagesize >> 10, STATS_MIB(uvmexp.npages),
	    uvmexp.free, uvmexp.zeropages, uvmexp.wired,
	    STATS_MIB(uvmexp.wired), pageable, STATS_MIB(pageable),
	    uvmexp.active, uvmexp.inactive);
	kva_printf(fd,
	    "kva: faults %ld; zeroed allocations: %ld from zero pages, "
	    "%ld zeroed\n"
	    "kva: paging: %ld pageins, %ld pageouts (%ld swapped out, %ld in), "
	    "swap %d/%d pages; page daemon woke %ld times, freed %ld\n",
	    uvmexp.faults, uvmexp.pga_zerohit, uvmexp.pga_zeromiss,
	    uvmexp.pageins, uvmexp.pdpageouts, uvmexp.pgswapout,
	    uvmexp.pgswapin, uvmexp.swpginuse, uvmexp.swpages, uvmexp.pdwoke,
	    uvmexp.pdfreed);
	pmap_warm_stats(&warm);
	kva_printf(fd,
	    "kva: host mappings: %ld now, %ld peak, limit %ld\n"
	    "kva: host calls: %ld, %ld.%03ld ms in all (%ld ns each)\n"
	    "kva: warm runs: %d kept; %ld kept in all, %ld moved back in, "
	    "%ld dropped\n"
	    "kva: parked chunks: %ld now; %ld parked, %ld moved back, %ld "
	    "kept warm; %ld swap I/Os through warm runs\n",
	    uvmexp.hostmaps, uvmexp.hostmaps_peak, uvmexp.hostmaps_limit,
	    ncalls, ns / 1000000, ns / 1000 % 1000,
	    ncalls > 0 ? ns / ncalls : 0L, warm.nwarm, warm.parks, warm.hits,
	    warm.drops, warm.nparked, warm.chunk_parks, warm.chunk_unparks,
	    warm.chunk_kept, warm.io_pinned);
	kva_printf(fd,
	    "kva: background (%s): %ld pages zeroed ahead, %ld MiB "
	    "decommitted, %ld passes\n",
	    uvm_pdzero_uring() ? "io_uring" : "sync", uvmexp.pdzeroed,
	    uvmexp.decommitted >> 20, uvmexp.pdzpasses);
}

/* at exit, with stats=1: the summary, unless kva_fini printed it */
static void
kva_stats_atexit(void)
{
	if (kva_initialized() && kva_params.stats)
		kva_stats_print(2);
}

static void
kva_atexit_register(void)
{
	if (kva_host_atexit(kva_stats_atexit) != 0)
		kva_warn("kva_init: atexit failed: stats=1 prints only at "
		    "kva_fini");
}

/*
 * Fork.
 *
 * Physical memory is a MAP_SHARED memfd, so a forked child would share
 * the parent's kernel memory.  In prepare, every kva lock is taken in
 * rank order (kva_impl.h): kernel_map and its submaps, the kernel
 * objects, the page queues, the free pages and hash, the pmap (which
 * pushes its queue to the host, lists the frames in use and makes the
 * child's memfds), the pools, the sleep queues.  After fork the child and
 * the parent each copy half of those frames into the child's memfds, on
 * two CPUs; the parent tells the child through one pipe that its half is
 * done (or that it failed, and the child copies it too).  The child then
 * re-points its mappings (pmap_fork_child) and tells the parent through
 * another; the parent waits for that, every lock still held, so that the
 * memory the child copies is the memory of the moment of fork.  (Writes that other
 * threads of the parent make to memory they already hold, in that short
 * window, can still reach the child's copy; no VM state can change.)
 * vfork and posix_spawn run no handlers: the child shares the address
 * space anyway until it execs, and exec drops the CLOEXEC memfd.
 */
static int fork_active;
static int fork_threads_deferred;	/* the shim restarts the threads */
static int fork_pipe[2] = { -1, -1 };	/* child -> parent: done */
static int go_pipe[2] = { -1, -1 };	/* parent -> child: its half */

static void
fork_lock_all(void)
{
	struct vm_map_entry *e;

	uvm_swap_fork_iowait();		/* no page in flight */
	vm_map_lock(kernel_map);
	for (e = kernel_map->header.next; e != &kernel_map->header; e = e->next)
		if (UVM_ET_ISSUBMAP(e))
			vm_map_lock(e->object.sub_map);
	mutex_enter(&uvm.kernel_object->vmobjlock);
	mutex_enter(&uvmexp.kmem_object->vmobjlock);
	mutex_enter(&uvmexp.mb_object->vmobjlock);
	uvm_lock_pageq();
	uvm_page_fork_lock();
	pmap_fork_lock();
	kva_pool_fork_lock();
	uvm_swap_fork_lock();
	uvm_pdaemon_fork_lock();
	kern_synch_fork_lock();
}

static void
fork_unlock_all(int child)
{
	struct vm_map_entry *e;

	if (child)
		kern_synch_fork_child();
	else
		kern_synch_fork_unlock();
	uvm_swap_fork_unlock();
	kva_pool_fork_unlock();
	pmap_fork_unlock();
	uvm_page_fork_unlock();
	uvm_unlock_pageq();
	mutex_exit(&uvmexp.mb_object->vmobjlock);
	mutex_exit(&uvmexp.kmem_object->vmobjlock);
	mutex_exit(&uvm.kernel_object->vmobjlock);
	for (e = kernel_map->header.prev; e != &kernel_map->header; e = e->prev)
		if (UVM_ET_ISSUBMAP(e))
			vm_map_unlock(e->object.sub_map);
	vm_map_unlock(kernel_map);
	uvm_swap_fork_iodone(child);
}

static void
kva_fork_prepare(void)
{
	pthread_mutex_lock(&kva_init_lock);
	fork_active = kva_up;
	if (!fork_active)
		return;
	if (kva_host_pipe(fork_pipe) != 0)
		fork_pipe[0] = fork_pipe[1] = -1;
	if (fork_pipe[0] < 0 || kva_host_pipe(go_pipe) != 0)
		go_pipe[0] = go_pipe[1] = -1;
	kva_statsfile_fork_prepare();		/* statsfile */
	uvm_pdzero_fork_prepare();	/* nothing in transit from here on */
	fork_lock_all();
}

static void
kva_fork_parent(void)
{
	if (fork_active) {
		if (go_pipe[1] >= 0) {
			/* copy our half, and say whether we did; the read end
			 * stays open until then (no child: no SIGPIPE) */
			int ok = pmap_fork_degrade != PMAP_FORK_NOPARENT &&
			    pmap_fork_copy(PMAP_FORK_PARENT_HALF) == 0;

			kva_host_post_byte(go_pipe[1], ok);
			kva_host_close(go_pipe[0]);
			kva_host_close(go_pipe[1]);
		}
		pmap_fork_parent_done();
		if (fork_pipe[0] >= 0) {
			kva_host_close(fork_pipe[1]);
			(void)kva_host_wait_byte(fork_pipe[0]);
			kva_host_close(fork_pipe[0]);
		}
		uvm_pdaemon_fork_parent();
		fork_unlock_all(0);
		uvm_pdzero_fork_parent();
		kva_statsfile_fork_parent();	/* statsfile */
	}
	pthread_mutex_unlock(&kva_init_lock);
}

static void
kva_fork_child(void)
{
	if (fork_active) {
		int error = pmap_fork_copy(PMAP_FORK_CHILD_HALF);

		if (go_pipe[0] >= 0) {
			int parent_did;

			kva_host_close(go_pipe[1]);
			parent_did = kva_host_wait_byte(go_pipe[0]);
			kva_host_close(go_pipe[0]);
			if (error == 0 && parent_did != 1)
				error = pmap_fork_copy(PMAP_FORK_PARENT_HALF);
		} else if (error == 0) {
			error = pmap_fork_copy(PMAP_FORK_PARENT_HALF);
		}
		if (error == 0)
			error = pmap_fork_child();
		if (error != 0)
			panic("fork: the child cannot get physical memory of "
			    "its own (%zu MiB): error %d", kva_params.physmem >> 20,
			    -error);
		error = uvm_swap_fork_child();
		if (error != 0)
			panic("fork: the child cannot get swap of its own: "
			    "error %d", -error);
		if (fork_pipe[0] >= 0) {
			kva_host_close(fork_pipe[0]);
			kva_host_post_byte(fork_pipe[1], 1);
			kva_host_close(fork_pipe[1]);
		}
		uvm_pdaemon_fork_child();
		fork_unlock_all(1);
		uvm_pdzero_fork_child();
		kva_statsfile_fork_child();	/* statsfile: a file of its own */
	}
	pthread_mutex_unlock(&kva_init_lock);
	if (fork_active && !fork_threads_deferred)
		kva_fork_child_threads();
}

/* kva_fork_threads_deferred: the malloc shim restarts kva's threads in
 * a forked child, once its own locks are free (kva_impl.h) */
void
kva_fork_threads_deferred(void)
{
	fork_threads_deferred = 1;
}

/* kva_fork_child_threads: start kva's background threads in a child */
void
kva_fork_child_threads(void)
{
	if (!kva_initialized())
		return;
	uvm_pdaemon_restart();
	uvm_pdzero_restart();
}

static void
kva_atfork_register(void)
{
	if (pthread_atfork(kva_fork_prepare, kva_fork_parent,
	    kva_fork_child) != 0)
		kva_warn("kva_init: pthread_atfork failed: a forked child will "
		    "share kernel memory with its parent");
}

/*
 * uvm_pdzero.c: the background zeroer: free pages zeroed ahead of
 * demand, and idle free pages given back to the host.
 *
 * Theory of operation
 *
 * 1. Why.  On this kind of host (ARCHITECTURE.md) a zero-fill fault that
 *    finds a populated, zeroed free page only maps it; one that must
 *    clear a page, or take a fresh one from the host, pays for that on
 *    the fault.  And free memory that stays populated is memory the
 *    process holds.  So one thread does both jobs off the hot path, on
 *    the free lists' classes (uvm_page.c, section 9): dirty, zero
 *    (populated, known zero) and decommitted (punched).
 *
 * 2. Zero ahead.  While fewer than `prezero` free pages are zero and
 *    populated (uvm_pdz_prezeroed), the thread takes recently freed dirty
 *    blocks off the lists (uvm_pdz_take(UVM_PDZ_ZERO)), zeroes the pages
 *    of each that are not known zero, and gives them back as zero class
 *    (uvm_pdz_put).  The default target is 1/16 of physical memory, at
 *    most PDZ_PREZERO_MAX (64 MiB): enough for a burst of zero-fill
 *    faults or zeroed allocations, little enough to cost nothing much
 *    when idle (those pages are in the memfd, not mapped anywhere, so
 *    they are not in RSS either).  KVA_OPTIONS prezero=SIZE sets it;
 *    prezero=0 turns zeroing ahead off.
 *
 * 3. Decommit.  A free block carries the tick at which it was freed.
 *    Blocks idle longer than `decommit` ms (default 1000; decommit=0:
 *    never) are taken oldest first (uvm_pdz_take(UVM_PDZ_IDLE)), dirty
 *    ones and zero ones beyond the prezero target, and punched: they
 *    read zero and hold no memory (uvmexp.decommitted counts the bytes).
 *    A free-then-alloc loop never waits that long for its pages, so it
 *    never pays for a punched page coming back.  malloc_trim(0) and
 *    uvm_pdzero_drain(1) punch every free block at once, whatever its
 *    age.
 *
 * 4. Batches.  A batch is at most PDZ_PUNCH_MAX (64 MiB) to punch or
 *    PDZ_ZERO_MAX (4 MiB: a fork waits for the batch in flight) to
 *    zero, in at most PDZ_MAXBLK blocks; the pages stay free (counted in uvmexp.free) but are in transit: an
 *    allocation that finds nothing else waits for them (uvm_page.c).  The
 *    host work goes to pmap_zero_run (pmap_async.c): one io_uring
 *    submission per batch, or the same system calls one by one when
 *    io_uring is not there (uring=0, valgrind, a host that refuses it).
 *    A block is taken whole when it fits, else split towards the pages
 *    that need the work (uvm_pdz_split), so every batch does some; a
 *    pass ends when a batch does nothing, or after PDZ_MAXBATCHES.
 *
 * 5. The thread.  It wakes every PDZ_PERIOD_MS (the coarse clock that
 *    stamps freed blocks moves with it) and when kicked, and runs a pass:
 *    batches until there is nothing left to do.  kva_drain (and so
 *    malloc_trim) asks for a pass and waits until one has run from start
 *    to end after the request, so that the counters are exact when it
 *    returns; without the thread (both jobs off, or a forked child that
 *    has not restarted it) the caller runs the pass itself.  One pass at
 *    a time (pdz.passlock) uses the ring.
 *
 * 6. Fork.  Prepare pauses the thread between batches and takes the pass
 *    lock, so no page is in transit while the child copies memory.  The
 *    child has no thread: its copy of the ring is torn down and the
 *    thread is started again by kva_fork_child_threads (uvm_pdzero_
 *    restart), with the page daemon's: at the end of kva's child handler,
 *    or, under the malloc shim, at the end of the shim's (creating a
 *    thread allocates, and the shim's locks are held until its own child
 *    handler runs).  A kva_drain in the child starts it too.
 *
 * Locks: pdz.lock (Z) protects the fields marked so; it is a leaf, never
 * held across a pass.  pdz.passlock is held across a pass and taken with
 * no kva lock held; the pass takes the free page lock inside.
 */
#include "kva_impl.h"
#include "pmap_posix/pmap_md.h"

#include <signal.h>
#include <time.h>

#define PDZ_PERIOD_MS	100
#define PDZ_PREZERO_MAX	((size_t)64 << 20)		/* bytes */
#define PDZ_PUNCH_MAX	(((size_t)64 << 20) >> PAGE_SHIFT)	/* pages */
#define PDZ_ZERO_MAX	(((size_t)4 << 20) >> PAGE_SHIFT)	/* pages */
#define PDZ_MAXBLK	64
#define PDZ_MAXOPS	256
#define PDZ_MAXBATCHES	4096	/* per pass: a bound, should all else fail */

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cv;		/* (Z) the thread waits for work */
	pthread_cond_t donecv;		/* (Z) drains wait for passes */
	pthread_mutex_t passlock;	/* one pass at a time */
	pthread_t thread;		/* (Z) */
	int running;			/* (Z) the thread is up */
	int stop;			/* (Z) it must exit */
	int kicked;			/* (Z) work asked for */
	int trim;			/* (Z) the next pass punches all */
	int pause;			/* (Z) fork: stop between batches */
	int paused;			/* (Z) it has */
	int restart;			/* (Z) start it at the next drain */
	uint64_t req, done;		/* (Z) passes asked for, completed */
	int enabled;			/* (C) either job is on */
	size_t target;			/* (C) pages to keep zeroed ahead */
	uint64_t delay;			/* (C) ms before decommit; 0 never */
} pdz = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cv = PTHREAD_COND_INITIALIZER,
	.donecv = PTHREAD_COND_INITIALIZER,
	.passlock = PTHREAD_MUTEX_INITIALIZER,
};

/* pdz_cv_init: the condition variables, timed on CLOCK_MONOTONIC */
static void
pdz_cv_init(void)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&pdz.cv, &ca);
	pthread_cond_init(&pdz.donecv, &ca);
	pthread_condattr_destroy(&ca);
}

static uint64_t
pdz_now_ms(void)
{
	return kva_host_nanotime() / 1000000;
}

static int
pdz_pausing(void)
{
	return __atomic_load_n(&pdz.pause, __ATOMIC_RELAXED) ||
	    __atomic_load_n(&pdz.stop, __ATOMIC_RELAXED);
}

/*
 * pdz_decommit: punch one batch of idle blocks (all free blocks if
 * trim).  => the number of blocks punched.
 */
static int
pdz_decommit(int trim, uint64_t now)
{
	struct uvm_pdz_blk b[PDZ_MAXBLK];
	struct pmap_zop ops[PDZ_MAXBLK + 1];
	int res[PDZ_MAXBLK], nb, ok = 0;
	uint64_t before;

	if (!trim && pdz.delay == 0)
		return 0;
	before = trim ? UINT64_MAX : now > pdz.delay ? now - pdz.delay : 0;
	nb = uvm_pdz_take(UVM_PDZ_IDLE, before, PDZ_PUNCH_MAX,
	    trim ? 0 : pdz.target, b, PDZ_MAXBLK);
	if (nb == 0)
		return 0;
	for (int i = 0; i < nb; i++) {
		ops[i].op = PMAP_ZOP_PUNCH;
		ops[i].pa = (paddr_t)b[i].frame << PAGE_SHIFT;
		ops[i].len = (size_t)PAGE_SIZE << b[i].order;
	}
	ops[nb].op = 0;
	pmap_zero_run(ops, nb);
	for (int i = 0; i < nb; i++) {
		res[i] = ops[i].error == 0 ? UVM_PDZ_PUNCHED : UVM_PDZ_FAILED;
		ok += ops[i].error == 0;
	}
	uvm_pdz_put(b, res, nb);
	return ok;
}

/*
 * pdz_zero_ahead: zero one batch of recently freed dirty blocks, up to
 * the target.  => the number of runs of pages zeroed.
 */
static int
pdz_zero_ahead(void)
{
	struct uvm_pdz_blk b[PDZ_MAXBLK];
	struct pmap_zop ops[PDZ_MAXOPS + 1];
	int res[PDZ_MAXBLK], first[PDZ_MAXBLK + 1], nb, nops = 0, ok = 0;
	size_t have = uvm_pdz_prezeroed(), want;

	if (pdz.target == 0 || have >= pdz.target)
		return 0;
	want = pdz.target - have < PDZ_ZERO_MAX ? pdz.target - have :
	    PDZ_ZERO_MAX;
	nb = uvm_pdz_take(UVM_PDZ_ZERO, 0, want, 0, b, PDZ_MAXBLK);
	if (nb == 0)
		return 0;
	/* one op per run of pages not known zero; the pages of a block in
	 * transit are the zeroer's, so their flags hold still */
	for (int i = 0; i < nb; i++) {
		size_t n = (size_t)1 << b[i].order, j = 0;

		first[i] = nops;
		res[i] = UVM_PDZ_ZEROED;
		while (j < n) {
			size_t k;

			if (vm_page_array[b[i].frame + j].flags & PG_ZERO) {
				j++;
				continue;
			}
			for (k = j + 1; k < n && !(vm_page_array[b[i].frame +
			    k].flags & PG_ZERO); k++)
				;
			if (nops == PDZ_MAXOPS) {
				res[i] = UVM_PDZ_FAILED;	/* no room: later */
				break;
			}
			ops[nops].op = PMAP_ZOP_ZERO;
			ops[nops].pa = (paddr_t)(b[i].frame + j) << PAGE_SHIFT;
			ops[nops].len = (k - j) << PAGE_SHIFT;
			nops++;
			j = k;
		}
	}
	first[nb] = nops;
	ops[nops].op = 0;
	pmap_zero_run(ops, nops);
	for (int i = 0; i < nb; i++) {
		for (int o = first[i]; o < first[i + 1]; o++)
			if (ops[o].error != 0)
				res[i] = UVM_PDZ_FAILED;
			else
				ok++;
	}
	uvm_pdz_put(b, res, nb);
	return ok;		/* runs zeroed: 0 when nothing moved on */
}

/*
 * pdz_pass: batches until there is nothing left to do.
 * => pass lock not held (taken here).  0 if it stopped early (fork or
 *    shutdown), 1 if it ran to the end.
 */
static int
pdz_pass(int trim)
{
	int complete = 1;

	pthread_mutex_lock(&pdz.passlock);
	for (int batch = 0; batch < PDZ_MAXBATCHES; batch++) {
		uint64_t now = pdz_now_ms();
		int did;

		uvm_pdz_settick(now);
		did = pdz_decommit(trim, now);
		if (!trim)
			did += pdz_zero_ahead();
		if (did == 0)
			break;
		if (pdz_pausing()) {
			complete = 0;
			break;
		}
	}
	pthread_mutex_unlock(&pdz.passlock);
	__atomic_fetch_add(&uvmexp.pdzpasses, 1, __ATOMIC_RELAXED);
	return complete;
}

static void
pdz_deadline(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* pdz_main: the thread (section 5) */
static void *
pdz_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&pdz.lock);
	while (!pdz.stop) {
		uint64_t gen;
		int trim, complete;

		if (pdz.pause) {
			pdz.paused = 1;
			pthread_cond_broadcast(&pdz.donecv);
			pthread_cond_wait(&pdz.cv, &pdz.lock);
			continue;
		}
		pdz.paused = 0;
		if (!pdz.kicked && pdz.req == pdz.done) {
			struct timespec ts;

			pdz_deadline(&ts, PDZ_PERIOD_MS);
			(void)pthread_cond_timedwait(&pdz.cv, &pdz.lock, &ts);
			if (pdz.stop || pdz.pause)
				continue;
		}
		gen = pdz.req;
		trim = pdz.trim;
		pdz.trim = 0;
		pdz.kicked = 0;
		pthread_mutex_unlock(&pdz.lock);
		complete = pdz_pass(trim);
		pthread_mutex_lock(&pdz.lock);
		if (!complete && trim)
			pdz.trim = 1;		/* do it again after the pause */
		if (complete && gen > pdz.done)
			pdz.done = gen;
		pthread_cond_broadcast(&pdz.donecv);
	}
	pdz.running = 0;
	pthread_cond_broadcast(&pdz.donecv);
	pthread_mutex_unlock(&pdz.lock);
	return NULL;
}

/*
 * pdz_start: start the thread, with every signal blocked (it never
 * touches kernel VA, and the program's signals are not its business).
 * => pdz.lock held.  0 or an errno value (the thread is then off, and
 *    drains run passes themselves).
 */
static int
pdz_start(void)
{
	sigset_t all, old;
	pthread_attr_t attr;
	int error;

	(void)pmap_zero_start(kva_params.uring);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, (size_t)256 << 10);
	pdz.stop = 0;
	pdz.pause = pdz.paused = 0;
	error = pthread_create(&pdz.thread, &attr, pdz_main, NULL);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (error != 0) {
		kva_warn("kva: cannot start the background zeroer (error %d); "
		    "free memory is zeroed and given back only by kva_drain",
		    error);
		return error;
	}
	(void)pthread_setname_np(pdz.thread, "kva-pdzero");
	pdz.running = 1;
	pdz.restart = 0;
	return 0;
}

/*
 * uvm_pdzero_init: work out the targets from kva_params and start the
 * thread if either job is on.
 * => after uvm_page_init, no lock held.  0 (a thread that cannot start
 *    only costs the background work).
 */
int
uvm_pdzero_init(void)
{
	size_t phys = (size_t)uvmexp.npages << PAGE_SHIFT, bytes;

	bytes = kva_params.prezero;
	if (bytes == KVA_PREZERO_AUTO)
		bytes = phys / 16 < PDZ_PREZERO_MAX ? phys / 16 :
		    PDZ_PREZERO_MAX;
	pthread_mutex_lock(&pdz.lock);
	pdz_cv_init();
	pdz.target = bytes >> PAGE_SHIFT;
	pdz.delay = kva_params.decommit > 0 ? (uint64_t)kva_params.decommit :
	    0;
	pdz.enabled = pdz.target > 0 || pdz.delay > 0;
	pdz.req = pdz.done = 0;
	pdz.kicked = pdz.trim = 0;
	pdz.restart = 0;
	uvm_pdz_settick(pdz_now_ms());
	if (pdz.enabled)
		(void)pdz_start();
	pthread_mutex_unlock(&pdz.lock);
	return 0;
}

/*
 * uvm_pdzero_fini: stop and join the thread, tear the ring down.
 * => no other thread uses kva; before uvm_page_fini.
 */
void
uvm_pdzero_fini(void)
{
	pthread_t t;
	int running;

	pthread_mutex_lock(&pdz.lock);
	running = pdz.running;
	t = pdz.thread;
	pdz.stop = 1;
	pthread_cond_broadcast(&pdz.cv);
	pthread_mutex_unlock(&pdz.lock);
	if (running)
		(void)pthread_join(t, NULL);
	pmap_zero_stop();
	pthread_mutex_lock(&pdz.lock);
	pdz.running = pdz.stop = pdz.restart = pdz.enabled = 0;
	pdz.pause = pdz.paused = 0;
	pthread_mutex_unlock(&pdz.lock);
}

/*
 * uvm_pdzero_drain: wait until a whole pass has run after this call:
 * nothing is in transit, the pre-zeroed pages are at their target or the
 * dirty ones are used up, idle blocks are punched.  trim: punch every
 * free block now, whatever its age (and even with decommit=0).
 * => no kva lock held; may sleep.  Returns at once if there is no work.
 */
void
uvm_pdzero_drain(int trim)
{
	uint64_t my;

	pthread_mutex_lock(&pdz.lock);
	if (!pdz.running && pdz.restart && pdz.enabled)
		(void)pdz_start();
	if (!pdz.running) {
		int enabled = pdz.enabled;

		pthread_mutex_unlock(&pdz.lock);
		if (enabled || trim)
			(void)pdz_pass(trim);
		return;
	}
	my = ++pdz.req;
	if (trim)
		pdz.trim = 1;
	pdz.kicked = 1;
	pthread_cond_broadcast(&pdz.cv);
	while (pdz.running && pdz.done < my)
		pthread_cond_wait(&pdz.donecv, &pdz.lock);
	pthread_mutex_unlock(&pdz.lock);
}

/*
 * Fork (section 6).  prepare runs before kva's other locks are taken.
 */
void
uvm_pdzero_fork_prepare(void)
{
	pthread_mutex_lock(&pdz.lock);
	if (pdz.running) {
		pdz.pause = 1;
		pthread_cond_broadcast(&pdz.cv);
		while (pdz.running && !pdz.paused)
			pthread_cond_wait(&pdz.donecv, &pdz.lock);
	}
	pthread_mutex_lock(&pdz.passlock);
}

void
uvm_pdzero_fork_parent(void)
{
	pthread_mutex_unlock(&pdz.passlock);
	pdz.pause = 0;
	pthread_cond_broadcast(&pdz.cv);
	pthread_mutex_unlock(&pdz.lock);
}

void
uvm_pdzero_fork_child(void)
{
	pthread_mutex_init(&pdz.lock, NULL);
	pthread_mutex_init(&pdz.passlock, NULL);
	pdz_cv_init();
	pmap_zero_stop();		/* the parent's ring is not ours */
	pdz.restart = pdz.running || pdz.restart;
	pdz.running = 0;
	pdz.pause = pdz.paused = pdz.stop = 0;
	pdz.kicked = pdz.trim = 0;
	pdz.req = pdz.done = 0;
}

/* uvm_pdzero_restart: in a forked child, once malloc works (kva_impl.h,
 * kva_fork_child_threads), start the thread again if the parent ran one */
void
uvm_pdzero_restart(void)
{
	pthread_mutex_lock(&pdz.lock);
	if (!pdz.running && pdz.restart && pdz.enabled)
		(void)pdz_start();
	pthread_mutex_unlock(&pdz.lock);
}

/* uvm_pdzero_uring: 1 if the zeroer's work goes through io_uring */
int
uvm_pdzero_uring(void)
{
	return pmap_zero_uring();
}

int
uvm_pdzero_running(void)
{
	int r;

	pthread_mutex_lock(&pdz.lock);
	r = pdz.running;
	pthread_mutex_unlock(&pdz.lock);
	return r;
}

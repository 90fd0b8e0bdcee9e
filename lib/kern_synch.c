/*
 * kern_synch.c: locks, sleep and wakeup, panic, and malloc-free output.
 *
 * 1. Sleep queues.  tsleep/wakeup work on any address ("channel"), as in
 *    the BSD kernels.  Channels hash to one of SLEEPQ_NBUCKET condition
 *    variables, all under one sleep queue lock.  A sleeper takes the
 *    sleep queue lock before it drops its interlock (ltsleep), and a
 *    waker must take the same lock to wake it, so a wakeup issued after
 *    the sleeper checked its condition under the interlock is never lost.
 *    Sleepers recheck their condition in a loop: a broadcast on a shared
 *    bucket may wake them for another channel.
 *
 * 2. Output.  Nothing here calls malloc: messages are formatted into a
 *    stack buffer and written with write(2), because kva runs under a
 *    malloc that stands on kva itself.
 */
#include "kva_impl.h"
#include "uvm_hist.h"
#include "pmap_posix/pmap_md.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#define SLEEPQ_NBUCKET 64

static pthread_mutex_t sleepq_lock = PTHREAD_MUTEX_INITIALIZER;

/* VM locks this thread holds: a fault with any held cannot be resolved
 * (trap.c).  initial-exec: no allocation on first use in a thread. */
static __thread int locks_held __attribute__((tls_model("initial-exec")));

int
kva_locks_held(void)
{
	return locks_held;
}
static pthread_cond_t sleepq_cv[SLEEPQ_NBUCKET];
static pthread_once_t sleepq_once = PTHREAD_ONCE_INIT;

static void
sleepq_init(void)
{
	pthread_condattr_t ca;
	int i;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	for (i = 0; i < SLEEPQ_NBUCKET; i++)
		pthread_cond_init(&sleepq_cv[i], &ca);
	pthread_condattr_destroy(&ca);
}

static inline pthread_cond_t *
sleepq_bucket(const void *chan)
{
	uintptr_t h = (uintptr_t)chan;

	h ^= h >> 17;
	h *= 0x9e3779b97f4a7c15ULL;
	return &sleepq_cv[(h >> 58) & (SLEEPQ_NBUCKET - 1)];
}

/*
 * ltsleep: sleep on chan, atomically releasing interlock.
 * => interlock (may be NULL) is held on entry; it is held again on
 *    return unless PNORELOCK is set in pri.
 * => timo: ticks of 1/hz s, 0 = no timeout.
 * => returns 0 when woken (or spuriously), EWOULDBLOCK on timeout.
 */
int
ltsleep(const void *chan, int pri, const char *wmesg, int timo,
    pthread_mutex_t *interlock)
{
	pthread_cond_t *cv;
	int rv = 0;

	(void)wmesg;
	pthread_once(&sleepq_once, sleepq_init);
	cv = sleepq_bucket(chan);
	pthread_mutex_lock(&sleepq_lock);
	if (interlock != NULL) {
		pthread_mutex_unlock(interlock);
		locks_held--;
	}
	if (timo > 0) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += timo / hz;
		ts.tv_nsec += (long)(timo % hz) * (1000000000L / hz);
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		if (pthread_cond_timedwait(cv, &sleepq_lock, &ts) == ETIMEDOUT)
			rv = EWOULDBLOCK;
	} else {
		pthread_cond_wait(cv, &sleepq_lock);
	}
	pthread_mutex_unlock(&sleepq_lock);
	if (interlock != NULL && (pri & PNORELOCK) == 0) {
		pthread_mutex_lock(interlock);
		locks_held++;
	}
	return rv;
}

/*
 * tsleep: sleep on chan with no interlock.  The caller must tolerate a
 * wakeup that came before it slept (use a timeout, or ltsleep).
 */
int
tsleep(const void *chan, int pri, const char *wmesg, int timo)
{
	return ltsleep(chan, pri, wmesg, timo, NULL);
}

void
wakeup(const void *chan)
{
	pthread_once(&sleepq_once, sleepq_init);
	pthread_mutex_lock(&sleepq_lock);
	pthread_cond_broadcast(sleepq_bucket(chan));
	pthread_mutex_unlock(&sleepq_lock);
}

/* wakeup_one: buckets are shared, so waking one could wake the wrong
 * sleeper; wake all and let the losers sleep again. */
void
wakeup_one(const void *chan)
{
	wakeup(chan);
}

/* fork: the sleep queue lock (the last lock in rank) */
void
kern_synch_fork_lock(void)
{
	pthread_mutex_lock(&sleepq_lock);
}

void
kern_synch_fork_unlock(void)
{
	pthread_mutex_unlock(&sleepq_lock);
}

/*
 * kern_synch_fork_child: in a forked child.  The parent's sleepers (the
 * page daemon, threads waiting for memory) do not exist here, but glibc's
 * condition variables still count them, and a broadcast would wait for
 * them forever: make the queues anew.
 */
void
kern_synch_fork_child(void)
{
	pthread_mutex_unlock(&sleepq_lock);
	pthread_once(&sleepq_once, sleepq_init);
	sleepq_init();
}

/*
 * Locks.
 */
void
mutex_init(kmutex_t *m)
{
	pthread_mutex_init(m, NULL);
}

void
mutex_destroy(kmutex_t *m)
{
	pthread_mutex_destroy(m);
}

void
mutex_enter(kmutex_t *m)
{
	int error = pthread_mutex_lock(m);

	if (KVA_UNLIKELY(error != 0))
		panic("mutex_enter(%p): error %d", (void *)m, error);
	locks_held++;
}

int
mutex_tryenter(kmutex_t *m)
{
	if (pthread_mutex_trylock(m) != 0)
		return 0;
	locks_held++;
	return 1;
}

void
mutex_exit(kmutex_t *m)
{
	int error;

	locks_held--;
	error = pthread_mutex_unlock(m);
	if (KVA_UNLIKELY(error != 0))
		panic("mutex_exit(%p): error %d", (void *)m, error);
}

/*
 * Output.
 */
static void
kva_vprintf(int fd, const char *prefix, const char *fmt, va_list ap)
{
	char buf[1024];
	size_t n = 0;
	int r;

	if (prefix != NULL) {
		n = strlen(prefix);
		memcpy(buf, prefix, n);
	}
	r = vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	if (r > 0)
		n += (size_t)r < sizeof(buf) - n - 1 ? (size_t)r : sizeof(buf) - n - 2;
	if (prefix != NULL && (n == 0 || buf[n - 1] != '\n'))
		buf[n++] = '\n';
	(void)kva_host_write(fd, buf, n);
}

void
kva_printf(int fd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kva_vprintf(fd, NULL, fmt, ap);
	va_end(ap);
}

/* kva_warn: one line on stderr, "kva: " + message + newline */
void
kva_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kva_vprintf(2, "kva: ", fmt, ap);
	va_end(ap);
}

void
panic(const char *fmt, ...)
{
	va_list ap;

	static int panicking;

	va_start(ap, fmt);
	kva_vprintf(2, "kva: panic: ", fmt, ap);
	va_end(ap);
	/* the histories that are on, once (a panic inside the dump
	 * goes straight to abort) */
	if (__atomic_exchange_n(&panicking, 1, __ATOMIC_ACQ_REL) == 0)
		uvm_hist_dump(2);
	kva_host_abort();
}

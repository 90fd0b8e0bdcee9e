/*
 * pmap_async.c: the host's side of background zeroing and decommit.
 *
 * The background zeroer (uvm_pdzero.c) hands pmap_zero_run a batch of
 * operations on free frames in transit (pmap.c, section 9):
 *
 *   PMAP_ZOP_ZERO   write zeros over the frames through the memfd: a
 *                   pwrite from zbuf, a buffer that is never written (its
 *                   reads hit the host's zero page).  The frames stay
 *                   populated, so a later mapping of them takes no fault
 *                   to allocate or clear a page.  Frames that were
 *                   populated in the direct map also get MADV_DONTNEED
 *                   there, so that they are not counted twice in RSS
 *                   once mapped at a kernel VA.
 *   PMAP_ZOP_PUNCH  FALLOC_FL_PUNCH_HOLE: the frames read zero and hold
 *                   no memory; the host drops them from every mapping.
 *
 * With io_uring (liburing) the whole batch goes to the kernel as one
 * submission of IORING_OP_WRITE, IORING_OP_MADVISE and
 * IORING_OP_FALLOCATE entries, at most ZA_RING_ENTRIES at a time, and is
 * reaped before pmap_zero_run returns.  An operation the ring fails is
 * retried synchronously.  Without a ring (built without liburing,
 * io_uring_queue_init refused: old kernel, seccomp; uring=0; valgrind,
 * which knows io_uring poorly) the same calls are made one by one
 * through host.c.  The results are the same either way.
 *
 * One thread at a time calls in here (the zeroer's pass lock).
 */
#include "pmap_md.h"
#include "host.h"
#include "../kva_track.h"

#include <fcntl.h>
#include <sys/mman.h>

#ifdef HAVE_LIBURING
#include <liburing.h>
#endif

/* the zero buffer: 1 MiB per write; in .bss and never written */
#define ZA_ZBUF_SIZE	((size_t)1 << 20)
#define ZA_RING_ENTRIES	64
#define ZA_PUNCH_MODE	(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)

static char za_zbuf[ZA_ZBUF_SIZE] __attribute__((aligned(4096)));

static struct {
	int uring;		/* the ring is up */
#ifdef HAVE_LIBURING
	struct io_uring ring;
#endif
} za;

/*
 * pmap_zero_start: set up the ring if want_uring and the host allows.
 * => 1 when io_uring is in use, 0 for the synchronous path.
 */
int
pmap_zero_start(int want_uring)
{
	int saved = errno;

	za.uring = 0;
#ifdef HAVE_LIBURING
	if (want_uring && !kva_track_on_valgrind() &&
	    io_uring_queue_init(ZA_RING_ENTRIES, &za.ring, 0) == 0)
		za.uring = 1;
#else
	(void)want_uring;
#endif
	errno = saved;
	return za.uring;
}

/* pmap_zero_stop: tear the ring down (its descriptor and mappings). */
void
pmap_zero_stop(void)
{
	int saved = errno;

#ifdef HAVE_LIBURING
	if (za.uring)
		io_uring_queue_exit(&za.ring);
#endif
	za.uring = 0;
	errno = saved;
}

int
pmap_zero_uring(void)
{
	return za.uring;
}

/* za_zero_sync: write zeros over [pa, pa + len) of the memfd */
static int
za_zero_sync(int fd, paddr_t pa, size_t len)
{
	while (len > 0) {
		size_t n = len < ZA_ZBUF_SIZE ? len : ZA_ZBUF_SIZE;
		int error = host_pwrite(fd, za_zbuf, n, (off_t)pa);

		if (error != 0)
			return error;
		pa += n;
		len -= n;
	}
	return 0;
}

/* za_run_sync: op (prepared) by plain system calls, a piece per memfd
 * it spans; 0 or -errno */
static int
za_run_sync(const struct pmap_zop *op)
{
	size_t done = 0;
	int error = 0;

	while (done < op->len && error == 0) {
		size_t span, n;
		int fd = pmap_physmem_fd(op->pa + done, &span);

		n = op->len - done < span ? op->len - done : span;
		if (op->op == PMAP_ZOP_PUNCH)
			error = host_punch(fd, (off_t)(op->pa + done), (off_t)n);
		else
			error = za_zero_sync(fd, op->pa + done, n);
		done += n;
	}
	if (error == 0 && op->op != PMAP_ZOP_PUNCH && op->dmap)
		(void)host_dontneed(pmap_dmap_va(op->pa), op->len);
	return error;
}

#ifdef HAVE_LIBURING
/* za_reap: wait for n completions; failures go to their op's error */
static void
za_reap(struct pmap_zop *ops, unsigned n)
{
	while (n > 0) {
		struct io_uring_cqe *cqe;
		int rv = io_uring_wait_cqe(&za.ring, &cqe);
		size_t i;

		if (rv == -EINTR)
			continue;
		if (rv != 0) {
			/* the ring is broken: the caller retries all */
			for (i = 0; ops[i].op != 0; i++)
				ops[i].error = rv;
			return;
		}
		i = (size_t)io_uring_cqe_get_data64(cqe);
		/* a short write (it should not happen) is a failure too */
		if (cqe->res < 0)
			ops[i].error = cqe->res;
		io_uring_cqe_seen(&za.ring, cqe);
		n--;
	}
}

/* za_sqe: the next free entry, submitting and reaping a full ring */
static struct io_uring_sqe *
za_sqe(struct pmap_zop *ops, unsigned *inflight)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&za.ring);

	if (sqe == NULL) {
		(void)io_uring_submit(&za.ring);
		za_reap(ops, *inflight);
		*inflight = 0;
		sqe = io_uring_get_sqe(&za.ring);
	}
	if (sqe != NULL)
		(*inflight)++;
	return sqe;
}

/* za_run_uring: the batch through the ring; errors left in ops */
static void
za_run_uring(struct pmap_zop *ops, int n)
{
	unsigned inflight = 0;

	for (int i = 0; i < n; i++) {
		struct pmap_zop *op = &ops[i];
		struct io_uring_sqe *sqe;
		size_t span;
		int fd = pmap_physmem_fd(op->pa, &span);

		if (span < op->len) {
			/* it spans both memfds of a forked child: the
			 * synchronous path does it in two pieces */
			op->error = -EAGAIN;
			continue;
		}
		if (op->op == PMAP_ZOP_PUNCH) {
			if ((sqe = za_sqe(ops, &inflight)) == NULL)
				goto broken;
			io_uring_prep_fallocate(sqe, fd, ZA_PUNCH_MODE,
			    (off_t)op->pa, (off_t)op->len);
			io_uring_sqe_set_data64(sqe, (uint64_t)i);
			continue;
		}
		for (size_t off = 0; off < op->len; off += ZA_ZBUF_SIZE) {
			size_t len = op->len - off < ZA_ZBUF_SIZE ?
			    op->len - off : ZA_ZBUF_SIZE;

			if ((sqe = za_sqe(ops, &inflight)) == NULL)
				goto broken;
			io_uring_prep_write(sqe, fd, za_zbuf, (unsigned)len,
			    (uint64_t)(op->pa + off));
			io_uring_sqe_set_data64(sqe, (uint64_t)i);
		}
		if (op->dmap) {
			if ((sqe = za_sqe(ops, &inflight)) == NULL)
				goto broken;
			io_uring_prep_madvise(sqe, (void *)pmap_dmap_va(op->pa),
			    (off_t)op->len, MADV_DONTNEED);
			io_uring_sqe_set_data64(sqe, (uint64_t)i);
		}
	}
	if (inflight > 0) {
		(void)io_uring_submit(&za.ring);
		za_reap(ops, inflight);
	}
	return;
broken:
	/* no entry to be had even after a reap: finish synchronously */
	for (int i = 0; i < n; i++)
		ops[i].error = -EAGAIN;
}
#endif

/*
 * pmap_zero_run: carry out the n operations of ops (pmap_md.h).
 * => ops[n].op must be 0 (the end).  Each op's error is 0 or -errno.
 * => errno is kept.
 */
void
pmap_zero_run(struct pmap_zop *ops, int n)
{
	int saved = errno;

	for (int i = 0; i < n; i++) {
		ops[i].error = 0;
		ops[i].dmap = pmap_zero_prepare(ops[i].pa, ops[i].len,
		    ops[i].op == PMAP_ZOP_PUNCH);
	}
#ifdef HAVE_LIBURING
	if (za.uring) {
		za_run_uring(ops, n);
		for (int i = 0; i < n; i++) {
			if (ops[i].error != 0)
				ops[i].error = za_run_sync(&ops[i]);
		}
		errno = saved;
		return;
	}
#endif
	for (int i = 0; i < n; i++)
		ops[i].error = za_run_sync(&ops[i]);
	errno = saved;
}

/*
 * host.c: the host's system calls, wrapped.
 *
 * The only file of kva, with the rest of lib/pmap_posix/, that includes
 * host headers such as <sys/mman.h>.  Wrappers return 0 or -errno and
 * restore errno (see host.h).
 *
 * Every wrapper of a call that changes the machine (mappings, the memfd)
 * is timed: the nanoseconds between entry and return add up in
 * uvmexp.hostcall_ns, for the statistics (kva_stats_print).  Two reads of
 * CLOCK_MONOTONIC through the vDSO cost about 50 ns, against the
 * microseconds of an mmap or mprotect.
 */
#include "pmap_md.h"
#include "host.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "../kva_track.h"

long host_ncalls;

/* SAVE_ERRNO / RESTORE: every wrapper keeps the caller's errno, and
 * adds the time it took to uvmexp.hostcall_ns */
#define HOST_BEGIN int saved_errno_ = errno; int rv_ = 0; \
	uint64_t t0_ = host_clock()
#define HOST_FAIL() (rv_ = -errno)
#define HOST_END() do { host_time(t0_); errno = saved_errno_; \
	return rv_; } while (0)

static inline uint64_t
host_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* host_time: add the time since t0 to uvmexp.hostcall_ns */
static inline void
host_time(uint64_t t0)
{
	__atomic_fetch_add(&uvmexp.hostcall_ns, (long)(host_clock() - t0),
	    __ATOMIC_RELAXED);
}

static inline void
host_count(void)
{
	__atomic_fetch_add(&host_ncalls, 1, __ATOMIC_RELAXED);
}

static int
host_prot(int vmprot)
{
	int p = PROT_NONE;

	if (vmprot & VM_PROT_READ)
		p |= PROT_READ;
	if (vmprot & VM_PROT_WRITE)
		p |= PROT_WRITE;
	if (vmprot & VM_PROT_EXECUTE)
		p |= PROT_EXEC;
	return p;
}

uintptr_t
host_reserve(uintptr_t va, size_t len, int *err)
{
	int saved = errno;
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	uint64_t t0 = host_clock();
	void *p;

	if (va != 0)
		flags |= MAP_FIXED;
	host_count();
	p = mmap((void *)va, len, PROT_NONE, flags, -1, 0);
	host_time(t0);
	if (p == MAP_FAILED) {
		*err = -errno;
		errno = saved;
		return 0;
	}
	*err = 0;
	errno = saved;
	return (uintptr_t)p;
}

int
host_map_anon_rw(uintptr_t va, size_t len)
{
	HOST_BEGIN;
	host_count();
	if (mmap((void *)va, len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0) ==
	    MAP_FAILED)
		HOST_FAIL();
	HOST_END();
}

/*
 * host_map_file: MAP_POPULATE on a shared mapping faults pages in for
 * reading only, so the first write to each page would still take a
 * write-protect fault.  Writable runs are populated with
 * MADV_POPULATE_WRITE (Linux 5.14) instead: present, writable and dirty
 * in one call.  On an older kernel the pages fault in on first touch.
 */
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
static int populate_write_works = 1;

int
host_map_file(uintptr_t va, size_t len, int prot, int fd, off_t off,
    int populate)
{
	HOST_BEGIN;
	int flags = MAP_SHARED | MAP_FIXED;
	int pop_write = populate && (prot & VM_PROT_WRITE) &&
	    __atomic_load_n(&populate_write_works, __ATOMIC_RELAXED);

	if (populate && !pop_write)
		flags |= MAP_POPULATE;
	host_count();
	if (mmap((void *)va, len, host_prot(prot), flags, fd, off) ==
	    MAP_FAILED) {
		HOST_FAIL();
		HOST_END();
	}
	if (pop_write) {
		host_count();
		if (madvise((void *)va, len, MADV_POPULATE_WRITE) != 0 &&
		    errno == EINVAL)
			__atomic_store_n(&populate_write_works, 0,
			    __ATOMIC_RELAXED);
	}
	HOST_END();
}

/*
 * host_move: mremap the mapping at [from, from + len), which lies inside
 * one host mapping, to [to, to + len).  The host moves a whole page-table
 * page for each aligned 2 MiB that both ranges cover, and a virtualised
 * host (shadow paging) then keeps its own entries for those pages: they
 * do not exit to the hypervisor again at first touch (5-10 us a page
 * here, ARCHITECTURE.md).  MREMAP_DONTUNMAP leaves the old range mapped
 * with no pages, so that no hole opens in the reservation for another
 * mmap to land in; the caller puts the reservation back.  DONTUNMAP on a
 * shared mapping needs Linux 5.13; where it is refused (older kernels,
 * valgrind), host_move says so once and is not tried again.
 * => 0, or -errno (the old mapping is then untouched).
 */
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif
static int move_works = 1;

int
host_move(uintptr_t from, size_t len, uintptr_t to)
{
	HOST_BEGIN;
	if (!__atomic_load_n(&move_works, __ATOMIC_RELAXED)) {
		rv_ = -ENOTSUP;
		HOST_END();
	}
	host_count();
	if (mremap((void *)from, len, len, MREMAP_MAYMOVE | MREMAP_FIXED |
	    MREMAP_DONTUNMAP, (void *)to) == MAP_FAILED) {
		HOST_FAIL();
		if (errno == EINVAL || errno == ENOSYS)
			__atomic_store_n(&move_works, 0, __ATOMIC_RELAXED);
	}
	HOST_END();
}

int
host_protect(uintptr_t va, size_t len, int prot)
{
	HOST_BEGIN;
	host_count();
	if (mprotect((void *)va, len, host_prot(prot)) != 0)
		HOST_FAIL();
	HOST_END();
}

int
host_unmap(uintptr_t va, size_t len)
{
	HOST_BEGIN;
	host_count();
	if (munmap((void *)va, len) != 0)
		HOST_FAIL();
	HOST_END();
}

int
host_dontneed(uintptr_t va, size_t len)
{
	HOST_BEGIN;
	host_count();
	if (madvise((void *)va, len, MADV_DONTNEED) != 0)
		HOST_FAIL();
	HOST_END();
}

int
host_memfd(const char *name)
{
	HOST_BEGIN;
	host_count();
	rv_ = memfd_create(name, MFD_CLOEXEC);
	if (rv_ < 0)
		HOST_FAIL();
	HOST_END();
}

int
host_ftruncate(int fd, off_t len)
{
	HOST_BEGIN;
	host_count();
	if (ftruncate(fd, len) != 0)
		HOST_FAIL();
	HOST_END();
}

int
host_punch(int fd, off_t off, off_t len)
{
	HOST_BEGIN;
	host_count();
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off,
	    len) != 0)
		HOST_FAIL();
	HOST_END();
}

/* write len bytes of buf at off, all of them (short writes continue) */
int
host_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	HOST_BEGIN;
	while (len > 0) {
		ssize_t n;

		host_count();
		n = pwrite(fd, buf, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rv_ = n < 0 ? -errno : -EIO;
			break;
		}
		buf = (const char *)buf + n;
		len -= (size_t)n;
		off += n;
	}
	HOST_END();
}

int
host_close(int fd)
{
	HOST_BEGIN;
	host_count();
	if (close(fd) != 0)
		HOST_FAIL();
	HOST_END();
}

int
host_copy_range(int fd_in, int fd_out, off_t off, size_t len,
    const void *src)
{
	HOST_BEGIN;
	char buf[16384];
	size_t done = 0;

	while (done < len) {
		loff_t in = off + (off_t)done, out = in;
		ssize_t n;

		host_count();
		n = copy_file_range(fd_in, &in, fd_out, &out, len - done, 0);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			break;
		}
		done += (size_t)n;
	}
	/* no copy_file_range here: write it out, from src or through buf */
	while (done < len) {
		size_t want = len - done;
		const void *from = (const char *)src + done;
		ssize_t n = 1;

		host_count();
		if (src == NULL) {
			want = want < sizeof(buf) ? want : sizeof(buf);
			n = pread(fd_in, buf, want, off + (off_t)done);
			from = buf;
			want = n > 0 ? (size_t)n : 0;
		}
		if (n > 0)
			n = pwrite(fd_out, from, want, off + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rv_ = n < 0 ? -errno : -EIO;
			break;
		}
		done += (size_t)n;
	}
	HOST_END();
}

int
kva_host_pipe(int fds[2])
{
	HOST_BEGIN;
	if (pipe2(fds, O_CLOEXEC) != 0)
		HOST_FAIL();
	HOST_END();
}

void
kva_host_close(int fd)
{
	(void)host_close(fd);
}

int
kva_host_wait_byte(int fd)
{
	int saved = errno;
	unsigned char c;
	ssize_t n;

	while ((n = read(fd, &c, 1)) < 0 && errno == EINTR)
		;
	errno = saved;
	return n == 1 ? c : -1;
}

void
kva_host_post_byte(int fd, int c)
{
	int saved = errno;
	unsigned char b = (unsigned char)c;

	while (write(fd, &b, 1) < 0 && errno == EINTR)
		;
	errno = saved;
}

/* read a small decimal file without stdio (stdio may malloc) */
static long
read_long_file(const char *path)
{
	char buf[64];
	ssize_t n;
	long v = 0;
	int fd, i;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	for (i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++)
		v = v * 10 + (buf[i] - '0');
	return i > 0 ? v : -EINVAL;
}

long
host_max_map_count(void)
{
	int saved = errno;
	long v = read_long_file("/proc/sys/vm/max_map_count");

	errno = saved;
	return v > 0 ? v : 65530;
}

long
host_count_maps(void)
{
	char buf[4096];
	long lines = 0;
	ssize_t n, i;
	int saved = errno;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		lines = -errno;
		errno = saved;
		return lines;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (i = 0; i < n; i++)
			lines += buf[i] == '\n';
	close(fd);
	errno = saved;
	return lines;
}

/*
 * The wrappers MI code may use (pmap_md.h).
 */
long
kva_host_pagesize(void)
{
	return sysconf(_SC_PAGESIZE);
}

size_t
kva_host_physmem(void)
{
	long pages = sysconf(_SC_PHYS_PAGES);
	long psz = sysconf(_SC_PAGESIZE);

	if (pages <= 0 || psz <= 0)
		return (size_t)1 << 30;
	return (size_t)pages * (size_t)psz;
}

int
kva_host_on_valgrind(void)
{
	return kva_track_on_valgrind();
}

ssize_t
kva_host_write(int fd, const void *buf, size_t len)
{
	int saved = errno;
	const char *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, p + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		done += (size_t)n;
	}
	errno = saved;
	return (ssize_t)done;
}

void
kva_host_abort(void)
{
	abort();
}

uint64_t
kva_host_nanotime(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int
kva_host_atexit(void (*fn)(void))
{
	return atexit(fn) == 0 ? 0 : -ENOMEM;
}

const char *
kva_host_getenv(const char *name)
{
	return getenv(name);
}

/* ------------------------------------------------------------------ */
/* Swap files (uvm_swap.c). */

#include <sys/stat.h>
#include <sys/uio.h>

/*
 * kva_host_swap_open: open the swap file.  path NULL or "": an unlinked
 * temporary file (O_TMPFILE, else a mkstemp name removed at once) in
 * $TMPDIR or /tmp; otherwise path itself, created if need be.  Either
 * way mode 0600, close-on-exec, and size bytes long (sparse).
 * => fd, or -errno.
 */
int
kva_host_swap_open(const char *path, off_t size)
{
	HOST_BEGIN;
	char tmpl[KVA_PATH_MAX + 32];
	const char *dir;
	int fd;

	host_count();
	if (path != NULL && path[0] != '\0') {
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	} else {
		dir = getenv("TMPDIR");
		if (dir == NULL || dir[0] == '\0' ||
		    strlen(dir) > KVA_PATH_MAX)
			dir = "/tmp";
		fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (fd < 0) {
			snprintf(tmpl, sizeof(tmpl), "%s/kva-swap-XXXXXX", dir);
			fd = mkostemp(tmpl, O_CLOEXEC);
			if (fd >= 0)
				(void)unlink(tmpl);
		}
	}
	if (fd < 0) {
		HOST_FAIL();
		HOST_END();
	}
	if (ftruncate(fd, size) != 0) {
		HOST_FAIL();
		(void)close(fd);
		HOST_END();
	}
	rv_ = fd;
	HOST_END();
}

/*
 * kva_host_swap_io: read (write == 0) or write n pages at byte offset
 * off of fd, page i at pages[i], with one preadv or pwritev per 64
 * pieces (pages at neighbouring addresses make one piece); short
 * transfers are continued.
 * => 0, or -errno (-EIO for a read that hits the end of the file).
 */
int
kva_host_swap_io(int fd, int write, void *const *pages, int n, off_t off)
{
	HOST_BEGIN;
	struct iovec iov[64];
	size_t psz = (size_t)PAGE_SIZE;
	int i = 0;

	while (i < n && rv_ == 0) {
		struct iovec *v = iov;
		size_t want = 0, done = 0;
		int k = 0, nv;

		for (; i < n; i++) {
			char *p = pages[i];

			if (k > 0 && p == (char *)iov[k - 1].iov_base +
			    iov[k - 1].iov_len) {
				iov[k - 1].iov_len += psz;
			} else if (k < 64) {
				iov[k].iov_base = p;
				iov[k].iov_len = psz;
				k++;
			} else {
				break;
			}
			want += psz;
		}
		nv = k;
		while (done < want) {
			ssize_t got;

			host_count();
			got = write ? pwritev(fd, v, nv, off + (off_t)done) :
			    preadv(fd, v, nv, off + (off_t)done);
			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0) {
				if (got < 0)
					HOST_FAIL();
				else
					rv_ = -EIO;
				break;
			}
			done += (size_t)got;
			/* past what went: whole pieces, then part of one */
			while (nv > 0 && (size_t)got >= v->iov_len) {
				got -= (ssize_t)v->iov_len;
				v++;
				nv--;
			}
			if (nv > 0) {
				v->iov_base = (char *)v->iov_base + got;
				v->iov_len -= (size_t)got;
			}
		}
		off += (off_t)want;
	}
	HOST_END();
}

/*
 * kva_host_copy_file: copy len bytes at off from fd_in to fd_out, same
 * offset (a forked child's swap): host_copy_range reading from fd_in.
 */
int
kva_host_copy_file(int fd_in, int fd_out, off_t off, size_t len)
{
	return host_copy_range(fd_in, fd_out, off, len, NULL);
}

/*
 * host_statsfile.c: the host's side of the statistics file.
 *
 * The directory and the file are created the way a careful daemon makes
 * its runtime files: the directory is ours and mode 0700 or it is not
 * used (someone else could have made it to read or swap our files); the
 * file is made with O_EXCL|O_NOFOLLOW relative to the directory we
 * checked, mode 0600, and mapped shared; no descriptor stays open, and
 * exec drops the mapping.  Nothing here allocates (the directory is read
 * with getdents64 into a stack buffer), because the malloc shim starts
 * kva from inside its first malloc.  Wrappers keep errno (host.h).
 */
#include "pmap_md.h"
#include "host.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SF_BEGIN int saved_errno_ = errno
#define SF_RETURN(v) do { errno = saved_errno_; return (v); } while (0)

/* sf_dir_ok: fd is a directory owned by us with no group/other bits */
static int
sf_dir_ok(int fd)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return -errno;
	if (!S_ISDIR(st.st_mode) || st.st_uid != getuid() ||
	    (st.st_mode & 077) != 0)
		return -EPERM;
	return 0;
}

/* sf_opendir: open dir (not through a symlink) and check it */
static int
sf_opendir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int error;

	if (fd < 0)
		return -errno;
	error = sf_dir_ok(fd);
	if (error != 0) {
		close(fd);
		return error;
	}
	return fd;
}

/* sf_mkdir: base/kva-<uid> into dir, created 0700 if missing */
static int
sf_mkdir(const char *base, char *dir, size_t len)
{
	int n = snprintf(dir, len, "%s/kva-%u", base, (unsigned)getuid());

	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	if (mkdir(dir, 0700) == 0)
		(void)chmod(dir, 0700);		/* whatever the umask */
	else if (errno != EEXIST)
		return -errno;
	return 0;
}

int
kva_host_sf_dir(char *dir, size_t len)
{
	SF_BEGIN;
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int error = -ENOENT, fd;

	if (xdg != NULL && xdg[0] == '/')
		error = sf_mkdir(xdg, dir, len);
	if (error != 0)
		error = sf_mkdir("/tmp", dir, len);
	if (error != 0)
		SF_RETURN(error);
	fd = sf_opendir(dir);
	if (fd < 0)
		SF_RETURN(fd);
	close(fd);
	SF_RETURN(0);
}

void *
kva_host_sf_create(const char *dir, long pid, size_t size, int *err)
{
	SF_BEGIN;
	char name[32];
	void *p = NULL;
	int dfd, fd, tries;

	*err = 0;
	snprintf(name, sizeof(name), "%ld", pid);
	dfd = sf_opendir(dir);
	if (dfd < 0) {
		*err = dfd;
		SF_RETURN(NULL);
	}
	for (tries = 0;; tries++) {
		fd = openat(dfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST || tries > 0)
			break;
		/* a file of an earlier process with our pid: stale */
		(void)unlinkat(dfd, name, 0);
	}
	if (fd < 0) {
		*err = -errno;
		close(dfd);
		SF_RETURN(NULL);
	}
	if (fchmod(fd, 0600) != 0 || ftruncate(fd, (off_t)size) != 0) {
		*err = -errno;
	} else {
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED) {
			*err = -errno;
			p = NULL;
		}
	}
	if (p == NULL)
		(void)unlinkat(dfd, name, 0);
	close(fd);
	close(dfd);
	SF_RETURN(p);
}

int
kva_host_sf_unlink(const char *dir, long pid)
{
	SF_BEGIN;
	char path[KVA_PATH_MAX + 32];
	int rv = 0;

	snprintf(path, sizeof(path), "%s/%ld", dir, pid);
	if (unlink(path) != 0)
		rv = -errno;
	SF_RETURN(rv);
}

/* sf_pid_of: name as a pid, or -1 if it is not one */
static long
sf_pid_of(const char *name)
{
	long v = 0;
	int i;

	for (i = 0; name[i] != '\0'; i++) {
		if (name[i] < '0' || name[i] > '9' || i > 9)
			return -1;
		v = v * 10 + (name[i] - '0');
	}
	return i > 0 && v > 0 ? v : -1;
}

int
kva_host_sf_clean(const char *dir)
{
	SF_BEGIN;
	char buf[4096] __attribute__((aligned(8)));
	long self = getpid(), n;
	int dfd, removed = 0;

	dfd = sf_opendir(dir);
	if (dfd < 0)
		SF_RETURN(dfd);
	while ((n = syscall(SYS_getdents64, dfd, buf, sizeof(buf))) > 0) {
		long off = 0;

		while (off < n) {
			struct dirent64 *d = (struct dirent64 *)(void *)(buf + off);
			long pid = sf_pid_of(d->d_name);

			off += d->d_reclen;
			if (pid <= 0 || pid == self)
				continue;
			if (kill((pid_t)pid, 0) != 0 && errno == ESRCH &&
			    unlinkat(dfd, d->d_name, 0) == 0)
				removed++;
		}
	}
	close(dfd);
	SF_RETURN(removed);
}

void *
kva_host_map_anon(size_t size, int *err)
{
	SF_BEGIN;
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	*err = 0;
	if (p == MAP_FAILED) {
		*err = -errno;
		p = NULL;
	}
	SF_RETURN(p);
}

int
kva_host_unmap(void *addr, size_t size)
{
	return host_unmap((uintptr_t)addr, size);
}

long
kva_host_getpid(void)
{
	return getpid();
}

unsigned
kva_host_getuid(void)
{
	return (unsigned)getuid();
}

uint32_t
kva_host_gettid(void)
{
	return (uint32_t)syscall(SYS_gettid);
}

uint64_t
kva_host_realtime(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* sf_read_small: up to len-1 bytes of path, NUL-terminated; length */
static ssize_t
sf_read_small(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	return n;
}

uint64_t
kva_host_start_ticks(void)
{
	SF_BEGIN;
	char buf[1024], *p;
	uint64_t v = 0;
	int field;

	if (sf_read_small("/proc/self/stat", buf, sizeof(buf)) <= 0)
		SF_RETURN(0);
	p = strrchr(buf, ')');		/* the name may hold spaces */
	if (p == NULL)
		SF_RETURN(0);
	/* after ") " comes field 3; the start time is field 22 */
	for (field = 2; *p != '\0' && field < 22; p++)
		if (*p == ' ')
			field++;
	while (*p >= '0' && *p <= '9')
		v = v * 10 + (uint64_t)(*p++ - '0');
	SF_RETURN(v);
}

void
kva_host_comm(char *buf, size_t len)
{
	SF_BEGIN;
	ssize_t n = sf_read_small("/proc/self/comm", buf, len);

	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	errno = saved_errno_;
}

int
kva_host_thread_create(pthread_t *t, void *(*fn)(void *), void *arg)
{
	SF_BEGIN;
	sigset_t all, old;
	int error;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	error = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	SF_RETURN(error);
}

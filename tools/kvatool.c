/*
 * kvatool.c: opening kva statistics files for kvastat and kvahist.
 *
 * The tools only read: the file is opened O_RDONLY|O_NOFOLLOW and mapped
 * PROT_READ, so a tool can never disturb the process it watches.  It is
 * refused unless it is a regular file owned by the caller (the mode
 * 0600 file in a 0700 directory keeps other users out anyway; the check
 * turns a planted file into a clear message), and its magic, byte
 * order, version and size are checked before anything else is read.
 * A file whose process is gone (pid dead, or reused by a process with
 * another start time) is stale: listing removes it.
 */
#include "kvatool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int
kt_dirs(char dirs[2][4096])
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n = 0;

	if (xdg != NULL && xdg[0] == '/')
		snprintf(dirs[n++], 4096, "%s/kva-%u", xdg, (unsigned)getuid());
	snprintf(dirs[n++], 4096, "/tmp/kva-%u", (unsigned)getuid());
	return n;
}

/* dir_ok: dir is ours, a directory, mode 0700 (no group/other bits) */
static int
dir_ok(const char *prog, const char *dir, int quiet)
{
	struct stat st;

	if (lstat(dir, &st) != 0)
		return 0;
	if (!S_ISDIR(st.st_mode) || st.st_uid != getuid() ||
	    (st.st_mode & 077) != 0) {
		if (!quiet)
			fprintf(stderr, "%s: %s is not a directory of uid %u "
			    "with mode 0700: refused\n", prog, dir,
			    (unsigned)getuid());
		return 0;
	}
	return 1;
}

static int
map_path(const char *prog, const char *path, struct kt_file *f)
{
	struct stat st;
	const char *why;
	void *p;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "%s: %s: not a regular file\n", prog, path);
		close(fd);
		return -1;
	}
	if (st.st_uid != getuid()) {
		fprintf(stderr, "%s: %s belongs to uid %u, not to you (uid %u): "
		    "refused\n", prog, path, (unsigned)st.st_uid,
		    (unsigned)getuid());
		close(fd);
		return -1;
	}
	if ((size_t)st.st_size < sizeof(struct kva_sf_header)) {
		fprintf(stderr, "%s: %s: too small to be a kva statistics "
		    "file\n", prog, path);
		close(fd);
		return -1;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		fprintf(stderr, "%s: %s: mmap: %s\n", prog, path,
		    strerror(errno));
		return -1;
	}
	why = kva_sf_check(p, (uint64_t)st.st_size);
	if (why != NULL) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, why);
		munmap(p, (size_t)st.st_size);
		return -1;
	}
	f->sf = p;
	f->size = (size_t)st.st_size;
	snprintf(f->path, sizeof(f->path), "%s", path);
	f->pid = (long)f->sf->hdr.pid;
	return 0;
}

int
kt_open(const char *prog, const char *arg, struct kt_file *f)
{
	char dirs[2][4096], path[4096 + 32];
	char *end;
	long pid;
	int i, n;

	memset(f, 0, sizeof(*f));
	if (strchr(arg, '/') != NULL)
		return map_path(prog, arg, f);
	errno = 0;
	pid = strtol(arg, &end, 10);
	if (errno != 0 || *end != '\0' || pid <= 0) {
		fprintf(stderr, "%s: \"%s\" is not a process id\n", prog, arg);
		return -1;
	}
	n = kt_dirs(dirs);
	for (i = 0; i < n; i++) {
		struct stat st;

		if (snprintf(path, sizeof(path), "%s/%ld", dirs[i], pid) >=
		    (int)sizeof(path) || lstat(path, &st) != 0)
			continue;
		if (!dir_ok(prog, dirs[i], 0))
			return -1;
		if (map_path(prog, path, f) != 0)
			return -1;
		if (f->sf->hdr.pid != pid || !kt_alive(f->sf)) {
			fprintf(stderr, "%s: %s is stale: process %ld is gone\n",
			    prog, path, pid);
			kt_close(f);
			return -1;
		}
		return 0;
	}
	fprintf(stderr, "%s: no kva statistics file for process %ld (is it "
	    "a kva process of yours, with statsfile on?)\n", prog, pid);
	return -1;
}

void
kt_close(struct kt_file *f)
{
	if (f->sf != NULL)
		munmap((void *)f->sf, f->size);
	f->sf = NULL;
}

/* start_ticks: field 22 of /proc/<pid>/stat, or 0 */
static unsigned long long
start_ticks(long pid)
{
	char path[64], buf[1024], *p;
	unsigned long long v = 0;
	size_t n;
	int field;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	fp = fopen(path, "r");
	if (fp == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (p == NULL)
		return 0;
	for (field = 2; *p != '\0' && field < 22; p++)
		if (*p == ' ')
			field++;
	while (*p >= '0' && *p <= '9')
		v = v * 10 + (unsigned long long)(*p++ - '0');
	return v;
}

int
kt_alive(const struct kva_statsfile *sf)
{
	long pid = (long)sf->hdr.pid;
	unsigned long long t;

	if (pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno == ESRCH))
		return 0;
	t = start_ticks(pid);
	return t == 0 || sf->hdr.start_ticks == 0 || t == sf->hdr.start_ticks;
}

int
kt_list(const char *prog, void (*fn)(struct kt_file *, void *), void *arg)
{
	char dirs[2][4096], path[4096 + 300];
	int i, n, count = 0;

	n = kt_dirs(dirs);
	for (i = 0; i < n; i++) {
		struct dirent *d;
		DIR *dp;

		if (!dir_ok(prog, dirs[i], 1))
			continue;
		dp = opendir(dirs[i]);
		if (dp == NULL)
			continue;
		while ((d = readdir(dp)) != NULL) {
			struct kt_file f;

			if (d->d_name[0] < '0' || d->d_name[0] > '9')
				continue;
			if (snprintf(path, sizeof(path), "%s/%s", dirs[i],
			    d->d_name) >= (int)sizeof(path) ||
			    map_path(prog, path, &f) != 0)
				continue;
			if (!kt_alive(f.sf)) {
				kt_close(&f);
				(void)unlink(path);	/* stale */
				continue;
			}
			fn(&f, arg);
			kt_close(&f);
			count++;
		}
		closedir(dp);
	}
	return count;
}

double
kt_uptime(const struct kva_statsfile *sf)
{
	struct timespec ts;
	double now;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
	return (now - (double)sf->hdr.start_ns) / 1e9;
}

/*
 * check_statsfile.c: the statistics file and UVMHIST, from inside the
 * library (kva_statsfile.c, uvm_hist.c, kva_sfread.c).
 */
#include "tcommon.h"
#include "kva_impl.h"
#include "kva_statsfile.h"
#include "uvm_hist.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

static void
up(const char *opts)
{
	struct kva_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.options = opts;
	ck_assert_int_eq(kva_init(&cfg), 0);
}

/* map the file at path read-only, as the tools do */
static const struct kva_statsfile *
map_ro(const char *path)
{
	struct stat st;
	void *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_uint_eq(st.st_uid, getuid());
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	ck_assert_ptr_ne(p, MAP_FAILED);
	ck_assert_ptr_null(kva_sf_check(p, (uint64_t)st.st_size));
	return p;
}

START_TEST(test_file_live_and_removed)
{
	const struct kva_statsfile *sf;
	struct kva_sf_uvmexp u;
	struct kva_sf_maps *m = malloc(sizeof(*m));
	char path[512], dir[512];
	struct stat st;
	vm_offset_t va;

	up("physmem=64M,kva=4G");
	kva_statsfile_path(path, sizeof(path));
	ck_assert_msg(path[0] != '\0', "no statistics file");
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	ck_assert_int_eq(stat(dir, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	sf = map_ro(path);
	ck_assert_int_eq(sf->hdr.pid, getpid());
	va = uvm_km_alloc1(kernel_map, 8 * PAGE_SIZE, TRUE);
	ck_assert(va != 0);
	kva_drain();
	ck_assert_int_eq(KVA_SF_READ(&sf->uvmexp, &u), 0);
	ck_assert_int_eq(u.free, uvmexp.free);
	ck_assert_int_eq(u.wired, uvmexp.wired);
	ck_assert_int_eq(KVA_SF_READ(&sf->maps, m), 0);
	ck_assert_uint_ge(m->nmaps, 2);
	ck_assert_str_eq(m->map[0].name, "kernel_map");
	ck_assert_str_eq(m->map[1].name, "kmem_map");
	ck_assert_uint_ge(m->map[0].wired, 8);
	uvm_km_free(kernel_map, va, 8 * PAGE_SIZE);
	kva_fini();
	ck_assert_int_ne(access(path, F_OK), 0);
	munmap((void *)sf, sizeof(*sf));
	free(m);
}
END_TEST

START_TEST(test_statsfile_off)
{
	char path[512];
	int before, after;
	vm_offset_t va;
	UVMHIST_FUNC("test_statsfile_off");

	up("physmem=64M,kva=4G,statsfile=0,hist=maphist");
	kva_statsfile_path(path, sizeof(path));
	ck_assert_str_eq(path, "");
	/* the rings still work, in anonymous memory */
	before = maphist.enabled;
	va = uvm_km_alloc1(kernel_map, PAGE_SIZE, FALSE);
	UVMHIST_LOG(maphist, "off %d", 1, 0, 0, 0);
	after = maphist.enabled;
	ck_assert_int_eq(before, 1);
	ck_assert_int_eq(after, 1);
	uvm_km_free(kernel_map, va, PAGE_SIZE);
	kva_fini();
	ck_assert_int_eq(maphist.enabled, 0);
}
END_TEST

/* a history that is off records nothing; one that is on records the
 * seed's entries, formatted */
START_TEST(test_hist_entries)
{
	const struct kva_statsfile *sf;
	struct kva_sf_histent e;
	char path[512], line[512];
	uint64_t n, pd0;
	vm_offset_t va;
	int found = 0;
	UVMHIST_FUNC("test_hist_entries");

	up("physmem=64M,kva=4G,hist=maphist");
	kva_statsfile_path(path, sizeof(path));
	sf = map_ro(path);
	ck_assert_uint_eq(sf->hdr.hist_on, 1u << maphist.idx);
	pd0 = sf->hist[pdhist.idx].next;
	UVMHIST_LOG(pdhist, "never %d", 1, 2, 3, 4);
	ck_assert_uint_eq(sf->hist[pdhist.idx].next, pd0);
	va = uvm_km_alloc1(kernel_map, 2 * PAGE_SIZE, FALSE);
	for (n = 0; n < sf->hist[maphist.idx].next; n++) {
		if (!kva_sf_hist_get(sf, maphist.idx, n, &e))
			continue;
		kva_sf_hist_format(sf, maphist.idx, &e, line, sizeof(line));
		if (strstr(line, "uvm_km_alloc1: <- done (kva=") != NULL) {
			char want[64];

			snprintf(want, sizeof(want), "(kva=%#lx)",
			    (unsigned long)va);
			ck_assert_msg(strstr(line, want) != NULL, "%s", line);
			found = 1;
		}
	}
	ck_assert_msg(found, "no uvm_km_alloc1 entry");
	ck_assert_int_eq(uvmhist_set("pdhist", 1), 0);
	UVMHIST_LOG(pdhist, "now %d", 7, 0, 0, 0);
	ck_assert_uint_eq(sf->hist[pdhist.idx].next, pd0 + 1);
	ck_assert_int_eq(uvmhist_set("nosuch", 1), -1);
	uvm_km_free(kernel_map, va, 2 * PAGE_SIZE);
	kva_fini();
	munmap((void *)sf, sizeof(*sf));
}
END_TEST

/* formats are checked before use: %s, %n, '*' and a fifth value are
 * refused and the values shown raw */
START_TEST(test_hist_format)
{
	static struct kva_statsfile sf;
	struct kva_sf_histent e;
	char line[512];
	const char *fmts[] = {
		"a=%d b=%#lx c=%hhu d=%p",
		"bad %s",
		"bad %n",
		"bad %*d",
		"%d %d %d %d %d",
	};
	const char *want[] = {
		"a=-1 b=0x10 c=255 d=0x20",
		"bad %s [0xffffffffffffffff 0x10 0x3ff 0x20]",
		"bad %n [",
		"bad %*d [",
		"%d %d %d %d %d [",
	};
	uint32_t off = 1;
	size_t i;

	memset(&e, 0, sizeof(e));
	e.v[0] = (uint64_t)-1;
	e.v[1] = 0x10;
	e.v[2] = 0x3ff;
	e.v[3] = 0x20;
	for (i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		strcpy(sf.strtab.s + off, fmts[i]);
		e.fmt = off;
		e.fn = 0;
		kva_sf_hist_format(&sf, 0, &e, line, sizeof(line));
		ck_assert_msg(strstr(line, want[i]) != NULL, "%s: got %s",
		    fmts[i], line);
		off += (uint32_t)strlen(fmts[i]) + 1;
	}
	e.fmt = KVA_SF_STRTAB + 5;		/* outside the table */
	kva_sf_hist_format(&sf, 0, &e, line, sizeof(line));
	ck_assert_msg(strcmp(line + strlen(line) - 3, ": ?") == 0, "%s", line);
}
END_TEST

/* the file of a dead process is removed by the next kva process */
START_TEST(test_stale_cleaned)
{
	char path[512], stale[600];
	pid_t dead = fork();
	int fd;

	if (dead == 0)
		_exit(0);
	ck_assert_int_gt(dead, 0);
	waitpid(dead, NULL, 0);
	up("physmem=64M,kva=4G");
	kva_statsfile_path(path, sizeof(path));
	ck_assert(path[0] != '\0');
	*strrchr(path, '/') = '\0';
	kva_fini();
	snprintf(stale, sizeof(stale), "%s/%ld", path, (long)dead);
	fd = open(stale, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	up("physmem=64M,kva=4G");
	ck_assert_msg(access(stale, F_OK) != 0, "%s is still there", stale);
	kva_fini();
}
END_TEST

/* a forked child gets a file of its own; the parent's stays */
START_TEST(test_fork_own_file)
{
	char path[512], cpath[512];
	int fds[2];
	pid_t pid;

	up("physmem=64M,kva=4G,hist=maphist");
	kva_statsfile_path(path, sizeof(path));
	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	if (pid == 0) {
		char want[600];
		int ok;

		close(fds[0]);
		kva_statsfile_path(cpath, sizeof(cpath));
		snprintf(want, sizeof(want), "%.*s/%ld",
		    (int)(strrchr(path, '/') - path), path, (long)getpid());
		ok = strcmp(cpath, want) == 0 && access(cpath, F_OK) == 0 &&
		    access(path, F_OK) == 0;
		kva_fini();
		ok = ok && access(cpath, F_OK) != 0 && access(path, F_OK) == 0;
		t_child_exit(fds[1], ok);
	}
	close(fds[1]);
	ck_assert_msg(t_child_verdict(fds[0], pid), "the child's file");
	close(fds[0]);
	ck_assert_int_eq(access(path, F_OK), 0);
	kva_fini();
}
END_TEST

static Suite *
statsfile_suite(void)
{
	Suite *s = suite_create("statsfile");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_file_live_and_removed);
	tcase_add_test(tc, test_statsfile_off);
	tcase_add_test(tc, test_hist_entries);
	tcase_add_test(tc, test_hist_format);
	tcase_add_test(tc, test_stale_cleaned);
	tcase_add_test(tc, test_fork_own_file);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return t_run_suite(statsfile_suite());
}

/*
 * check_api.c: the public contract, seen as a user sees it: <kva.h> and
 * libkva only.
 */
#include "tcommon.h"

#include <dirent.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

static void
setup(void)
{
	struct kva_config cfg = { .physmem = (size_t)256 << 20,
	    .kva = (size_t)1 << 30 };

	t_install_handler();		/* before kva_init */
	ck_assert_int_eq(kva_init(&cfg), 0);
}

static void
teardown(void)
{
	kva_fini();
}

START_TEST(test_alloc1_zeroed_writable)
{
	size_t sizes[] = { 1, 100, 4096, 4097, 65536, 1 << 20, 3 << 20 };
	unsigned k;

	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		/* dirty the memory first, so zeroing is really needed */
		vaddr_t d = uvm_km_alloc(kernel_map, sizes[k]);
		vaddr_t va;
		size_t i;

		ck_assert(d != 0);
		memset((void *)d, 0xa5, sizes[k]);
		uvm_km_free(kernel_map, d, sizes[k]);
		va = uvm_km_zalloc(kernel_map, sizes[k]);
		ck_assert(va != 0);
		ck_assert_uint_eq(va & PAGE_MASK, 0);
		for (i = 0; i < round_page(sizes[k]); i++)
			ck_assert_int_eq(((unsigned char *)va)[i], 0);
		memset((void *)va, 0x3c, round_page(sizes[k]));
		for (i = 0; i < round_page(sizes[k]); i += 997)
			ck_assert_int_eq(((unsigned char *)va)[i], 0x3c);
		uvm_km_free(kernel_map, va, sizes[k]);
	}
}
END_TEST

/* After uvm_km_free, every access to the range raises SIGSEGV, caught by
 * the test's own handler installed before kva_init. */
START_TEST(test_access_after_free_faults)
{
	size_t n = 16, i;
	vaddr_t va = uvm_km_zalloc(kernel_map, n * PAGE_SIZE);
	int caught0 = t_faults_caught;

	ck_assert(va != 0);
	memset((void *)va, 7, n * PAGE_SIZE);
	uvm_km_free(kernel_map, va, n * PAGE_SIZE);
	for (i = 0; i < n * PAGE_SIZE; i += PAGE_SIZE / 2) {
		ck_assert_int_eq(t_probe((char *)va + i, 0), 1);
		ck_assert_ptr_eq(t_fault_addr, (char *)va + i);
		ck_assert_int_eq(t_probe((char *)va + i, 1), 1);
	}
	ck_assert_int_eq(t_faults_caught - caught0, (int)(4 * n));
	/* the same holds in kmem_map */
	va = uvm_km_kmemalloc(kmem_map, uvmexp.kmem_object, 3 * PAGE_SIZE, 0);
	ck_assert(va != 0);
	uvm_km_free(kmem_map, va, 3 * PAGE_SIZE);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(t_probe((char *)va + ptoa(i), 0), 1);
}
END_TEST

/*
 * 10,000 random allocations and frees of 1-64 pages across 2 threads:
 * every block keeps its contents.
 */
/* per thread: 10,000 in all; a tenth of that under valgrind */
#define STRESS_OPS  (RUNNING_ON_VALGRIND ? 500 : 5000)
#define STRESS_LIVE 64

struct blk {
	vaddr_t va;
	size_t npages;
	unsigned char tag;
};

static int
blk_ok(const struct blk *b)
{
	size_t i;

	for (i = 0; i < b->npages; i++) {
		const unsigned char *p = (const unsigned char *)b->va + ptoa(i);
		if (p[0] != b->tag || p[PAGE_SIZE / 2] != (unsigned char)(b->tag ^ i) ||
		    p[PAGE_SIZE - 1] != b->tag)
			return 0;
	}
	return 1;
}

static void *
stress_thread(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	struct blk live[STRESS_LIVE];
	long bad = 0;
	int op, i;

	memset(live, 0, sizeof(live));
	for (op = 0; op < STRESS_OPS; op++) {
		struct blk *b = &live[rand_r(&seed) % STRESS_LIVE];

		if (b->va != 0) {
			if (!blk_ok(b))
				bad++;
			uvm_km_free(kernel_map, b->va, ptoa(b->npages));
			b->va = 0;
		} else {
			size_t j;

			b->npages = 1 + (size_t)(rand_r(&seed) % 64);
			b->tag = (unsigned char)rand_r(&seed);
			b->va = uvm_km_alloc1(kernel_map, ptoa(b->npages),
			    rand_r(&seed) & 1);
			if (b->va == 0)
				return (void *)-1L;
			for (j = 0; j < b->npages; j++) {
				unsigned char *p = (unsigned char *)b->va + ptoa(j);
				p[0] = b->tag;
				p[PAGE_SIZE / 2] = (unsigned char)(b->tag ^ j);
				p[PAGE_SIZE - 1] = b->tag;
			}
		}
	}
	for (i = 0; i < STRESS_LIVE; i++)
		if (live[i].va != 0) {
			if (!blk_ok(&live[i]))
				bad++;
			uvm_km_free(kernel_map, live[i].va, ptoa(live[i].npages));
		}
	return (void *)bad;
}

START_TEST(test_two_thread_stress)
{
	pthread_t th[2];
	void *rv[2];
	int free0 = uvmexp.free, i;

	for (i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, stress_thread,
		    (void *)(uintptr_t)(i + 1)), 0);
	for (i = 0; i < 2; i++) {
		pthread_join(th[i], &rv[i]);
		ck_assert_msg(rv[i] == NULL, "thread %d: %ld bad blocks", i,
		    (long)rv[i]);
	}
	kva_drain();
	ck_assert_int_eq(uvmexp.free, free0);
}
END_TEST

/* A malformed KVA_OPTIONS gives one line on stderr and the defaults. */
START_TEST(test_malformed_options)
{
	char path[] = "/tmp/kva-api-XXXXXX", buf[4096];
	int fd = mkstemp(path), saved, lines = 0;
	ssize_t n, i;
	size_t dflt_pages;

	kva_fini();
	ck_assert_int_ge(fd, 0);
	unlink(path);
	/* the defaults, for comparison */
	setenv("KVA_OPTIONS", "kva=1G", 1);
	ck_assert_int_eq(kva_init(NULL), 0);
	dflt_pages = (size_t)uvmexp.npages;
	kva_fini();

	setenv("KVA_OPTIONS", "kva=1G,physmem=12Q", 1);
	saved = dup(2);
	dup2(fd, 2);
	ck_assert_int_eq(kva_init(NULL), 0);
	dup2(saved, 2);
	close(saved);
	unsetenv("KVA_OPTIONS");
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	for (i = 0; i < n; i++)
		lines += buf[i] == '\n';
	ck_assert_int_eq(lines, 1);
	ck_assert_ptr_nonnull(strstr(buf, "physmem"));
	ck_assert_uint_eq((size_t)uvmexp.npages, dflt_pages);
	/* and it works */
	{
		vaddr_t va = uvm_km_zalloc(kernel_map, PAGE_SIZE);
		ck_assert(va != 0);
		uvm_km_free(kernel_map, va, PAGE_SIZE);
	}
}
END_TEST

static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int
count_maps(void)
{
	char line[512];
	int n = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	while (fgets(line, sizeof(line), f) != NULL)
		n++;
	fclose(f);
	return n;
}

/* kva_fini leaves no mapping and no descriptor behind */
START_TEST(test_fini_leaves_nothing)
{
	int fds, maps;
	vaddr_t va;

	kva_fini();
	fds = count_fds();
	maps = count_maps();
	setup();
	va = uvm_km_zalloc(kernel_map, 40 * PAGE_SIZE);
	ck_assert(va != 0);
	ck_assert_int_gt(count_maps(), maps);
	ck_assert_int_gt(count_fds(), fds);
	kva_fini();
	ck_assert_int_eq(count_fds(), fds);
	ck_assert_int_eq(count_maps(), maps);
	setup();
}
END_TEST

/*
 * fork: parent and child never see each other's writes, and the child
 * has what the parent had at fork, in wired and in pageable memory.
 */
START_TEST(test_fork_isolation)
{
	size_t sz = 64 * PAGE_SIZE, i;
	vaddr_t w = uvm_km_zalloc(kernel_map, sz);
	vaddr_t p = uvm_km_valloc(kernel_map, sz);
	int to_child[2], to_parent[2], verdict[2];
	pid_t pid;
	char c;

	ck_assert(w != 0 && p != 0);
	memset((void *)w, 'P', sz);
	memset((void *)p, 'Q', sz / 2);		/* half of it faulted in */
	ck_assert_int_eq(pipe(to_child), 0);
	ck_assert_int_eq(pipe(to_parent), 0);
	ck_assert_int_eq(pipe(verdict), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int bad = 0;

		/* the child sees the parent's memory as of fork */
		for (i = 0; i < sz; i += 509)
			bad += ((char *)w)[i] != 'P';
		for (i = 0; i < sz; i += 509)
			bad += ((char *)p)[i] != (i < sz / 2 ? 'Q' : 0);
		memset((void *)w, 'c', sz);
		memset((void *)p, 'd', sz);
		(void)!write(to_parent[1], "x", 1);
		(void)!read(to_child[0], &c, 1);	/* parent has written */
		for (i = 0; i < sz; i += 509)
			bad += ((char *)w)[i] != 'c' || ((char *)p)[i] != 'd';
		/* and the child's kva works on its own */
		{
			vaddr_t n = uvm_km_zalloc(kernel_map, 8 * PAGE_SIZE);
			bad += n == 0;
			if (n != 0) {
				memset((void *)n, 1, 8 * PAGE_SIZE);
				uvm_km_free(kernel_map, n, 8 * PAGE_SIZE);
			}
		}
		t_child_exit(verdict[1], bad == 0);
	}
	ck_assert_int_eq(read(to_parent[0], &c, 1), 1);	/* child wrote */
	for (i = 0; i < sz; i += 509) {
		ck_assert_int_eq(((char *)w)[i], 'P');
		ck_assert_int_eq(((char *)p)[i], i < sz / 2 ? 'Q' : 0);
	}
	memset((void *)w, 'p', sz);
	memset((void *)p, 'q', sz);
	ck_assert_int_eq(write(to_child[1], "y", 1), 1);
	ck_assert(t_child_verdict(verdict[0], pid));
	for (i = 0; i < sz; i += 509)
		ck_assert(((char *)w)[i] == 'p' && ((char *)p)[i] == 'q');
	close(to_child[0]); close(to_child[1]);
	close(to_parent[0]); close(to_parent[1]);
	close(verdict[0]); close(verdict[1]);
	uvm_km_free(kernel_map, w, sz);
	uvm_km_free(kernel_map, p, sz);
}
END_TEST

/*
 * fork with more than a few MiB in use: the child's physical memory is
 * two memfds, each copied by one process (parent and child at once).  The
 * child has every byte; its count of host mappings still agrees with the
 * host; it frees, allocates zeroed memory and grows across the split; and
 * a grandchild forked from it has every byte too.
 */
static int
count_physmem_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char path[300], target[256];
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		ssize_t len;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		len = readlink(path, target, sizeof(target) - 1);
		if (len > 0) {
			target[len] = '\0';
			n += strstr(target, "kva-physmem") != NULL;
		}
	}
	closedir(d);
	return n;
}

static size_t
pattern_bad(vaddr_t va, size_t sz, uint64_t seed)
{
	size_t i, bad = 0;

	for (i = 0; i < sz; i += PAGE_SIZE) {
		const uint64_t *w = (const uint64_t *)(va + i);

		bad += w[0] != seed + i || w[PAGE_SIZE / 8 - 1] != ~(seed + i);
	}
	return bad;
}

static void
pattern_fill(vaddr_t va, size_t sz, uint64_t seed)
{
	size_t i;

	for (i = 0; i < sz; i += PAGE_SIZE) {
		uint64_t *w = (uint64_t *)(va + i);

		w[0] = seed + i;
		w[PAGE_SIZE / 8 - 1] = ~(seed + i);
	}
}

START_TEST(test_fork_split_memfds)
{
	size_t sz = (size_t)48 << 20, big = (size_t)64 << 20, i;
	unsigned long lo = vm_map_min(kernel_map), hi = vm_map_max(kernel_map);
	vaddr_t w = uvm_km_alloc1(kernel_map, sz, FALSE);
	long d0;
	int verdict[2];
	pid_t pid;

	ck_assert(w != 0);
	pattern_fill(w, sz, 0x1000);
	ck_assert_int_eq(count_physmem_fds(), 1);
	d0 = uvmexp.hostmaps - t_count_maps_in(lo, hi);
	ck_assert_int_eq(pipe(verdict), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int bad = 0, gv[2], mem;
		vaddr_t n;
		pid_t g;

		mem = count_physmem_fds();
		bad += mem != 2;
		bad += pattern_bad(w, sz, 0x1000) != 0;
		/* the direct map is two host mappings now: one more than
		 * the kernel VA shows, and no other difference */
		bad += labs(uvmexp.hostmaps - t_count_maps_in(lo, hi) -
		    (d0 + 1)) > (RUNNING_ON_VALGRIND ? 1 : 0);
		uvm_km_free(kernel_map, w, sz);
		n = uvm_km_zalloc(kernel_map, big);	/* across the split */
		bad += n == 0;
		if (n != 0) {
			for (i = 0; i < big; i += 997)
				bad += ((char *)n)[i] != 0;
			pattern_fill(n, big, 0x5000);
			kva_drain();
			bad += pipe(gv) != 0;
			g = fork();
			if (g == 0)
				t_child_exit(gv[1],
				    pattern_bad(n, big, 0x5000) == 0 &&
				    count_physmem_fds() == 2);
			bad += g < 0 || !t_child_verdict(gv[0], g);
			bad += pattern_bad(n, big, 0x5000) != 0;
			uvm_km_free(kernel_map, n, big);
		}
		if (bad != 0)
			fprintf(stderr, "fork_split_memfds child: %d bad (%d "
			    "physmem memfds)\n", bad, mem);
		t_child_exit(verdict[1], bad == 0);
	}
	ck_assert(t_child_verdict(verdict[0], pid));
	close(verdict[0]);
	close(verdict[1]);
	ck_assert_int_eq(pattern_bad(w, sz, 0x1000), 0);
	ck_assert_int_eq(count_physmem_fds(), 1);
	uvm_km_free(kernel_map, w, sz);
}
END_TEST

/* a multi-threaded parent forks while another thread allocates */
static volatile int churn_stop;

static void *
churn_thread(void *arg)
{
	unsigned seed = 7;
	long n = 0;

	(void)arg;
	while (!__atomic_load_n(&churn_stop, __ATOMIC_RELAXED)) {
		size_t np = 1 + (size_t)(rand_r(&seed) % 8);
		vaddr_t v = uvm_km_alloc1(kernel_map, ptoa(np), FALSE);

		if (v == 0)
			return (void *)-1L;
		memset((void *)v, (int)n, ptoa(np));
		if (((unsigned char *)v)[ptoa(np) - 1] != (unsigned char)n)
			return (void *)-2L;
		uvm_km_free(kernel_map, v, ptoa(np));
		n++;
	}
	return (void *)n;
}

START_TEST(test_fork_while_allocating)
{
	pthread_t th;
	void *rv;
	int k;

	churn_stop = 0;
	ck_assert_int_eq(pthread_create(&th, NULL, churn_thread, NULL), 0);
	for (k = 0; k < 10; k++) {
		vaddr_t v = uvm_km_zalloc(kernel_map, 4 * PAGE_SIZE);
		int verdict[2];
		pid_t pid;

		memset((void *)v, k + 1, 4 * PAGE_SIZE);
		ck_assert_int_eq(pipe(verdict), 0);
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			vaddr_t n = uvm_km_zalloc(kernel_map, 2 * PAGE_SIZE);
			int ok = n != 0 && ((char *)v)[100] == k + 1;

			if (n != 0)
				uvm_km_free(kernel_map, n, 2 * PAGE_SIZE);
			memset((void *)v, 0x55, 4 * PAGE_SIZE);
			t_child_exit(verdict[1], ok);
		}
		ck_assert(t_child_verdict(verdict[0], pid));
		close(verdict[0]);
		close(verdict[1]);
		ck_assert_int_eq(((char *)v)[100], k + 1);
		uvm_km_free(kernel_map, v, 4 * PAGE_SIZE);
	}
	churn_stop = 1;
	pthread_join(th, &rv);
	ck_assert_int_gt((long)rv, 0);
}
END_TEST

static Suite *
api_suite(void)
{
	Suite *s = suite_create("api");
	TCase *tc = tcase_create("api");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_alloc1_zeroed_writable);
	tcase_add_test(tc, test_access_after_free_faults);
	tcase_add_test(tc, test_two_thread_stress);
	tcase_add_test(tc, test_malformed_options);
	tcase_add_test(tc, test_fini_leaves_nothing);
	tcase_add_test(tc, test_fork_isolation);
	tcase_add_test(tc, test_fork_split_memfds);
	tcase_add_test(tc, test_fork_while_allocating);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return t_run_suite(api_suite());
}

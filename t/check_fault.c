/*
 * check_fault.c: the trap handler and uvm_fault: demand-filled pageable
 * kernel memory, diagnosis of faults kva does not own, kva_fault, the
 * modified bit, threads, submaps, and host mappings under random touch.
 */
#include "tcommon.h"
#include "kva_impl.h"
#include "pmap_posix/pmap_md.h"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>


static void
boot(size_t physmem, size_t kva)
{
	struct kva_config cfg = { .physmem = physmem, .kva = kva };

	t_install_handler();		/* the test's own, before kva_init */
	ck_assert_int_eq(kva_init(&cfg), 0);
}

static void setup(void) { boot((size_t)256 << 20, (size_t)1 << 30); }
static void teardown(void) { kva_fini(); }

/* valloc memory reads zero on first touch; free drops only by the pages
 * touched */
START_TEST(test_valloc_zero_fill)
{
	size_t npages = 256, i;
	vaddr_t va = uvm_km_valloc(kernel_map, ptoa(npages));
	int free0, touched = 0;

	ck_assert(va != 0);
	free0 = uvmexp.free;
	ck_assert(!pmap_extract(pmap_kernel(), va, NULL));
	/* sparse touches: every 37th page, reading */
	for (i = 0; i < npages; i += 37) {
		ck_assert_int_eq(((volatile char *)va)[ptoa(i) + 17], 0);
		touched++;
		ck_assert_int_eq(free0 - uvmexp.free, touched);
	}
	/* write to them: no new pages */
	for (i = 0; i < npages; i += 37)
		((volatile char *)va)[ptoa(i)] = 1;
	ck_assert_int_eq(free0 - uvmexp.free, touched);
	uvm_km_free(kernel_map, va, ptoa(npages));
	ck_assert_int_eq(uvmexp.free, free0);
}
END_TEST

/* a pattern, pgremove over part of it: those pages read zero again */
START_TEST(test_pgremove_pattern)
{
	size_t npages = 64, i, j;
	vaddr_t va = uvm_km_valloc(kernel_map, ptoa(npages));
	voff_t off = (voff_t)(va - vm_map_min(kernel_map));
	unsigned char *p = (unsigned char *)va;

	ck_assert(va != 0);
	for (i = 0; i < ptoa(npages); i++)
		p[i] = (unsigned char)(i * 7 + 1);
	uvm_km_pgremove(uvm.kernel_object, (vm_offset_t)off + ptoa(10),
	    (vm_offset_t)off + ptoa(20));
	for (i = 0; i < npages; i++)
		for (j = 0; j < PAGE_SIZE; j += 511) {
			size_t k = ptoa(i) + j;
			if (i >= 10 && i < 20)
				ck_assert_int_eq(p[k], 0);
			else
				ck_assert_int_eq(p[k], (unsigned char)(k * 7 + 1));
		}
	uvm_km_free(kernel_map, va, ptoa(npages));
}
END_TEST

/* read a file's contents into buf */
static size_t
slurp(int fd, char *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	return n > 0 ? (size_t)n : 0;
}

/* an access after uvm_km_free: diagnosed as freed, then reaches the
 * test's handler (installed before kva_init) */
START_TEST(test_use_after_free_diagnosed)
{
	char path[] = "/tmp/kva-fault-XXXXXX", buf[1024], want[64];
	int fd = mkstemp(path), saved, caught0 = t_faults_caught;
	vaddr_t va = uvm_km_valloc(kernel_map, ptoa(4));

	ck_assert_int_ge(fd, 0);
	unlink(path);
	((volatile char *)va)[0] = 1;
	uvm_km_free(kernel_map, va, ptoa(4));
	saved = dup(2);
	dup2(fd, 2);
	ck_assert_int_eq(t_probe((char *)va + ptoa(2) + 8, 1), 1);
	dup2(saved, 2);
	close(saved);
	slurp(fd, buf, sizeof(buf));
	close(fd);
	ck_assert_int_eq(t_faults_caught, caught0 + 1);
	snprintf(want, sizeof(want), "fault at %#lx (write)",
	    (unsigned long)(va + ptoa(2) + 8));
	ck_assert_msg(strstr(buf, want) != NULL, "report: %s", buf);
	ck_assert_msg(strstr(buf, "freed") != NULL, "report: %s", buf);
	ck_assert_msg(strstr(buf, "kernel_map") != NULL, "report: %s", buf);
}
END_TEST

/* a handler installed after kva_init hands faults to kva_fault */
static volatile int late_calls, late_resolved;

static void
late_handler(int sig, siginfo_t *si, void *ctx)
{
	(void)ctx;
	late_calls++;
	if (kva_fault(si->si_addr, 1)) {
		late_resolved++;
		return;
	}
	signal(sig, SIG_DFL);
}

START_TEST(test_late_handler_kva_fault)
{
	struct sigaction sa, old;
	vaddr_t va = uvm_km_valloc(kernel_map, ptoa(8));
	volatile char *p = (volatile char *)va;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = late_handler;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, &old);
	p[0] = 'a';
	p[ptoa(5)] = 'b';
	ck_assert_int_eq(p[0] + p[ptoa(5)], 'a' + 'b');
	ck_assert_int_ge(late_calls, 2);
	ck_assert_int_eq(late_calls, late_resolved);
	/* outside the kernel VA kva_fault says no */
	ck_assert_int_eq(kva_fault((void *)&sa, 0), 0);
	sigaction(SIGSEGV, &old, NULL);
	uvm_km_free(kernel_map, va, ptoa(8));
}
END_TEST

/* reads and writes are told apart: the modified bit */
START_TEST(test_modified_bit)
{
	vaddr_t va = uvm_km_valloc(kernel_map, ptoa(64));
	volatile char *p = (volatile char *)va;
	struct vm_page *a, *b;
	paddr_t pa;

	ck_assert_int_eq(p[0], 0);		/* read fault */
	p[ptoa(40)] = 3;			/* write fault */
	ck_assert(pmap_extract(pmap_kernel(), va, &pa));
	a = PHYS_TO_VM_PAGE(pa);
	ck_assert(pmap_extract(pmap_kernel(), va + ptoa(40), &pa));
	b = PHYS_TO_VM_PAGE(pa);
	ck_assert(pmap_is_referenced(a));
	ck_assert(!pmap_is_modified(a));
	ck_assert(pmap_is_modified(b));
	p[1] = 9;				/* write after read */
	ck_assert(pmap_is_modified(a));
	/* clear and see it set again by the next write only */
	ck_assert(pmap_clear_modify(b));
	ck_assert(!pmap_is_modified(b));
	pmap_update(pmap_kernel());
	ck_assert_int_eq(p[ptoa(40)], 3);
	ck_assert(!pmap_is_modified(b));
	p[ptoa(40)] = 4;
	ck_assert(pmap_is_modified(b));
	ck_assert(pmap_clear_reference(b));
	pmap_update(pmap_kernel());
	ck_assert(!pmap_is_referenced(b));
	ck_assert_int_eq(p[ptoa(40)], 4);
	ck_assert(pmap_is_referenced(b));
	uvm_km_free(kernel_map, va, ptoa(64));
}
END_TEST

/* two threads faulting on one page: mapped once, writes shared */
struct race {
	volatile char *p;
	pthread_barrier_t bar;
	int id;
};

static void *
race_thread(void *arg)
{
	struct race *r = arg;
	int id = __atomic_fetch_add(&r->id, 1, __ATOMIC_RELAXED);

	pthread_barrier_wait(&r->bar);
	r->p[id] = (char)('x' + id);
	pthread_barrier_wait(&r->bar);
	return (void *)(long)r->p[1 - id];
}

START_TEST(test_two_threads_one_page)
{
	int round;

	for (round = 0; round < 20; round++) {
		vaddr_t va = uvm_km_valloc(kernel_map, PAGE_SIZE);
		int free0 = uvmexp.free;
		struct race r = { .p = (volatile char *)va, .id = 0 };
		pthread_t th[2];
		void *rv[2];
		paddr_t pa;

		pthread_barrier_init(&r.bar, NULL, 2);
		pthread_create(&th[0], NULL, race_thread, &r);
		pthread_create(&th[1], NULL, race_thread, &r);
		pthread_join(th[0], &rv[0]);
		pthread_join(th[1], &rv[1]);
		pthread_barrier_destroy(&r.bar);
		ck_assert_int_eq(free0 - uvmexp.free, 1);	/* one page */
		ck_assert(pmap_extract(pmap_kernel(), va, &pa));
		ck_assert_ptr_eq(PHYS_TO_VM_PAGE(pa)->pv.next, NULL);
		ck_assert_int_eq((long)rv[0] + (long)rv[1], 'x' + 'y');
		uvm_km_free(kernel_map, va, PAGE_SIZE);
	}
}
END_TEST

/* a fault inside a submap is resolved through the submap */
START_TEST(test_fault_in_submap)
{
	vaddr_t min = 0, max, va;
	vm_map_t sub = uvm_km_suballoc(kernel_map, &min, &max, ptoa(64), TRUE,
	    FALSE, NULL);

	ck_assert_ptr_nonnull(sub);
	va = uvm_km_valloc(sub, ptoa(16));
	ck_assert(va >= min && va < max);
	((volatile char *)va)[ptoa(3)] = 42;
	ck_assert_int_eq(((volatile char *)va)[ptoa(3)], 42);
	ck_assert_int_eq(((volatile char *)va)[ptoa(4)], 0);
	uvm_km_free(sub, va, ptoa(16));
	ck_assert_int_eq(t_probe((char *)va + ptoa(3), 0), 1);
}
END_TEST

/* sequential first touch: few faults, few host mappings */
START_TEST(test_sequential_touch)
{
	size_t sz = (size_t)32 << 20, i;
	unsigned long lo = vm_map_min(kernel_map), hi = vm_map_max(kernel_map);
	long maps0 = t_count_maps_in(lo, hi), faults0 = uvmexp.faults;
	vaddr_t va = uvm_km_valloc(kernel_map, sz);

	for (i = 0; i < sz; i += PAGE_SIZE)
		((volatile char *)va)[i] = 1;
	ck_assert_int_le(uvmexp.faults - faults0, (long)(sz >> 21) * 3);
	ck_assert_int_le(t_count_maps_in(lo, hi) - maps0, (long)(sz >> 21) + 2);
	uvm_km_free(kernel_map, va, sz);
}
END_TEST

/* random-order touch: at most one host mapping per 2 MiB at the end (and
 * never over the limit on the way) */
START_TEST(test_random_touch_host_mappings)
{
	size_t sz = RUNNING_ON_VALGRIND ? (size_t)128 << 20 : (size_t)1 << 30;
	size_t np = sz / PAGE_SIZE, i;
	unsigned long lo = vm_map_min(kernel_map), hi = vm_map_max(kernel_map);
	long maps0 = t_count_maps_in(lo, hi), maps;
	vaddr_t va = uvm_km_valloc(kernel_map, sz);
	uint32_t *perm;
	unsigned seed = 12345;

	ck_assert(va != 0);
	perm = malloc(np * sizeof(*perm));
	for (i = 0; i < np; i++)
		perm[i] = (uint32_t)i;
	for (i = np - 1; i > 0; i--) {
		size_t j = (size_t)rand_r(&seed) % (i + 1);
		uint32_t t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
	for (i = 0; i < np; i++)
		((volatile uint32_t *)va)[(size_t)perm[i] * (PAGE_SIZE / 4)] =
		    perm[i];
	maps = t_count_maps_in(lo, hi) - maps0;
	ck_assert_msg(maps <= (long)(sz >> 21) + 2,
	    "%ld host mappings for %zu MiB", maps, sz >> 20);
	ck_assert_int_le(uvmexp.hostmaps_peak, uvmexp.hostmaps_limit);
	for (i = 0; i < np; i += 97)
		ck_assert_uint_eq(((volatile uint32_t *)va)[i * (PAGE_SIZE / 4)], i);
	free(perm);
	uvm_km_free(kernel_map, va, sz);
}
END_TEST

static void setup_big(void) { boot((size_t)2 << 30, (size_t)8 << 30); }

static Suite *
fault_suite(void)
{
	Suite *s = suite_create("fault");
	TCase *tc = tcase_create("fault"), *big = tcase_create("fault_big");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_valloc_zero_fill);
	tcase_add_test(tc, test_pgremove_pattern);
	tcase_add_test(tc, test_use_after_free_diagnosed);
	tcase_add_test(tc, test_late_handler_kva_fault);
	tcase_add_test(tc, test_modified_bit);
	tcase_add_test(tc, test_two_threads_one_page);
	tcase_add_test(tc, test_fault_in_submap);
	tcase_add_test(tc, test_sequential_touch);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(big, setup_big, teardown);
	tcase_set_timeout(big, 600);
	tcase_add_test(big, test_random_touch_host_mappings);
	suite_add_tcase(s, big);
	return s;
}

int
main(void)
{
	return t_run_suite(fault_suite());
}

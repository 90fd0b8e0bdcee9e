/*
 * vgprog.c: small programs that do one wrong thing with kva memory, for
 * t/valgrind_report.sh to run under memcheck and check its report.
 *
 *   vgprog uninit   branch on uvm_km_alloc memory never written
 *   vgprog uaf      read after uvm_km_free
 *   vgprog leak     a uvm_km_alloc1 block never freed (before kva_fini,
 *                   kernel_map still reaches it, as in a live kernel; after
 *                   kva_fini nothing does, and memcheck reports it lost)
 *   vgprog clean    everything right (the report must be clean)
 */
#include <kva.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void
on_segv(int sig)
{
	(void)sig;
	/* the access after free faulted, as it must: report and stop */
	_exit(3);
}

static vm_offset_t
alloc_block(size_t size, int zero)
{
	return uvm_km_alloc1(kernel_map, size, zero);
}

static void
free_block(vm_offset_t va, size_t size)
{
	uvm_km_free(kernel_map, va, size);
}

int
main(int argc, char **argv)
{
	struct kva_config cfg = { .physmem = (size_t)32 << 20,
	    .kva = (size_t)1 << 30 };
	const char *mode = argc > 1 ? argv[1] : "clean";
	volatile char *p;
	vm_offset_t va;
	int rv = 0;

	signal(SIGSEGV, on_segv);
	if (kva_init(&cfg) != 0)
		return 2;
	if (strcmp(mode, "uninit") == 0) {
		va = alloc_block(2 * PAGE_SIZE, FALSE);
		p = (volatile char *)va;
		if (p[100] == 42)	/* never written: uninitialised */
			puts("42");	/* a call keeps the branch a branch */
		free_block(va, 2 * PAGE_SIZE);
	} else if (strcmp(mode, "uaf") == 0) {
		va = alloc_block(PAGE_SIZE, TRUE);
		free_block(va, PAGE_SIZE);
		p = (volatile char *)va;
		rv = p[8];		/* after free */
	} else if (strcmp(mode, "leak") == 0) {
		va = alloc_block(3 * PAGE_SIZE, TRUE);
		memset((void *)va, 1, 3 * PAGE_SIZE);
		va = 0;			/* lost */
	} else {
		va = alloc_block(2 * PAGE_SIZE, TRUE);
		p = (volatile char *)va;
		p[0] = 1;
		rv = p[100];
		free_block(va, 2 * PAGE_SIZE);
	}
	kva_fini();
	return rv;
}

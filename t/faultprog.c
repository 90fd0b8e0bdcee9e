/*
 * faultprog.c: kva programs that fault on purpose, for t/fault_report.sh
 * to check the one-line report and, with KVA_OPTIONS debug=1, the stacks
 * that freed and allocated the memory.
 *
 *   faultprog km-uaf    uvm_km_alloc1 in faultprog_alloc_here, uvm_km_free
 *                       in faultprog_free_here, then a read of the block
 *   faultprog km-valid  uvm_km_valloc, touched: resolved, exits 0
 *   faultprog km-exit   uvm_km_valloc, touched, and exit without kva_fini
 *                       (stats=1 prints at exit; t/stats.sh)
 *   faultprog km-page   64 MiB of uvm_km_valloc written and read back;
 *                       run with KVA_OPTIONS physmem=16M it pages out
 *                       and in (t/probes.sh)
 *
 * Linked with -export-dynamic, so that backtrace_symbols names the
 * program's own functions.
 */
#include <kva.h>

#include <stdio.h>
#include <string.h>

vm_offset_t faultprog_alloc_here(size_t size);
void faultprog_free_here(vm_offset_t va, size_t size);

vm_offset_t __attribute__((noinline))
faultprog_alloc_here(size_t size)
{
	vm_offset_t va = uvm_km_alloc1(kernel_map, size, TRUE);

	__asm__ __volatile__("" ::: "memory");	/* no tail call */
	return va;
}

void __attribute__((noinline))
faultprog_free_here(vm_offset_t va, size_t size)
{
	uvm_km_free(kernel_map, va, size);
	__asm__ __volatile__("" ::: "memory");
}

int
main(int argc, char **argv)
{
	size_t size = 3 * PAGE_SIZE;
	vm_offset_t va;
	int error;

	if (argc != 2) {
		fprintf(stderr, "usage: faultprog km-uaf|km-valid|km-exit\n");
		return 2;
	}
	error = kva_init(NULL);
	if (error != 0) {
		fprintf(stderr, "faultprog: kva_init: %s\n", strerror(error));
		return 1;
	}
	if (strcmp(argv[1], "km-uaf") == 0) {
		va = faultprog_alloc_here(size);
		if (va == 0)
			return 1;
		((volatile char *)va)[0] = 1;
		faultprog_free_here(va, size);
		/* the read faults, is reported, and the default action ends us */
		return ((volatile char *)va)[PAGE_SIZE + 8];
	}
	if (strcmp(argv[1], "km-exit") == 0) {
		va = uvm_km_valloc(kernel_map, size);
		if (va == 0)
			return 1;
		((volatile char *)va)[0] = 1;
		((volatile char *)va)[2 * PAGE_SIZE] = 1;
		return 0;
	}
	if (strcmp(argv[1], "km-valid") == 0) {
		va = uvm_km_valloc(kernel_map, size);
		if (va == 0)
			return 1;
		((volatile char *)va)[PAGE_SIZE] = 1;
		uvm_km_free(kernel_map, va, size);
		kva_fini();
		return 0;
	}
	if (strcmp(argv[1], "km-page") == 0) {
		size_t len = (size_t)64 << 20, i;

		va = uvm_km_valloc(kernel_map, len);
		if (va == 0)
			return 1;
		for (i = 0; i < len; i += PAGE_SIZE)
			((volatile size_t *)(va + i))[0] = i;
		for (i = 0; i < len; i += PAGE_SIZE)
			if (((volatile size_t *)(va + i))[0] != i)
				return 1;
		uvm_km_free(kernel_map, va, len);
		kva_fini();
		return 0;
	}
	fprintf(stderr, "faultprog: unknown mode %s\n", argv[1]);
	return 2;
}

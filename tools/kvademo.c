/*
 * kvademo.c: boot kva, exercise uvm_km, and show the kernel_map and the
 * counters.  The quick start's main job.
 *
 * usage: kvademo        (KVA_OPTIONS applies, e.g. KVA_OPTIONS=physmem=64M)
 */
#include <kva.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NALLOC 8

static void
step(const char *what)
{
	printf("\n== %s: %d pages free, %d wired, %ld host mappings\n", what,
	    uvmexp.free, uvmexp.wired, uvmexp.hostmaps);
}

int
main(void)
{
	vm_offset_t a[NALLOC], pool[4], va, km;
	int error, i;
	size_t sz;

	error = kva_init(NULL);
	if (error != 0) {
		fprintf(stderr, "kvademo: kva_init: %s\n", strerror(error));
		return 1;
	}
	printf("kva is up: %d pages of %d bytes of physical memory, kernel VA "
	    "%#lx-%#lx\n", uvmexp.npages, uvmexp.pagesize,
	    (unsigned long)vm_map_min(kernel_map),
	    (unsigned long)vm_map_max(kernel_map));
	step("boot");

	/* wired, zeroed kernel memory of growing sizes */
	for (i = 0, sz = PAGE_SIZE; i < NALLOC; i++, sz *= 2) {
		a[i] = uvm_km_zalloc(kernel_map, sz);
		if (a[i] == 0) {
			fprintf(stderr, "kvademo: uvm_km_zalloc(%zu) failed\n", sz);
			return 1;
		}
		memset((void *)a[i], 0xa0 + i, sz);
	}
	step("after 8 uvm_km_zalloc of 1..128 pages");

	/* kmem_map, as kernel malloc would use it */
	km = uvm_km_kmemalloc(kmem_map, uvmexp.kmem_object, 16 * PAGE_SIZE,
	    UVM_KMF_NOWAIT);
	for (i = 0; i < 4; i++)
		pool[i] = uvm_km_alloc_poolpage();
	va = uvm_km_valloc(kernel_map, 1 << 20);
	step("after kmemalloc of 16 pages in kmem_map, 4 pool pages, 1 MiB valloc");

	printf("\n");
	kva_dump(1);
	fflush(stdout);

	for (i = 0, sz = PAGE_SIZE; i < NALLOC; i++, sz *= 2) {
		if (((unsigned char *)a[i])[sz - 1] != 0xa0 + i) {
			fprintf(stderr, "kvademo: contents of block %d lost\n", i);
			return 1;
		}
		uvm_km_free(kernel_map, a[i], sz);
	}
	uvm_km_free(kmem_map, km, 16 * PAGE_SIZE);
	for (i = 0; i < 4; i++)
		uvm_km_free_poolpage(pool[i]);
	uvm_km_free(kernel_map, va, 1 << 20);
	kva_drain();
	step("after freeing everything");
	printf("\n");
	kva_stats_print(1);
	kva_fini();
	return 0;
}

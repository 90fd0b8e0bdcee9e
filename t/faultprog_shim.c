/*
 * faultprog_shim.c: programs on the malloc shim that fault on purpose,
 * for t/fault_report.sh.
 *
 *   faultprog_shim guard   a write one page past the end of a large block:
 *                          "guard page of block B (size N)"
 *   faultprog_shim uaf     a large block freed in faultprog_shim_free_here,
 *                          then read: "freed block", and with debug=1
 *                          "freed at" naming that function
 *   faultprog_shim large   a large block allocated and freed: no fault
 *                          (for the probes' test, t/probes.sh)
 *   faultprog_shim stats   small and large blocks live, then mallinfo2()
 *                          and malloc_stats(); prints mallinfo2's figures
 *                          on stdout (t/stats.sh compares them)
 *
 * Linked with the shim (so malloc is kvamalloc) and -export-dynamic.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCK_SIZE	300000		/* large: above the 128 KiB classes */

void faultprog_shim_free_here(void *p);

void __attribute__((noinline))
faultprog_shim_free_here(void *p)
{
	free(p);
	__asm__ __volatile__("" ::: "memory");
}

int
main(int argc, char **argv)
{
	long ps = sysconf(_SC_PAGESIZE);
	volatile char *p;

	if (argc != 2) {
		fprintf(stderr, "usage: faultprog_shim guard|uaf|large|stats\n");
		return 2;
	}
	p = malloc(BLOCK_SIZE);
	if (p == NULL)
		return 1;
	memset((char *)p, 1, BLOCK_SIZE);
	printf("block %p size %d\n", (void *)p, BLOCK_SIZE);
	fflush(stdout);
	if (strcmp(argv[1], "guard") == 0) {
		size_t end = ((size_t)BLOCK_SIZE + (size_t)ps - 1) &
		    ~((size_t)ps - 1);

		p[end + 16] = 2;	/* the guard page after the block */
		return 0;
	}
	if (strcmp(argv[1], "stats") == 0) {
		struct mallinfo2 mi;
		void *keep[64];
		int i;

		for (i = 0; i < 64; i++)
			keep[i] = malloc((size_t)(i + 1) * 24);
		/* nothing allocates between the two */
		mi = mallinfo2();
		malloc_stats();
		printf("uordblks %zu hblkhd %zu hblks %zu arena %zu\n",
		    mi.uordblks, mi.hblkhd, mi.hblks, mi.arena);
		for (i = 0; i < 64; i++)
			free(keep[i]);
		return 0;	/* the large block stays: stats=1 shows it */
	}
	if (strcmp(argv[1], "large") == 0) {
		free((void *)p);
		return 0;
	}
	if (strcmp(argv[1], "uaf") == 0) {
		faultprog_shim_free_here((void *)p);
		return p[100];
	}
	fprintf(stderr, "faultprog_shim: unknown mode %s\n", argv[1]);
	return 2;
}

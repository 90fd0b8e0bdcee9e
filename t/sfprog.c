/*
 * sfprog.c: a kva program with known activity, for t/statsfile_tools.sh.
 *
 * It starts kva with every history on, allocates wired and pageable
 * kernel memory, touches the pageable pages (faults), logs a marker into
 * maphist with known values, publishes (kva_drain), prints
 * "pid PID faults N" on stdout, and then waits until its standard
 * input closes, so that kvastat and kvahist can look at it alive.
 * "sfprog fork" also forks after the activity; the child prints
 * "child PID" and waits on the same input.
 */
#include <kva.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "uvm_hist.h"

int
main(int argc, char **argv)
{
	struct kva_config cfg;
	vm_offset_t w, v;
	size_t i;
	pid_t child = -1;
	char c;
	UVMHIST_FUNC("sfprog_main");

	memset(&cfg, 0, sizeof(cfg));
	cfg.options = "physmem=64M,kva=4G,hist=all";
	if (kva_init(&cfg) != 0)
		return 1;
	w = uvm_km_alloc1(kernel_map, 24 * PAGE_SIZE, TRUE);
	v = uvm_km_valloc(kmem_map, 40 * PAGE_SIZE);
	if (w == 0 || v == 0)
		return 1;
	for (i = 0; i < 40; i += 4)
		((volatile char *)v)[i * PAGE_SIZE] = 1;
	UVMHIST_LOG(maphist, "sfprog marker %d %#lx", 4242, 0xbeefUL, 0, 0);
	kva_drain();
	if (argc > 1 && strcmp(argv[1], "fork") == 0) {
		fflush(stdout);
		child = fork();
		if (child == 0) {
			printf("child %ld\n", (long)getpid());
			fflush(stdout);
			while (read(0, &c, 1) > 0)
				;
			kva_fini();
			_exit(0);
		}
	}
	printf("pid %ld faults %ld\n", (long)getpid(), uvmexp.faults);
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	if (child > 0)
		waitpid(child, NULL, 0);
	uvm_km_free(kernel_map, w, 24 * PAGE_SIZE);
	uvm_km_free(kmem_map, v, 40 * PAGE_SIZE);
	kva_fini();
	return 0;
}

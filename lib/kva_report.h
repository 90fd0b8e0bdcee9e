/*
 * kva_report.h: what the fault report knows beyond the maps: stacks of
 * allocations and frees (debug >= 1), and descriptions of addresses that
 * a layer above kva owns (the malloc shim's guard pages).
 *
 * Both are read by the trap handler (pmap_posix/trap.c), in a signal
 * handler, so the writers keep to fixed storage and the readers to
 * async-signal-safe calls.  The implementation of the stacks is in
 * pmap_posix/stack.c, since backtrace() is a call into the host's C
 * library.
 */
#ifndef KVA_REPORT_H
#define KVA_REPORT_H

#include "kva_impl.h"

/*
 * Stacks.  kva_stack_note records the calling stack (at most
 * KVA_STACK_DEPTH frames, the note's own frame left out) for the range
 * [start, end) in a fixed ring; kva_stack_report prints, to fd, the most
 * recent free covering va and the allocation before it, symbolized, as
 * "freed at:" and "allocated at:" blocks.
 * => kva_stack_note: any context but a signal handler; no lock, no
 *    allocation (backtrace() was warmed up by kva_stack_init).
 * => kva_stack_report: async-signal-safe; prints nothing when it knows
 *    nothing of va.
 */
#define KVA_STACK_ALLOC	0
#define KVA_STACK_FREE	1
#define KVA_STACK_DEPTH	12

extern int kva_stack_on;		/* kva_debug >= 1 at kva_init */
void kva_stack_init(void);		/* warm backtrace(); set kva_stack_on */
void kva_stack_fini(void);		/* forget every record */
void kva_stack_note(int kind, vaddr_t start, vaddr_t end);
void kva_stack_report(int fd, vaddr_t va);

/* one line at each allocation or free site; costs a load when off */
#define KVA_STACK_NOTE(kind, start, end) do {				\
	if (KVA_UNLIKELY(kva_stack_on))					\
		kva_stack_note((kind), (vaddr_t)(start), (vaddr_t)(end)); \
} while (0)

/*
 * Descriptions from above.  A layer that owns VA kva only sees as
 * "reserved, nothing mapped" (the shim's guard pages and quarantined
 * blocks) registers a describe function; the trap handler calls it for
 * a fault it cannot resolve.  It fills d and returns 1 when va is one of
 * its own: d->what ("guard page of block", "freed block"), the block's
 * address and size.  It must be async-signal-safe and must not wait for
 * a lock (trylock at most).
 */
struct kva_fault_desc {
	const char *what;
	vaddr_t block;
	size_t size;
};
typedef int (*kva_fault_describe_fn)(vaddr_t va, struct kva_fault_desc *d);
void kva_fault_set_describe(kva_fault_describe_fn fn);

/*
 * Statistics from above.  kva_stats_print(fd) first calls the function
 * registered here (the malloc shim's per-size-class summary), then
 * prints kva's own figures (kva_init.c).
 */
void kva_stats_set_hook(void (*fn)(int fd));

#endif /* KVA_REPORT_H */

/*
 * stack.c: stacks of allocations and frees, for the fault report.
 *
 * 1. With KVA_OPTIONS debug=1 or more, uvm_km's allocations and frees and
 *    the shim's large blocks record where they were called from
 *    (KVA_STACK_NOTE, kva_report.h).  A record is a range, a kind (alloc
 *    or free), a sequence number and up to KVA_STACK_DEPTH return
 *    addresses from backtrace(3), in a fixed ring of STACK_RING records:
 *    nothing is allocated, no lock is taken.  Old records are overwritten;
 *    a report then says less, never something wrong about another block,
 *    since a record is only used when its range covers the address.
 *
 * 2. backtrace() loads libgcc's unwinder on its first call, which
 *    allocates; kva_stack_init calls it once at kva_init, so the calls
 *    made later in free paths (and under the malloc shim) do not.
 *
 * 3. A writer claims a slot with an atomic increment, marks it empty
 *    (seq 0), fills it, and publishes its sequence number with a release
 *    store.  The reader (the trap handler) takes a slot only when its
 *    sequence number is the same before and after copying it.  Two
 *    writers wrapping onto the same slot at once can only leave it empty
 *    or with one of them; both are acceptable for a diagnosis.
 *
 * 4. The report (kva_stack_report) runs in the signal handler: it uses
 *    write(2) and backtrace_symbols_fd(3), which formats with dladdr into
 *    stack buffers and does not allocate.
 */
#include "../kva_report.h"
#include "pmap_md.h"

#include <execinfo.h>
#include <unistd.h>

#define STACK_RING	2048		/* records, allocs and frees together */

struct stack_rec {
	uint64_t seq;			/* 0: empty or being written */
	vaddr_t start, end;
	int kind;
	int depth;
	void *pc[KVA_STACK_DEPTH];
};

int kva_stack_on;
static struct stack_rec stack_ring[STACK_RING];
static uint64_t stack_next;

void
kva_stack_init(void)
{
	void *pc[4];

	if (kva_debug < 1)
		return;
	(void)backtrace(pc, 4);		/* load the unwinder now */
	__atomic_store_n(&kva_stack_on, 1, __ATOMIC_RELEASE);
}

void
kva_stack_fini(void)
{
	__atomic_store_n(&kva_stack_on, 0, __ATOMIC_RELEASE);
	memset(stack_ring, 0, sizeof(stack_ring));
	stack_next = 0;
}

/*
 * kva_stack_note: record the caller's stack for [start, end).
 * => no lock, no allocation; not from a signal handler.
 */
void __attribute__((noinline))
kva_stack_note(int kind, vaddr_t start, vaddr_t end)
{
	void *pc[KVA_STACK_DEPTH + 1];
	uint64_t seq = __atomic_add_fetch(&stack_next, 1, __ATOMIC_RELAXED);
	struct stack_rec *r = &stack_ring[seq % STACK_RING];
	int n = backtrace(pc, KVA_STACK_DEPTH + 1);

	__atomic_store_n(&r->seq, 0, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	r->start = start;
	r->end = end;
	r->kind = kind;
	r->depth = n > 1 ? n - 1 : 0;		/* our own frame left out */
	if (r->depth > 0)
		memcpy(r->pc, pc + 1, (size_t)r->depth * sizeof(void *));
	__atomic_store_n(&r->seq, seq, __ATOMIC_RELEASE);
}

/* copy slot i if it is whole and covers va; 1 if so */
static int
stack_take(unsigned i, vaddr_t va, struct stack_rec *out)
{
	const struct stack_rec *r = &stack_ring[i];
	uint64_t seq = __atomic_load_n(&r->seq, __ATOMIC_ACQUIRE);

	if (seq == 0)
		return 0;
	memcpy(out, r, sizeof(*out));
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&r->seq, __ATOMIC_RELAXED) != seq ||
	    out->seq != seq)
		return 0;
	return va >= out->start && va < out->end && out->depth > 0 &&
	    out->depth <= KVA_STACK_DEPTH;
}

/* the newest record of kind covering va with a sequence below before */
static int
stack_find(vaddr_t va, int kind, uint64_t before, struct stack_rec *out)
{
	struct stack_rec cand;
	uint64_t best = 0;
	unsigned i;

	for (i = 0; i < STACK_RING; i++)
		if (stack_take(i, va, &cand) && cand.kind == kind &&
		    cand.seq < before && cand.seq > best) {
			best = cand.seq;
			*out = cand;
		}
	return best != 0;
}

static void
stack_print(int fd, const char *title, const struct stack_rec *r)
{
	(void)kva_host_write(fd, title, strlen(title));
	backtrace_symbols_fd(r->pc, r->depth, fd);
}

/*
 * kva_stack_report: "freed at" and "allocated at" for va: the newest free
 * covering va, if no allocation came after it (the VA may have been used
 * again), and the newest allocation before that.
 * => async-signal-safe.
 */
void
kva_stack_report(int fd, vaddr_t va)
{
	struct stack_rec fr, al;
	int has_free, has_alloc;

	if (!__atomic_load_n(&kva_stack_on, __ATOMIC_ACQUIRE))
		return;
	has_free = stack_find(va, KVA_STACK_FREE, UINT64_MAX, &fr);
	has_alloc = stack_find(va, KVA_STACK_ALLOC, UINT64_MAX, &al);
	if (has_free && (!has_alloc || al.seq < fr.seq))
		stack_print(fd, "kva: freed at:\n", &fr);
	if (has_alloc)
		stack_print(fd, "kva: allocated at:\n", &al);
}

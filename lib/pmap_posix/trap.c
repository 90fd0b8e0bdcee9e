/*
 * trap.c: the trap handler.  SIGSEGV (and SIGBUS) play the page fault.
 *
 * 1. kva_init installs trap_handler for SIGSEGV and SIGBUS with
 *    SA_SIGINFO | SA_ONSTACK | SA_NODEFER, remembering the handlers that
 *    were there before.  A fault inside the kernel VA goes to uvm_fault;
 *    when it resolves the fault the handler returns and the instruction
 *    runs again, so the program never sees it.
 *
 * 2. Reads and writes.  On x86-64 the page-fault error code in the
 *    ucontext (REG_ERR, bit 1) tells a write from a read; elsewhere a fault
 *    is taken as a write, which is never wrong, only pessimistic for the
 *    modified bit.
 *
 * 3. What kva does not resolve (an address outside the kernel VA, a freed
 *    range, a protection violation) goes to the handler installed before
 *    kva_init; if there was none, the default action is restored, so that
 *    the fault kills the process as it would have without kva.  A fault
 *    inside the kernel VA that kva cannot resolve is always reported in
 *    one line first ("kva: fault at ADDR (read|write) in MAP: freed | no
 *    entry | read-only"); one outside it only when nobody handles it.  A program whose own handler is installed
 *    after kva_init hands faults over with kva_fault().
 *
 * 4. Safety.  The handler never calls malloc, and writes only with
 *    write(2).  It runs on the thread's alternate stack when the thread has
 *    one.  A fault taken while this thread holds a VM lock cannot be
 *    resolved without deadlock: it panics with a message instead
 *    (kva_locks_held counts the locks each thread holds, kern_synch.c).
 *
 * 5. Recently freed ranges are remembered in a small ring so that the
 *    diagnosis can say "freed" rather than "no entry".
 *
 * 6. What kva sees as "reserved, nothing mapped" may mean more to a layer
 *    above: the malloc shim registers a describe function
 *    (kva_fault_set_describe, kva_report.h) that names the guard page of
 *    a large block, or a freed large block, with its address and size.
 *    With debug=1 or more, the report goes on with the stacks that freed
 *    and allocated the memory ("freed at:", "allocated at:", stack.c).
 *    The report is built with the helpers below (no stdio, no malloc)
 *    and written with write(2).
 */
#include "pmap_md.h"
#include "host.h"
#include "../kva_report.h"
#include "../kva_sdt.h"

#include <signal.h>
#include <ucontext.h>

#define FREED_RING 256

static struct sigaction trap_old_segv, trap_old_bus;
static int trap_installed;

static struct {
	vaddr_t start, end;
	const struct vm_map *map;
} freed_ring[FREED_RING];
static unsigned freed_next;
static kva_fault_describe_fn trap_describe;

/* kva_fault_set_describe: the layer above names addresses it owns */
void
kva_fault_set_describe(kva_fault_describe_fn fn)
{
	__atomic_store_n(&trap_describe, fn, __ATOMIC_RELEASE);
}

/*
 * A line of the report, built without stdio: strings, hexadecimal and
 * decimal numbers appended to a fixed buffer, written with write(2).
 */
struct rline {
	char buf[256];
	size_t n;
};

static void
rl_str(struct rline *l, const char *s)
{
	while (*s != '\0' && l->n < sizeof(l->buf) - 1)
		l->buf[l->n++] = *s++;
}

static void
rl_num(struct rline *l, unsigned long v, unsigned base)
{
	char tmp[24];
	int i = 0;

	if (base == 16)
		rl_str(l, "0x");
	do {
		tmp[i++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v != 0);
	while (i > 0 && l->n < sizeof(l->buf) - 1)
		l->buf[l->n++] = tmp[--i];
}

/* rl_oom_sizes: " (physmem N MiB, W MiB wired; swap U of T MiB in use)",
 * as uvm_pdaemon_oom_message says it, without printf */
static void
rl_oom_sizes(struct rline *l)
{
	size_t used, total;

	uvm_swap_sizes(&used, &total);
	rl_str(l, " (physmem ");
	rl_num(l, ((unsigned long)uvmexp.npages << PAGE_SHIFT) >> 20, 10);
	rl_str(l, " MiB, ");
	rl_num(l, ((unsigned long)uvmexp.wired << PAGE_SHIFT) >> 20, 10);
	rl_str(l, " MiB wired; swap ");
	rl_num(l, used, 10);
	rl_str(l, " of ");
	rl_num(l, total, 10);
	rl_str(l, total == 0 ? " MiB in use, swap off)" : " MiB in use)");
}

static void
rl_flush(struct rline *l, int fd)
{
	l->buf[l->n++] = '\n';
	(void)kva_host_write(fd, l->buf, l->n);
	l->n = 0;
}

/* remember that [start, end) of map was freed (uvm_unmap) */
void
trap_note_freed(const struct vm_map *map, vaddr_t start, vaddr_t end)
{
	unsigned i = __atomic_fetch_add(&freed_next, 1, __ATOMIC_RELAXED) %
	    FREED_RING;

	freed_ring[i].start = start;
	freed_ring[i].end = end;
	freed_ring[i].map = map;
}

/* forget [start, end): it has been allocated again */
static int
was_freed(vaddr_t va, const struct vm_map **mapp)
{
	unsigned i;

	for (i = 0; i < FREED_RING; i++)
		if (va >= freed_ring[i].start && va < freed_ring[i].end) {
			*mapp = freed_ring[i].map;
			return 1;
		}
	return 0;
}

static int
fault_is_write(const siginfo_t *si, const void *ctx)
{
	(void)si;
#if defined(__x86_64__) && defined(REG_ERR)
	const ucontext_t *uc = ctx;
	return (uc->uc_mcontext.gregs[REG_ERR] & 2) != 0;
#else
	(void)ctx;
	return 1;
#endif
}

/*
 * trap_diagnose: one line about a fault kva did not resolve.
 * => never blocks: maps are only looked at if their lock is free.
 */
static void
trap_diagnose(vaddr_t va, int is_write, int sig)
{
	const char *what = "no entry", *mapname = "kernel_map";
	const struct vm_map *fmap = NULL;
	struct vm_map *map = kernel_map;
	struct vm_map_entry *entry;
	int oom = 0;
	kva_fault_describe_fn describe;
	struct kva_fault_desc d = { NULL, 0, 0 };
	struct rline l = { .n = 0 };
	vaddr_t stackva = va;
	int found = 0;

	if (map == NULL || va < vm_map_min(map) || va >= vm_map_max(map)) {
		rl_str(&l, "kva: fault at ");
		rl_num(&l, va, 16);
		rl_str(&l, is_write ? " (write): outside the kernel VA, signal " :
		    " (read): outside the kernel VA, signal ");
		rl_num(&l, (unsigned long)sig, 10);
		rl_flush(&l, 2);
		return;
	}
	/* descend into submaps without waiting for any lock */
	while (map != NULL && vm_map_lock_try(map)) {
		struct vm_map *sub = NULL;

		found = uvm_map_lookup_entry(map, va, &entry);
		mapname = map->name != NULL ? map->name : "submap";
		if (found && UVM_ET_ISSUBMAP(entry))
			sub = entry->object.sub_map;
		else if (found && (entry->protection & VM_PROT_WRITE) == 0 &&
		    is_write)
			what = "read-only";
		else if (found && (entry->protection & VM_PROT_READ) == 0)
			what = "no access";
		else if (found && (!UVM_ET_ISOBJ(entry) ||
		    entry->object.uvm_obj == NULL))
			what = "reserved, nothing mapped";
		else if (found && uvm_pdaemon_exhausted()) {
			what = "out of memory and swap";
			oom = 1;
		} else if (found)
			what = "mapped, but the pager could not fill it";
		vm_map_unlock(map);
		if (sub == NULL)
			break;
		map = sub;
	}
	/* a freed range, also where its VA is still held (quarantine) */
	if ((!found || strcmp(what, "reserved, nothing mapped") == 0) &&
	    was_freed(va, &fmap)) {
		what = "freed";
		if (fmap != NULL && fmap->name != NULL)
			mapname = fmap->name;
	}
	/* the layer above may know more (section 6) */
	describe = __atomic_load_n(&trap_describe, __ATOMIC_ACQUIRE);
	if (describe != NULL && strcmp(what, "read-only") != 0 &&
	    describe(va, &d)) {
		what = d.what;
		stackva = d.block;
	}
	rl_str(&l, "kva: fault at ");
	rl_num(&l, va, 16);
	rl_str(&l, is_write ? " (write) in " : " (read) in ");
	rl_str(&l, mapname);
	rl_str(&l, ": ");
	rl_str(&l, what);
	if (oom)
		rl_oom_sizes(&l);
	if (d.what != NULL) {
		rl_str(&l, " ");
		rl_num(&l, d.block, 16);
		rl_str(&l, " (size ");
		rl_num(&l, d.size, 10);
		rl_str(&l, ")");
	}
	rl_flush(&l, 2);
	kva_stack_report(2, stackva);
}

/*
 * kva_fault: resolve a fault at addr if it is kva's to resolve.
 * => 1 when resolved (the access may be retried), 0 otherwise.
 */
int
kva_fault(void *addr, int is_write)
{
	vaddr_t va = (vaddr_t)addr;
	int rv;

	if (!kva_initialized() || kernel_map == NULL ||
	    va < vm_map_min(kernel_map) || va >= vm_map_max(kernel_map))
		return 0;
	if (KVA_UNLIKELY(kva_locks_held() != 0))
		panic("fault at %#lx (%s) while this thread holds %d VM "
		    "lock(s)", (unsigned long)va, is_write ? "write" : "read",
		    kva_locks_held());
	rv = uvm_fault(kernel_map, trunc_page(va), VM_FAULT_INVALID,
	    is_write ? VM_PROT_WRITE : VM_PROT_READ);
	KVA_PROBE_FAULT_DONE(va, rv);
	return rv == KERN_SUCCESS;
}

static void
trap_forward(int sig, siginfo_t *si, void *ctx, const struct sigaction *old,
    int in_kva)
{
	int is_write = fault_is_write(si, ctx);

	/* a fault kva owns but cannot resolve is always reported once */
	if (in_kva)
		trap_diagnose((vaddr_t)si->si_addr, is_write, sig);
	if (old->sa_flags & SA_SIGINFO) {
		if (old->sa_sigaction != NULL) {
			old->sa_sigaction(sig, si, ctx);
			return;
		}
	} else if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
		old->sa_handler(sig);
		return;
	}
	/* default action: let the access fault again, unhandled */
	if (!in_kva)
		trap_diagnose((vaddr_t)si->si_addr, is_write, sig);
	signal(sig, SIG_DFL);
}

static void
trap_handler(int sig, siginfo_t *si, void *ctx)
{
	int saved = errno;
	int is_write = fault_is_write(si, ctx);
	vaddr_t va = (vaddr_t)si->si_addr;
	int in_kva = kernel_map != NULL && va >= vm_map_min(kernel_map) &&
	    va < vm_map_max(kernel_map);

	if (si->si_code > 0 && kva_fault(si->si_addr, is_write)) {
		errno = saved;
		return;
	}
	trap_forward(sig, si, ctx, sig == SIGBUS ? &trap_old_bus :
	    &trap_old_segv, in_kva);
	errno = saved;
}

int
trap_install(void)
{
	struct sigaction sa;

	if (trap_installed)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = trap_handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, &trap_old_segv) != 0)
		return -errno;
	if (sigaction(SIGBUS, &sa, &trap_old_bus) != 0) {
		int error = -errno;
		sigaction(SIGSEGV, &trap_old_segv, NULL);
		return error;
	}
	kva_stack_init();
	trap_installed = 1;
	return 0;
}

/* trap_uninstall: put back the handlers kva found, unless the program
 * replaced ours in the meantime (then it owns the signal now). */
void
trap_uninstall(void)
{
	struct sigaction cur;

	if (!trap_installed)
		return;
	if (sigaction(SIGSEGV, NULL, &cur) == 0 &&
	    (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == trap_handler)
		sigaction(SIGSEGV, &trap_old_segv, NULL);
	if (sigaction(SIGBUS, NULL, &cur) == 0 &&
	    (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == trap_handler)
		sigaction(SIGBUS, &trap_old_bus, NULL);
	trap_installed = 0;
	memset(freed_ring, 0, sizeof(freed_ring));
	kva_stack_fini();
}

/*
 * kva.h: the public interface of kva, NetBSD's UVM kernel memory system
 * running inside an ordinary Linux process.
 *
 * kva reserves a large PROT_NONE region of the process as kernel virtual
 * address space, uses a memfd as physical memory, and implements pmap(9)
 * with mmap(MAP_SHARED|MAP_FIXED) of that memfd and mprotect.  On top of
 * the pmap stand the machine-independent layers of UVM (pages, maps,
 * objects, pagers) and the uvm_km interface of NetBSD's uvm_km.c r1.13,
 * with its names and argument orders.
 *
 * Everything below uvm_km is public as well, because ported kernel code
 * calls it.  See kva(3) and uvm_km(9).
 *
 * Conventions:
 *  - functions that can fail return 0/NULL or a KERN_* / errno value;
 *  - panic() is only for broken invariants and prints every argument;
 *  - "=>" lines in the sources give each function's locking contract.
 */
#ifndef KVA_H
#define KVA_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <pthread.h>
#include <sys/queue.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Basic types (API.md).
 */
typedef uintptr_t vm_offset_t;
typedef uintptr_t vaddr_t;
typedef uintptr_t paddr_t;
typedef size_t    vm_size_t;
typedef size_t    vsize_t;
typedef size_t    psize_t;
typedef int64_t   voff_t;		/* offset within a uvm_object */
typedef int       boolean_t;
typedef int       vm_prot_t;
typedef int       vm_inherit_t;
typedef unsigned  uvm_flag_t;
typedef int       vm_fault_t;

#ifndef TRUE
#define TRUE  1
#define FALSE 0
#endif

#define VM_PROT_NONE    0x0
#define VM_PROT_READ    0x1
#define VM_PROT_WRITE   0x2
#define VM_PROT_EXECUTE 0x4
#define VM_PROT_DEFAULT (VM_PROT_READ | VM_PROT_WRITE)
#define VM_PROT_ALL     (VM_PROT_READ | VM_PROT_WRITE | VM_PROT_EXECUTE)

#define UVM_PROT_MASK   0x07
#define UVM_PROT_NONE   0x00
#define UVM_PROT_R      0x01
#define UVM_PROT_W      0x02
#define UVM_PROT_RW     0x03
#define UVM_PROT_X      0x04
#define UVM_PROT_RX     0x05
#define UVM_PROT_WX     0x06
#define UVM_PROT_RWX    0x07
#define UVM_PROT_ALL    UVM_PROT_RWX

/*
 * Page size.  PAGE_SIZE is the host's page size, read once at kva_init
 * (as NetBSD does on machines whose page size varies).  Before kva_init
 * the values are those of the host (sysconf), so the macros always work.
 */
struct uvmexp;
extern struct uvmexp uvmexp;
#define PAGE_SIZE   ((vsize_t)uvmexp.pagesize)
#define PAGE_MASK   ((vsize_t)uvmexp.pagemask)
#define PAGE_SHIFT  (uvmexp.pageshift)
#define round_page(x) (((vaddr_t)(x) + PAGE_MASK) & ~(vaddr_t)PAGE_MASK)
#define trunc_page(x) ((vaddr_t)(x) & ~(vaddr_t)PAGE_MASK)
#define atop(x)     ((vaddr_t)(x) >> PAGE_SHIFT)
#define ptoa(x)     ((vaddr_t)(x) << PAGE_SHIFT)

/*
 * Results of uvm_map and friends.
 */
#define KERN_SUCCESS           0
#define KERN_INVALID_ADDRESS   1
#define KERN_PROTECTION_FAILURE 2
#define KERN_NO_SPACE          3
#define KERN_INVALID_ARGUMENT  4
#define KERN_FAILURE           5
#define KERN_RESOURCE_SHORTAGE 6
#define KERN_NOT_RECEIVER      7
#define KERN_NO_ACCESS         8
#define KERN_PAGES_LOCKED      9

/*
 * uvm_map flags: UVM_MAPFLAG(prot, maxprot, inh, advice, flags).
 */
#define UVM_INH_MASK     0x30
#define UVM_INH_SHARE    0x00
#define UVM_INH_COPY     0x10
#define UVM_INH_NONE     0x20
#define UVM_INH_DONATE   0x30

#define UVM_ADV_NORMAL     0x0
#define UVM_ADV_RANDOM     0x1
#define UVM_ADV_SEQUENTIAL 0x2
#define UVM_ADV_MASK       0x7

#define UVM_FLAG_FIXED    0x010000	/* place exactly at *startp */
#define UVM_FLAG_OVERLAY  0x020000
#define UVM_FLAG_NOMERGE  0x040000	/* never merge with a neighbour */
#define UVM_FLAG_COPYONW  0x080000
#define UVM_FLAG_AMAPPAD  0x100000
#define UVM_FLAG_TRYLOCK  0x200000	/* fail rather than wait for the lock */
#define UVM_FLAG_MASK     0x3f0000

#define UVM_MAPFLAG(prot, maxprot, inh, advice, flags) \
	((uvm_flag_t)(((maxprot) << 8) | (prot) | (inh) | ((advice) << 12) | (flags)))
#define UVM_PROTECTION(x)   ((x) & UVM_PROT_MASK)
#define UVM_MAXPROTECTION(x) (((x) >> 8) & UVM_PROT_MASK)
#define UVM_INHERIT(x)      ((x) & UVM_INH_MASK)
#define UVM_ADVICE(x)       (((x) >> 12) & UVM_ADV_MASK)

#define UVM_UNKNOWN_OFFSET  ((voff_t)-1)

/* uvm_km_kmemalloc flags (the seed's) */
#define UVM_KMF_NOWAIT   0x1	/* fail instead of sleeping for memory */
#define UVM_KMF_VALLOC   0x2	/* allocate VA only */
#define UVM_KMF_TRYLOCK  UVM_FLAG_TRYLOCK /* fail if the map is locked */

/* uvm_pagealloc flags */
#define UVM_PGA_USERESERVE 0x0001	/* may dip into the reserve */
#define UVM_PGA_ZERO       0x0002	/* return a zero-filled page */
#define UVM_PGA_RESERV     0x0004	/* from the 2 MiB reservation of the
					 * object's chunk (uvm_page.c, 8) */

/* fault types for uvm_fault */
#define VM_FAULT_INVALID 0	/* invalid mapping */
#define VM_FAULT_PROTECT 1	/* protection */
#define VM_FAULT_WIRE    2	/* wire mapping */

/* pager return values */
#define VM_PAGER_OK      0
#define VM_PAGER_BAD     1
#define VM_PAGER_FAIL    2
#define VM_PAGER_PEND    3
#define VM_PAGER_ERROR   4
#define VM_PAGER_AGAIN   5
#define VM_PAGER_UNLOCK  6

/* pager get flags */
#define PGO_LOCKED     0x0040	/* fault data structures are locked */
#define PGO_ALLPAGES   0x0010	/* all pages, not only the centre one */
#define PGO_DONTCARE   ((struct vm_page *)-1L)

/*
 * Lock legend for the structures below:
 *  (C) constant after creation     (O) the object's vmobjlock
 *  (Q) the page queue lock         (M) the map's lock
 *  (P) the pmap lock               (F) the free page lock
 */

struct uvm_object;
struct vm_map;
struct pmap;
struct vm_anon;

/*
 * A physical page.  PHYS_TO_VM_PAGE and VM_PAGE_TO_PHYS are O(1).
 */
struct vm_page {
	TAILQ_ENTRY(vm_page) pageq;	/* (Q/F) paging or free queue */
	TAILQ_ENTRY(vm_page) listq;	/* (O) the object's memq */
	struct vm_page *hnext;		/* (O) hash chain (object, offset) */
	struct uvm_object *uobject;	/* (O) owner, or NULL */
	voff_t offset;			/* (O) offset in uobject; on the head
					 * of a free block, (F) the tick (ms)
					 * at which it was freed (uvm_page.c) */
	paddr_t phys_addr;		/* (C) offset in physical memory */
	uint16_t flags;			/* (O) PG_* */
	uint16_t pqflags;		/* (Q) PQ_* */
	uint16_t wire_count;		/* (Q) */
	uint8_t  buddy_order;		/* (F) order of a free block's head */
	uint8_t  mdflags;		/* (P) pmap's referenced/modified bits */
	struct {
		vaddr_t va;		/* (P) first mapping of this page, or 0 */
		struct pv_entry *next;	/* (P) further mappings */
	} pv;
	const char *owner_tag;		/* (O) who made it busy (debug) */
};
typedef struct vm_page *vm_page_t;

/* page flags, PG_* (object lock) */
#define PG_BUSY     0x0001	/* page is locked by its owner */
#define PG_WANTED   0x0002	/* someone sleeps on the page */
#define PG_TABLED   0x0004	/* page is in an object's hash table */
#define PG_CLEAN    0x0008	/* page has not been modified */
#define PG_CLEANCHK 0x0010
#define PG_RELEASED 0x0020	/* free it when it is no longer busy */
#define PG_FAKE     0x0040	/* contents not valid yet */
#define PG_RDONLY   0x0080
#define PG_ZERO     0x0100	/* page is known to be zero-filled */
#define PG_POOL     0x0200	/* pool page, used through the direct map */
#define PG_KMBLOCK  0x0400	/* first page of a uvm_km block known to valgrind */
#define PG_DECOMMIT 0x0800	/* free page given back to the host (punched):
				 * reads zero, holds no memory */

/* page queue flags, PQ_* (queue / free lock) */
#define PQ_FREE     0x0001
#define PQ_INACTIVE 0x0002
#define PQ_ACTIVE   0x0004
#define PQ_SWAPBACKED 0x0008

/*
 * Objects and pagers.
 */
struct uvm_pagerops {
	void (*pgo_init)(void);
	void (*pgo_reference)(struct uvm_object *);
	void (*pgo_detach)(struct uvm_object *);
	int  (*pgo_get)(struct uvm_object *, voff_t, struct vm_page **,
	    int *, int, vm_prot_t, int, int);
	int  (*pgo_put)(struct uvm_object *, struct vm_page **, int, int);
	void (*pgo_releasepg)(struct vm_page *);
	const char *pgo_name;
};

struct uvm_object {
	pthread_mutex_t vmobjlock;		/* the object's lock */
	const struct uvm_pagerops *pgops;	/* (C) pager */
	TAILQ_HEAD(, vm_page) memq;		/* (O) resident pages */
	int uo_npages;				/* (O) how many */
	int uo_refs;				/* (O) references */
};
#define UVM_OBJ_KERN (-2)	/* kernel objects never die */

/* uao_create flags */
#define UAO_FLAG_KERNOBJ  0x1	/* create the kernel object */
#define UAO_FLAG_KERNSWAP 0x2

struct uvm_object *uao_create(vsize_t size, int flags);
void uao_reference(struct uvm_object *uobj);
void uao_detach(struct uvm_object *uobj);

/*
 * Maps.  A map's entries live in a balanced tree annotated with the
 * largest free gap of each subtree, so finding space is O(log n).
 */
struct vm_map_entry {
	struct vm_map_entry *rb_left, *rb_right, *rb_parent; /* (M) tree */
	int rb_red;					/* (M) */
	struct vm_map_entry *prev, *next;	/* (M) sorted list, header ends */
	vaddr_t start, end;			/* (M) [start, end) */
	vsize_t gap;				/* (M) free space after this entry */
	vsize_t maxgap;				/* (M) largest gap in the subtree */
	union {
		struct uvm_object *uvm_obj;	/* (M) object, if any */
		struct vm_map *sub_map;		/* (M) submap, if any */
	} object;
	voff_t offset;				/* (M) offset into the object */
	int etype;				/* (M) UVM_ET_* */
	vm_prot_t protection;			/* (M) */
	vm_prot_t max_protection;		/* (M) */
	vm_inherit_t inheritance;		/* (M) */
	int advice;				/* (M) */
	int wired_count;			/* (M) */
	int flags;				/* (M) UVM_MAP_* */
};
typedef struct vm_map_entry *vm_map_entry_t;

#define UVM_ET_OBJ      0x01
#define UVM_ET_SUBMAP   0x02
#define UVM_ET_ISOBJ(e)    (((e)->etype & UVM_ET_OBJ) != 0)
#define UVM_ET_ISSUBMAP(e) (((e)->etype & UVM_ET_SUBMAP) != 0)

#define UVM_MAP_NOMERGE 0x01	/* entry flag: never merge */
#define UVM_MAP_WIRED   0x02	/* entry's pages are wired */

struct vm_map {
	struct pmap *pmap;			/* (C) */
	pthread_mutex_t lock;			/* vm_map_lock */
	struct vm_map_entry header;		/* (M) list head, [min, max) */
	struct vm_map_entry *root;		/* (M) tree root */
	int nentries;				/* (M) */
	vsize_t size;				/* (M) bytes allocated */
	int ref_count;				/* atomic */
	int flags;				/* (M) VM_MAP_* */
	unsigned timestamp;			/* (M) version, bumped on change */
	const char *name;			/* (C) for diagnostics */
};
typedef struct vm_map *vm_map_t;

#define VM_MAP_PAGEABLE 0x01	/* entries may be pageable */
#define VM_MAP_INTRSAFE 0x02
#define VM_MAP_WANTVA   0x04	/* someone waits for VA (valloc_wait) */
#define VM_MAP_DYNAMIC  0x08	/* allocated by uvm_map_create */

#define vm_map_min(map)  ((map)->header.start)
#define vm_map_max(map)  ((map)->header.end)
#define vm_map_pmap(map) ((map)->pmap)

struct vm_map *uvm_map_create(struct pmap *pmap, vaddr_t min, vaddr_t max,
    boolean_t pageable);
void uvm_map_setup(struct vm_map *map, vaddr_t min, vaddr_t max,
    boolean_t pageable);
int  uvm_map(struct vm_map *map, vaddr_t *startp, vsize_t size,
    struct uvm_object *uobj, voff_t uoffset, uvm_flag_t flags);
void uvm_unmap(struct vm_map *map, vaddr_t start, vaddr_t end);
int  uvm_map_submap(struct vm_map *map, vaddr_t start, vaddr_t end,
    struct vm_map *submap);
/* => map locked by the caller */
boolean_t uvm_map_lookup_entry(struct vm_map *map, vaddr_t addr,
    struct vm_map_entry **entry);
void uvm_map_reference(struct vm_map *map);
void uvm_map_deallocate(struct vm_map *map);
/* visit each entry of map in address order; stop when fn returns non-zero */
int  uvm_map_foreach(struct vm_map *map,
    int (*fn)(const struct vm_map_entry *, void *), void *arg);
/* check the tree's invariants (order, balance, gaps); 0 when sound */
int  uvm_map_check(struct vm_map *map, char *why, size_t whylen);

void vm_map_lock(struct vm_map *map);
boolean_t vm_map_lock_try(struct vm_map *map);
void vm_map_unlock(struct vm_map *map);

/*
 * Pages.
 */
struct vm_page *uvm_pagealloc(struct uvm_object *obj, voff_t off,
    struct vm_anon *anon, int flags);
void uvm_pagefree(struct vm_page *pg);
struct vm_page *uvm_pagelookup(struct uvm_object *obj, voff_t off);
void uvm_pagezero(struct vm_page *pg);
void uvm_page_unbusy(struct vm_page **pgs, int npgs);
void uvm_wait(const char *wmsg);

struct vm_page *kva_phys_to_vm_page(paddr_t pa);
#define PHYS_TO_VM_PAGE(pa) kva_phys_to_vm_page(pa)
#define VM_PAGE_TO_PHYS(pg) ((pg)->phys_addr)

/*
 * Sleep and wakeup, on any address.  timo is in ticks of 1/hz seconds;
 * 0 means forever.  tsleep returns 0 when woken, EWOULDBLOCK on timeout.
 * ltsleep drops interlock atomically with going to sleep and takes it
 * again before returning (unless PNORELOCK is in pri).
 */
#define hz 1000
#define PVM      4
#define PNORELOCK 0x100
int  tsleep(const void *chan, int pri, const char *wmesg, int timo);
int  ltsleep(const void *chan, int pri, const char *wmesg, int timo,
    pthread_mutex_t *interlock);
void wakeup(const void *chan);
void wakeup_one(const void *chan);

/*
 * Faults.
 */
int uvm_fault(struct vm_map *map, vaddr_t vaddr, vm_fault_t fault_type,
    vm_prot_t access_type);

/*
 * pmap(9).
 */
typedef struct pmap *pmap_t;

#define PMAP_WIRED     0x00000010	/* wired mapping */
#define PMAP_CANFAIL   0x00000020	/* may fail with ENOMEM */
#define PMAP_NOCACHE   0x00000100	/* ignored here */
#define PMAP_PROT_MASK 0x0000000f	/* access type, as in NetBSD */

pmap_t pmap_kernel(void);
int    pmap_enter(pmap_t pmap, vaddr_t va, paddr_t pa, vm_prot_t prot,
    unsigned flags);
void   pmap_kenter_pa(vaddr_t va, paddr_t pa, vm_prot_t prot, unsigned flags);
void   pmap_kremove(vaddr_t va, vsize_t size);
void   pmap_remove(pmap_t pmap, vaddr_t sva, vaddr_t eva);
void   pmap_protect(pmap_t pmap, vaddr_t sva, vaddr_t eva, vm_prot_t prot);
void   pmap_page_protect(struct vm_page *pg, vm_prot_t prot);
bool   pmap_extract(pmap_t pmap, vaddr_t va, paddr_t *pap);
bool   pmap_is_modified(struct vm_page *pg);
bool   pmap_is_referenced(struct vm_page *pg);
bool   pmap_clear_modify(struct vm_page *pg);
bool   pmap_clear_reference(struct vm_page *pg);
void   pmap_zero_page(paddr_t pa);
void   pmap_copy_page(paddr_t src, paddr_t dst);
void   pmap_update(pmap_t pmap);
void   pmap_reference(pmap_t pmap);
void   pmap_destroy(pmap_t pmap);
void   pmap_unwire(pmap_t pmap, vaddr_t va);
vaddr_t pmap_map_poolpage(paddr_t pa);
paddr_t pmap_unmap_poolpage(vaddr_t va);
#define PMAP_MAP_POOLPAGE(pa)   pmap_map_poolpage(pa)
#define PMAP_UNMAP_POOLPAGE(va) pmap_unmap_poolpage(va)

/*
 * Counters.  Exact when the system is quiescent (after kva_drain).
 */
struct uvmexp {
	int pagesize;		/* bytes per page */
	int pagemask;		/* pagesize - 1 */
	int pageshift;		/* log2(pagesize) */
	int npages;		/* pages of physical memory (the physmem cap) */
	int free;		/* free pages */
	int active;		/* pages on the active queue */
	int inactive;		/* pages on the inactive queue */
	int paging;		/* pages in transit to or from swap */
	int wired;		/* wired pages */
	int zeropages;		/* free pages known to be zero */
	int reserve_pagedaemon;	/* pages kept for the page daemon */
	int freemin;		/* page daemon wakes below this */
	int freetarg;		/* and frees until this */
	int swpages;		/* pages of swap */
	int swpginuse;		/* of which in use */
	long faults;		/* faults handled */
	long pageins;		/* pager reads */
	long pgswapin;		/* pages swapped in */
	long pgswapout;		/* pages swapped out */
	long pdwoke;		/* page daemon wakeups */
	long pdfreed;		/* pages freed by the daemon */
	long pdscans;		/* pages scanned by the daemon */
	long pdpageouts;	/* pageouts started by the daemon */
	long pga_zerohit;	/* zeroed allocations served by known-zero pages */
	long pga_zeromiss;	/* zeroed allocations that had to zero */
	long hostcalls;		/* host system calls made by the pmap */
	long hostcall_ns;	/* nanoseconds spent in them */
	long hostmaps;		/* host mappings (VMAs) the pmap holds now */
	long hostmaps_peak;	/* the most it has held */
	long hostmaps_limit;	/* the most it may hold */
	long decommitted;	/* bytes given back to the host (punched) */
	long pdzeroed;		/* free pages zeroed ahead in the background */
	long pdzpasses;		/* passes of the background zeroer */
	struct uvm_object *kmem_object;	/* for kmem_map */
	struct uvm_object *mb_object;	/* for mbuf memory */
};

struct uvm {
	struct uvm_object *kernel_object;	/* pageable kernel memory */
};
extern struct uvm uvm;

extern struct vm_map *kernel_map;	/* all kernel VA */
extern struct vm_map *kmem_map;		/* submap for malloc and pools */

/*
 * uvm_km: the seed's interface, with its argument orders.
 */
void           uvm_km_init(vm_offset_t start, vm_offset_t end);
struct vm_map *uvm_km_suballoc(struct vm_map *map, vm_offset_t *min,
    vm_offset_t *max, vm_size_t size, boolean_t pageable, boolean_t fixed,
    struct vm_map *submap);
void           uvm_km_pgremove(struct uvm_object *uobj, vm_offset_t start,
    vm_offset_t end);
vm_offset_t    uvm_km_kmemalloc(vm_map_t map, struct uvm_object *obj,
    vm_size_t size, int flags);
void           uvm_km_free(vm_map_t map, vm_offset_t addr, vm_size_t size);
void           uvm_km_free_wakeup(vm_map_t map, vm_offset_t addr,
    vm_size_t size);
vm_offset_t    uvm_km_alloc1(vm_map_t map, vm_size_t size, boolean_t zeroit);
vm_offset_t    uvm_km_valloc(vm_map_t map, vm_size_t size);
vm_offset_t    uvm_km_valloc_wait(vm_map_t map, vm_size_t size);
vm_offset_t    uvm_km_alloc_poolpage1(vm_map_t map, struct uvm_object *obj);
void           uvm_km_free_poolpage1(vm_map_t map, vm_offset_t addr);

#define uvm_km_zalloc(map, size)   uvm_km_alloc1(map, size, TRUE)
#define uvm_km_alloc(map, size)    uvm_km_alloc1(map, size, FALSE)
#define uvm_km_alloc_poolpage()    uvm_km_alloc_poolpage1(kmem_map, uvmexp.kmem_object)
#define uvm_km_free_poolpage(addr) uvm_km_free_poolpage1(kmem_map, (addr))

/*
 * Lifecycle and what is ours.
 */
struct kva_config {
	size_t physmem;		/* cap on physical memory; 0 = host RAM,
				 * at most half the kernel VA */
	size_t kva;		/* kernel VA size; 0 = 64G (16G under valgrind) */
	size_t kmem;		/* kmem_map size; 0 = half the kernel VA */
	const char *swap;	/* swap file path, "none", or NULL = temporary */
	size_t swapsize;	/* 0 = default */
	long max_vmas;		/* host mappings the pmap may hold; 0 = auto */
	int stats;		/* print statistics at exit */
	int debug;		/* 0..3, invariant-checking level */
	const char *hist;	/* UVMHIST histories to record */
	const char *options;	/* a KVA_OPTIONS string, parsed first; the
				 * environment is read only by kva_init(NULL) */
};

int  kva_init(const struct kva_config *cfg);
void kva_fini(void);
int  kva_initialized(void);
void kva_drain(void);
/* Hand a fault to kva from a handler installed after kva_init; 1 if
 * kva resolved it. */
int  kva_fault(void *addr, int is_write);
/* Print the kernel_map layout and counters to fd. */
void kva_dump(int fd);
/* Print the statistics summary to fd. */
void kva_stats_print(int fd);

/* Panic: print the message, every argument, and abort.  Only for broken
 * invariants. */
void panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

#ifdef __cplusplus
}
#endif

#endif /* KVA_H */

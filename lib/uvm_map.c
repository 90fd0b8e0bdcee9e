/*
 * uvm_map.c: address maps: who owns which range of virtual address space.
 *
 * Theory of operation
 *
 * 1. A map covers [vm_map_min, vm_map_max).  Each mapping is a
 *    vm_map_entry [start, end), page aligned, never overlapping another.
 *    The entries are kept twice: in a sorted doubly linked list through
 *    prev/next whose sentinel is map->header (header.start and header.end
 *    hold the map's bounds, which is what vm_map_min/vm_map_max read), and
 *    in a red-black tree keyed by start (rb_left/rb_right/rb_parent/
 *    rb_red, map->root).  The list gives neighbours in O(1), the tree
 *    gives lookup in O(log n).  The header is never in the tree.
 *
 * 2. Free space is described by the entries themselves.  Each entry owns
 *    the gap between its end and the start of the next entry (or the map's
 *    end, for the last one): entry->gap.  The header owns the gap between
 *    vm_map_min and the first entry (or the whole map, when it is empty):
 *    header.gap.  Every tree node also carries maxgap, the largest gap in
 *    its subtree.  So the largest free range of the map is
 *    max(header.gap, root->maxgap), read in O(1) (uvm_map_maxfree).
 *
 * 3. Finding space (uvm_map_findspace) is first fit above a hint: the
 *    lowest address >= hint where size bytes are free, else the lowest
 *    address in the whole map.  The search starts at the entry at or
 *    before the hint and climbs the tree, descending only into subtrees
 *    whose maxgap is big enough, as modern NetBSD does: O(log n).
 *
 * 4. Every change of the tree's shape keeps maxgap exact: a node's gap
 *    changes only in uvm_map_gap_update, which recomputes maxgap up to the
 *    root; a rotation moves the subtree's maxgap to the new top and
 *    recomputes the old top from its children.  Inserting, removing,
 *    clipping or extending an entry changes at most two gaps (its own and
 *    its predecessor's), so each costs O(log n).
 *
 * 5. uvm_map merges a new mapping into its neighbours (the entry before
 *    it, the entry after it, or both) when they are compatible: same
 *    object at contiguous offsets, same protections, inheritance and
 *    advice, neither wired nor NOMERGE, no submap.  Kernel memory comes
 *    mostly in ascending, kernel_object-backed pieces, so kernel_map stays
 *    a few entries long.  Unmapping part of an entry clips it in two.
 *
 * 6. Unmapping has two phases, as in NetBSD: uvm_unmap_remove runs with
 *    the map locked, removes the pmap's mappings, frees the pages of
 *    kernel objects at once (uvm_km_pgremove), and moves the entries to a
 *    dead list; uvm_unmap_detach, after the map is unlocked, drops the
 *    object and submap references and frees the entries.  Dropping a
 *    reference may take other locks, which is why it waits.
 *
 * 7. Submaps: uvm_km_suballoc maps a NOMERGE, object-less range in the
 *    parent, and uvm_map_submap turns that entry into a UVM_ET_SUBMAP
 *    entry that holds a reference to the submap.  The parent never gives
 *    out space inside it, since the entry stays until it is unmapped.
 *
 * 8. Memory: entries and maps made by uvm_map_create come from kva_pools
 *    (never from malloc, which stands on kva).  A clip that cannot get an
 *    entry is a broken invariant (the bootstrap region is too small) and
 *    panics; uvm_map itself fails with KERN_RESOURCE_SHORTAGE.
 *
 * 9. Debugging: with kva_debug >= 3 every change is followed by
 *    uvm_map_check, which walks the whole map and panics with its
 *    message if anything is wrong; with kva_debug >= 2 uvm_unmap_remove
 *    checks that its caller holds the map lock.
 *
 * Locking (kva_impl.h ranks them):
 *   (M) map->lock, vm_map_lock: the list, the tree, gaps, nentries, size,
 *       timestamp and every entry field.
 *   map->ref_count is changed with atomic operations, so taking or
 *       dropping a reference never nests two map locks.
 *   Called with a map locked: pmap_remove/pmap_update (pmap lock),
 *       uvm_km_pgremove (object lock), kva_pool_get/put (pool lock), all
 *       ranked after the map lock.
 */
#include "kva_impl.h"
#include "uvm_hist.h"
#include <stdio.h>

static struct kva_pool uvm_map_entry_pool;	/* struct vm_map_entry */
static struct kva_pool uvm_map_pool;		/* struct vm_map (DYNAMIC) */

static void uvm_map_debug_check(struct vm_map *map, const char *where);

/*
 * Entries and their references.
 */

/* uvm_map_entry_alloc: a zeroed entry, or NULL if the pool is empty. */
static struct vm_map_entry *
uvm_map_entry_alloc(void)
{
	return kva_pool_get(&uvm_map_entry_pool);
}

static void
uvm_map_entry_free(struct vm_map_entry *entry)
{
	kva_pool_put(&uvm_map_entry_pool, entry);
}

/* the entry's object, if it has a non-kernel one (kernel objects are
 * immortal and take no references) */
static struct uvm_object *
uvm_map_entry_refobj(const struct vm_map_entry *entry)
{
	struct uvm_object *uobj;

	if (!UVM_ET_ISOBJ(entry))
		return NULL;
	uobj = entry->object.uvm_obj;
	if (uobj == NULL || uvm_object_is_kernel(uobj))
		return NULL;
	return uobj;
}

/* uvm_map_entry_reference: take one more reference on what entry maps
 * (a clip makes two entries out of one). */
static void
uvm_map_entry_reference(const struct vm_map_entry *entry)
{
	struct uvm_object *uobj;

	if (UVM_ET_ISSUBMAP(entry)) {
		uvm_map_reference(entry->object.sub_map);
	} else if ((uobj = uvm_map_entry_refobj(entry)) != NULL) {
		if (uobj->pgops != NULL && uobj->pgops->pgo_reference != NULL)
			uobj->pgops->pgo_reference(uobj);
	}
}

/* uvm_map_obj_detach: drop one reference to a non-kernel object. */
static void
uvm_map_obj_detach(struct uvm_object *uobj)
{
	if (uobj == NULL || uvm_object_is_kernel(uobj))
		return;
	if (uobj->pgops != NULL && uobj->pgops->pgo_detach != NULL)
		uobj->pgops->pgo_detach(uobj);
}

/*
 * Gaps.
 */

/* where the free space owned by entry starts and ends */
static inline vaddr_t
uvm_map_free_start(const struct vm_map *map, const struct vm_map_entry *entry)
{
	return entry == &map->header ? map->header.start : entry->end;
}

static inline vaddr_t
uvm_map_free_end(const struct vm_map *map, const struct vm_map_entry *entry)
{
	return entry->next == &map->header ? map->header.end :
	    entry->next->start;
}

static inline vsize_t
uvm_map_gap_of(const struct vm_map *map, const struct vm_map_entry *entry)
{
	return uvm_map_free_end(map, entry) - uvm_map_free_start(map, entry);
}

/* uvm_rb_fixup: recompute one node's maxgap from its gap and children */
static inline void
uvm_rb_fixup(struct vm_map_entry *entry)
{
	vsize_t m = entry->gap;

	if (entry->rb_left != NULL && entry->rb_left->maxgap > m)
		m = entry->rb_left->maxgap;
	if (entry->rb_right != NULL && entry->rb_right->maxgap > m)
		m = entry->rb_right->maxgap;
	entry->maxgap = m;
}

/* uvm_rb_fixup_up: recompute maxgap from entry up to the root */
static void
uvm_rb_fixup_up(struct vm_map_entry *entry)
{
	for (; entry != NULL; entry = entry->rb_parent)
		uvm_rb_fixup(entry);
}

/*
 * uvm_map_gap_update: recompute entry's gap from its list neighbours.
 * => map locked; entry is the header or is in the tree.
 */
static void
uvm_map_gap_update(struct vm_map *map, struct vm_map_entry *entry)
{
	entry->gap = uvm_map_gap_of(map, entry);
	if (entry == &map->header)
		entry->maxgap = entry->gap;
	else
		uvm_rb_fixup_up(entry);
}

/*
 * The red-black tree.  Leaves are NULL and black; the root is black; a
 * red node has black children; every path from a node to its leaves
 * crosses the same number of black nodes.
 */

/* uvm_rb_replace: make new take old's place under old's parent */
static inline void
uvm_rb_replace(struct vm_map *map, struct vm_map_entry *old,
    struct vm_map_entry *new)
{
	struct vm_map_entry *parent = old->rb_parent;

	if (parent == NULL)
		map->root = new;
	else if (parent->rb_left == old)
		parent->rb_left = new;
	else
		parent->rb_right = new;
	if (new != NULL)
		new->rb_parent = parent;
}

/* uvm_rb_rotate_left: x's right child y becomes the subtree's top */
static void
uvm_rb_rotate_left(struct vm_map *map, struct vm_map_entry *x)
{
	struct vm_map_entry *y = x->rb_right;

	x->rb_right = y->rb_left;
	if (y->rb_left != NULL)
		y->rb_left->rb_parent = x;
	uvm_rb_replace(map, x, y);
	y->rb_left = x;
	x->rb_parent = y;
	y->maxgap = x->maxgap;		/* same set of nodes below */
	uvm_rb_fixup(x);
}

/* uvm_rb_rotate_right: x's left child y becomes the subtree's top */
static void
uvm_rb_rotate_right(struct vm_map *map, struct vm_map_entry *x)
{
	struct vm_map_entry *y = x->rb_left;

	x->rb_left = y->rb_right;
	if (y->rb_right != NULL)
		y->rb_right->rb_parent = x;
	uvm_rb_replace(map, x, y);
	y->rb_right = x;
	x->rb_parent = y;
	y->maxgap = x->maxgap;
	uvm_rb_fixup(x);
}

static inline int
uvm_rb_isred(const struct vm_map_entry *entry)
{
	return entry != NULL && entry->rb_red;
}

/*
 * uvm_rb_insert: put entry into the tree as a red leaf and rebalance.
 * => entry->gap is set; every maxgap in the tree is exact.
 */
static void
uvm_rb_insert(struct vm_map *map, struct vm_map_entry *entry)
{
	struct vm_map_entry *parent = NULL, **link = &map->root;
	struct vm_map_entry *p, *g, *u;

	while (*link != NULL) {
		parent = *link;
		link = entry->start < parent->start ? &parent->rb_left :
		    &parent->rb_right;
	}
	entry->rb_left = entry->rb_right = NULL;
	entry->rb_parent = parent;
	entry->rb_red = 1;
	*link = entry;
	uvm_rb_fixup_up(entry);

	/* rebalance: only colours and rotations from here on */
	while ((p = entry->rb_parent) != NULL && p->rb_red) {
		g = p->rb_parent;	/* exists: a red node is not the root */
		if (p == g->rb_left) {
			u = g->rb_right;
			if (uvm_rb_isred(u)) {
				p->rb_red = u->rb_red = 0;
				g->rb_red = 1;
				entry = g;
				continue;
			}
			if (entry == p->rb_right) {
				uvm_rb_rotate_left(map, p);
				entry = p;
				p = entry->rb_parent;
			}
			p->rb_red = 0;
			g->rb_red = 1;
			uvm_rb_rotate_right(map, g);
		} else {
			u = g->rb_left;
			if (uvm_rb_isred(u)) {
				p->rb_red = u->rb_red = 0;
				g->rb_red = 1;
				entry = g;
				continue;
			}
			if (entry == p->rb_left) {
				uvm_rb_rotate_right(map, p);
				entry = p;
				p = entry->rb_parent;
			}
			p->rb_red = 0;
			g->rb_red = 1;
			uvm_rb_rotate_left(map, g);
		}
	}
	map->root->rb_red = 0;
}

/*
 * uvm_rb_remove_fixup: restore the black height after a black node was
 * taken out above x (x may be NULL, a leaf; xp is its parent).
 */
static void
uvm_rb_remove_fixup(struct vm_map *map, struct vm_map_entry *x,
    struct vm_map_entry *xp)
{
	struct vm_map_entry *w;

	while (x != map->root && !uvm_rb_isred(x)) {
		if (x == xp->rb_left) {
			w = xp->rb_right;
			if (w->rb_red) {
				w->rb_red = 0;
				xp->rb_red = 1;
				uvm_rb_rotate_left(map, xp);
				w = xp->rb_right;
			}
			if (!uvm_rb_isred(w->rb_left) &&
			    !uvm_rb_isred(w->rb_right)) {
				w->rb_red = 1;
				x = xp;
				xp = x->rb_parent;
				continue;
			}
			if (!uvm_rb_isred(w->rb_right)) {
				w->rb_left->rb_red = 0;
				w->rb_red = 1;
				uvm_rb_rotate_right(map, w);
				w = xp->rb_right;
			}
			w->rb_red = xp->rb_red;
			xp->rb_red = 0;
			w->rb_right->rb_red = 0;
			uvm_rb_rotate_left(map, xp);
		} else {
			w = xp->rb_left;
			if (w->rb_red) {
				w->rb_red = 0;
				xp->rb_red = 1;
				uvm_rb_rotate_right(map, xp);
				w = xp->rb_left;
			}
			if (!uvm_rb_isred(w->rb_left) &&
			    !uvm_rb_isred(w->rb_right)) {
				w->rb_red = 1;
				x = xp;
				xp = x->rb_parent;
				continue;
			}
			if (!uvm_rb_isred(w->rb_left)) {
				w->rb_right->rb_red = 0;
				w->rb_red = 1;
				uvm_rb_rotate_left(map, w);
				w = xp->rb_left;
			}
			w->rb_red = xp->rb_red;
			xp->rb_red = 0;
			w->rb_left->rb_red = 0;
			uvm_rb_rotate_right(map, xp);
		}
		x = map->root;
	}
	if (x != NULL)
		x->rb_red = 0;
}

/*
 * uvm_rb_remove: take entry out of the tree and rebalance.  Entries are
 * pointed at from outside, so a node with two children is replaced by
 * relinking its successor, never by copying.
 * => every maxgap is exact before and after (entry's gap no longer
 *    counts).
 */
static void
uvm_rb_remove(struct vm_map *map, struct vm_map_entry *entry)
{
	struct vm_map_entry *x, *xp, *y;
	int removed_red;

	if (entry->rb_left == NULL || entry->rb_right == NULL) {
		x = entry->rb_left != NULL ? entry->rb_left : entry->rb_right;
		xp = entry->rb_parent;
		removed_red = entry->rb_red;
		uvm_rb_replace(map, entry, x);
	} else {
		/* y, the successor, has no left child; it takes entry's place */
		for (y = entry->rb_right; y->rb_left != NULL; y = y->rb_left)
			continue;
		removed_red = y->rb_red;
		x = y->rb_right;
		if (y->rb_parent == entry) {
			xp = y;
		} else {
			xp = y->rb_parent;
			uvm_rb_replace(map, y, x);
			y->rb_right = entry->rb_right;
			y->rb_right->rb_parent = y;
		}
		uvm_rb_replace(map, entry, y);
		y->rb_left = entry->rb_left;
		y->rb_left->rb_parent = y;
		y->rb_red = entry->rb_red;
	}
	/* every node whose subtree lost entry lies on the path from xp up */
	uvm_rb_fixup_up(xp);
	if (!removed_red)
		uvm_rb_remove_fixup(map, x, xp);
	entry->rb_left = entry->rb_right = entry->rb_parent = NULL;
}

/*
 * Linking entries into the map (list, tree and gaps together).
 */

/*
 * uvm_map_entry_link: insert entry after prev (the header, or an entry).
 * => map locked; [entry->start, entry->end) lies in prev's gap.
 * => entry->offset, object and attributes are set; size is not counted.
 */
static void
uvm_map_entry_link(struct vm_map *map, struct vm_map_entry *prev,
    struct vm_map_entry *entry)
{
	entry->prev = prev;
	entry->next = prev->next;
	prev->next->prev = entry;
	prev->next = entry;
	entry->gap = uvm_map_gap_of(map, entry);
	uvm_rb_insert(map, entry);
	uvm_map_gap_update(map, prev);
	map->nentries++;
}

/*
 * uvm_map_entry_unlink: take entry out of the map; its space joins the
 * gap of the entry before it.
 * => map locked; size is not counted.
 */
static void
uvm_map_entry_unlink(struct vm_map *map, struct vm_map_entry *entry)
{
	struct vm_map_entry *prev = entry->prev;

	uvm_rb_remove(map, entry);
	prev->next = entry->next;
	entry->next->prev = prev;
	entry->prev = entry->next = NULL;
	uvm_map_gap_update(map, prev);
	map->nentries--;
}

/* uvm_map_entry_clone: a copy of entry, out of the tree and list */
static struct vm_map_entry *
uvm_map_entry_clone(const struct vm_map_entry *entry, const char *who,
    vaddr_t addr)
{
	struct vm_map_entry *new = uvm_map_entry_alloc();

	if (new == NULL)
		panic("%s(%#lx-%#lx, %#lx): no map entry to clip with", who,
		    (unsigned long)entry->start, (unsigned long)entry->end,
		    (unsigned long)addr);
	*new = *entry;
	new->rb_left = new->rb_right = new->rb_parent = NULL;
	new->prev = new->next = NULL;
	uvm_map_entry_reference(new);
	return new;
}

/*
 * uvm_map_clip_start: split entry so that it starts at addr; the part
 * before addr becomes a new entry.
 * => map locked; entry->start < addr < entry->end, addr page aligned.
 * => panics if no entry can be had.
 */
static void
uvm_map_clip_start(struct vm_map *map, struct vm_map_entry *entry,
    vaddr_t addr)
{
	struct vm_map_entry *new;

	KASSERT(entry->start < addr && addr < entry->end);
	new = uvm_map_entry_clone(entry, "uvm_map_clip_start", addr);
	new->end = addr;
	entry->offset += (voff_t)(addr - entry->start);
	entry->start = addr;		/* still between its neighbours */
	uvm_map_entry_link(map, entry->prev, new);
}

/*
 * uvm_map_clip_end: split entry so that it ends at addr; the part from
 * addr on becomes a new entry.
 * => map locked; entry->start < addr < entry->end, addr page aligned.
 */
static void
uvm_map_clip_end(struct vm_map *map, struct vm_map_entry *entry,
    vaddr_t addr)
{
	struct vm_map_entry *new;

	KASSERT(entry->start < addr && addr < entry->end);
	new = uvm_map_entry_clone(entry, "uvm_map_clip_end", addr);
	new->start = addr;
	new->offset += (voff_t)(addr - entry->start);
	entry->end = addr;
	uvm_map_entry_link(map, entry, new);
}

/*
 * Lookup and free space.
 */

/*
 * uvm_map_lookup_entry: find the entry that contains addr.
 * => map locked by the caller.
 * => TRUE and *entry = the entry holding addr; or FALSE and *entry = the
 *    last entry before addr, or &map->header if there is none.  O(log n).
 */
boolean_t
uvm_map_lookup_entry(struct vm_map *map, vaddr_t addr,
    struct vm_map_entry **entry)
{
	struct vm_map_entry *cur = map->root, *best = &map->header;

	while (cur != NULL) {
		if (addr < cur->start) {
			cur = cur->rb_left;
		} else {
			best = cur;
			if (addr < cur->end)
				break;
			cur = cur->rb_right;
		}
	}
	*entry = best;
	return best != &map->header && addr < best->end;
}

/* uvm_rb_leftmost_fit: the lowest entry of subtree whose gap >= size.
 * => subtree->maxgap >= size */
static struct vm_map_entry *
uvm_rb_leftmost_fit(struct vm_map_entry *subtree, vsize_t size)
{
	struct vm_map_entry *cur = subtree;

	for (;;) {
		if (cur->rb_left != NULL && cur->rb_left->maxgap >= size)
			cur = cur->rb_left;
		else if (cur->gap >= size)
			return cur;
		else
			cur = cur->rb_right;
	}
}

/*
 * uvm_rb_next_fit: the first entry after entry, in address order, whose
 * gap holds size bytes; NULL if none.  entry may be the header (then the
 * whole tree is searched).  O(log n): climb until a subtree to the right
 * has room, then descend into it.
 */
static struct vm_map_entry *
uvm_rb_next_fit(struct vm_map *map, struct vm_map_entry *entry, vsize_t size)
{
	struct vm_map_entry *p;

	if (entry == &map->header)
		return map->root != NULL && map->root->maxgap >= size ?
		    uvm_rb_leftmost_fit(map->root, size) : NULL;
	if (entry->rb_right != NULL && entry->rb_right->maxgap >= size)
		return uvm_rb_leftmost_fit(entry->rb_right, size);
	for (; (p = entry->rb_parent) != NULL; entry = p) {
		if (entry != p->rb_left)
			continue;
		if (p->gap >= size)
			return p;
		if (p->rb_right != NULL && p->rb_right->maxgap >= size)
			return uvm_rb_leftmost_fit(p->rb_right, size);
	}
	return NULL;
}

/*
 * uvm_map_findspace: first fit for size bytes at or above hint, else the
 * lowest fit in the map.
 * => map locked; size page aligned and non-zero.
 * => TRUE and *startp set, or FALSE if no gap is large enough.
 */
static boolean_t
uvm_map_findspace(struct vm_map *map, vaddr_t hint, vsize_t size,
    vaddr_t *startp)
{
	struct vm_map_entry *entry, *fit;

	if (size > vm_map_max(map) - vm_map_min(map) ||
	    size > uvm_map_maxfree(map))
		return FALSE;
	if (hint < vm_map_min(map))
		hint = vm_map_min(map);
	if (hint > vm_map_max(map))
		hint = vm_map_max(map);

	if (uvm_map_lookup_entry(map, hint, &entry)) {
		/* hint is mapped: the first gap from this entry on */
		fit = entry->gap >= size ? entry :
		    uvm_rb_next_fit(map, entry, size);
	} else {
		/* hint is free: is there room right there? */
		if (uvm_map_free_end(map, entry) - hint >= size) {
			*startp = hint;
			return TRUE;
		}
		fit = uvm_rb_next_fit(map, entry, size);
	}
	if (fit == NULL) {
		/* nothing above the hint: the lowest fit of all */
		if (map->header.gap >= size) {
			*startp = vm_map_min(map);
			return TRUE;
		}
		fit = uvm_rb_next_fit(map, &map->header, size);
	}
	KASSERT(fit != NULL);		/* maxfree said there was room */
	*startp = fit->end;
	return TRUE;
}

/* uvm_map_maxfree: the largest free gap of map (locked), O(1) */
vsize_t
uvm_map_maxfree(struct vm_map *map)
{
	vsize_t m = map->header.gap;

	if (map->root != NULL && map->root->maxgap > m)
		m = map->root->maxgap;
	return m;
}

/*
 * Creating mappings.
 */

/* what a new mapping will look like, for the merge test */
struct uvm_map_args {
	vaddr_t start, end;
	struct uvm_object *uobj;
	voff_t offset;
	vm_prot_t prot, maxprot;
	vm_inherit_t inh;
	int advice;
	int eflags;			/* UVM_MAP_* */
};

/* uvm_map_mergeable: may entry and the new mapping a become one?
 * entry_first: entry lies before a (else after it) */
static boolean_t
uvm_map_mergeable(const struct vm_map *map, const struct vm_map_entry *entry,
    const struct uvm_map_args *a, boolean_t entry_first)
{
	if (entry == &map->header || UVM_ET_ISSUBMAP(entry))
		return FALSE;
	if (((entry->flags | a->eflags) & UVM_MAP_NOMERGE) != 0)
		return FALSE;
	if (entry->wired_count != 0 || (entry->flags & UVM_MAP_WIRED) != 0)
		return FALSE;
	if (entry->protection != a->prot ||
	    entry->max_protection != a->maxprot ||
	    entry->inheritance != a->inh || entry->advice != a->advice)
		return FALSE;
	if (UVM_ET_ISOBJ(entry) != (a->uobj != NULL) ||
	    (a->uobj != NULL && entry->object.uvm_obj != a->uobj))
		return FALSE;
	if (entry_first) {
		if (entry->end != a->start)
			return FALSE;
		if (a->uobj != NULL && entry->offset +
		    (voff_t)(entry->end - entry->start) != a->offset)
			return FALSE;
	} else {
		if (a->end != entry->start)
			return FALSE;
		if (a->uobj != NULL &&
		    a->offset + (voff_t)(a->end - a->start) != entry->offset)
			return FALSE;
	}
	return TRUE;
}

/*
 * uvm_map_merge: try to extend prev and/or next over the new mapping.
 * => map locked; [a->start, a->end) is free and lies between them.
 * => TRUE if merged; the caller's object reference has been consumed.
 */
static boolean_t
uvm_map_merge(struct vm_map *map, struct vm_map_entry *prev,
    const struct uvm_map_args *a)
{
	struct vm_map_entry *next = prev->next;
	boolean_t back = uvm_map_mergeable(map, prev, a, TRUE);
	boolean_t fwd = uvm_map_mergeable(map, next, a, FALSE);

	if (!back && !fwd)
		return FALSE;
	if (back && fwd) {
		/* prev swallows the new range and next */
		vaddr_t end = next->end;

		uvm_map_entry_unlink(map, next);
		prev->end = end;
		uvm_map_gap_update(map, prev);
		uvm_map_obj_detach(next->object.uvm_obj);
		uvm_map_entry_free(next);
	} else if (back) {
		prev->end = a->end;
		uvm_map_gap_update(map, prev);
	} else {
		next->start = a->start;	/* still after prev: key order holds */
		next->offset = a->offset;
		uvm_map_gap_update(map, prev);
	}
	/* the surviving entry already holds a reference to the object */
	uvm_map_obj_detach(a->uobj);
	return TRUE;
}

/*
 * uvm_map: map [*startp, *startp + size) of map to uobj at uoffset.
 * => map must be unlocked; takes the map lock, or only tries to with
 *    UVM_FLAG_TRYLOCK.  Never sleeps otherwise.
 * => without UVM_FLAG_FIXED *startp is a hint: the lowest free range at
 *    or above it, else the lowest in the map; with it, exactly *startp.
 * => UVM_UNKNOWN_OFFSET: va - vm_map_min(kernel_map) for kernel objects,
 *    0 for others.  The caller's reference to uobj passes to the map.
 * => returns KERN_SUCCESS and sets *startp; KERN_INVALID_ARGUMENT (size
 *    0, unaligned, wrapping), KERN_PROTECTION_FAILURE (prot beyond
 *    maxprot), KERN_NO_SPACE (no room, or a FIXED range not free or not
 *    inside the map), KERN_FAILURE (TRYLOCK and the lock is held),
 *    KERN_RESOURCE_SHORTAGE (no map entry).
 */
int
uvm_map(struct vm_map *map, vaddr_t *startp, vsize_t size,
    struct uvm_object *uobj, voff_t uoffset, uvm_flag_t flags)
{
	struct uvm_map_args a;
	struct vm_map_entry *prev, *entry;
	vaddr_t start = *startp;
	UVMHIST_FUNC("uvm_map"); UVMHIST_CALLED(maphist);

	UVMHIST_LOG(maphist, "(map=%p, start=%#lx, size=%#lx, flags=%#x)",
	    map, start, size, flags);
	if (size == 0 || (size & PAGE_MASK) != 0)
		return KERN_INVALID_ARGUMENT;
	if ((flags & UVM_FLAG_FIXED) != 0 &&
	    ((start & PAGE_MASK) != 0 || start + size < start))
		return KERN_INVALID_ARGUMENT;
	if (uoffset != UVM_UNKNOWN_OFFSET &&
	    (uoffset < 0 || ((vaddr_t)uoffset & PAGE_MASK) != 0))
		return KERN_INVALID_ARGUMENT;
	a.prot = UVM_PROTECTION(flags);
	a.maxprot = UVM_MAXPROTECTION(flags);
	a.inh = UVM_INHERIT(flags);
	a.advice = UVM_ADVICE(flags);
	a.eflags = (flags & UVM_FLAG_NOMERGE) != 0 ? UVM_MAP_NOMERGE : 0;
	a.uobj = uobj;
	if ((a.prot & a.maxprot) != a.prot)
		return KERN_PROTECTION_FAILURE;

	if ((flags & UVM_FLAG_TRYLOCK) != 0) {
		if (!vm_map_lock_try(map))
			return KERN_FAILURE;
	} else {
		vm_map_lock(map);
	}

	if ((flags & UVM_FLAG_FIXED) != 0) {
		if (start < vm_map_min(map) || start + size > vm_map_max(map) ||
		    uvm_map_lookup_entry(map, start, &prev) ||
		    uvm_map_free_end(map, prev) - start < size) {
			vm_map_unlock(map);
			return KERN_NO_SPACE;
		}
	} else {
		start = round_page(start);
		if (start == 0 && *startp != 0)	/* the hint wrapped */
			start = vm_map_max(map);
		if (!uvm_map_findspace(map, start, size, &start)) {
			vm_map_unlock(map);
			return KERN_NO_SPACE;
		}
		(void)uvm_map_lookup_entry(map, start, &prev);
	}

	if (uoffset == UVM_UNKNOWN_OFFSET) {
		if (uobj != NULL && uvm_object_is_kernel(uobj))
			uoffset = kernel_map != NULL ? UVM_KOBJ_OFFSET(start) :
			    (voff_t)(start - vm_map_min(map));
		else
			uoffset = 0;
	}
	a.start = start;
	a.end = start + size;
	a.offset = uoffset;

	if (!uvm_map_merge(map, prev, &a)) {
		entry = uvm_map_entry_alloc();
		if (entry == NULL) {
			vm_map_unlock(map);
			return KERN_RESOURCE_SHORTAGE;
		}
		entry->start = a.start;
		entry->end = a.end;
		entry->etype = uobj != NULL ? UVM_ET_OBJ : 0;
		entry->object.uvm_obj = uobj;
		entry->offset = uoffset;
		entry->protection = a.prot;
		entry->max_protection = a.maxprot;
		entry->inheritance = a.inh;
		entry->advice = a.advice;
		entry->flags = a.eflags;
		uvm_map_entry_link(map, prev, entry);
	}
	map->size += size;
	map->timestamp++;
	uvm_map_debug_check(map, "uvm_map");
	vm_map_unlock(map);
	*startp = start;
	UVMHIST_LOG(maphist, "<- done (start=%#lx, entries=%d)", start,
	    map->nentries, 0, 0);
	return KERN_SUCCESS;
}

/*
 * Removing mappings.
 */

static void
uvm_map_assert_locked(struct vm_map *map, const char *who)
{
	if (kva_debug >= 2 && pthread_mutex_trylock(&map->lock) == 0) {
		pthread_mutex_unlock(&map->lock);
		panic("%s(%p): map not locked", who, (void *)map);
	}
}

/*
 * uvm_unmap_remove: unmap [start, end) of map; only its mapped parts.
 * => map locked by the caller, and still locked on return.
 * => entries straddling start or end are clipped; for each removed entry
 *    the pmap's mappings go, and a kernel object's pages are freed at
 *    once (uvm_km_pgremove); the pmap is updated before returning.
 * => the removed entries come back on *dead (through their next field,
 *    in address order) for uvm_unmap_detach once the map is unlocked.
 */
void
uvm_unmap_remove(struct vm_map *map, vaddr_t start, vaddr_t end,
    struct vm_map_entry **dead)
{
	struct vm_map_entry *entry, *next, **tail = dead;
	struct uvm_object *uobj;
	int removed = 0;

	*dead = NULL;
	uvm_map_assert_locked(map, "uvm_unmap_remove");
	if (((start | end) & PAGE_MASK) != 0 || start > end)
		panic("uvm_unmap_remove(%p, %#lx, %#lx): bad range",
		    (void *)map, (unsigned long)start, (unsigned long)end);
	if (start < vm_map_min(map))
		start = vm_map_min(map);
	if (end > vm_map_max(map))
		end = vm_map_max(map);
	if (start >= end)
		return;

	if (uvm_map_lookup_entry(map, start, &entry)) {
		if (entry->start < start)
			uvm_map_clip_start(map, entry, start);
	} else {
		entry = entry->next;
	}
	for (; entry != &map->header && entry->start < end; entry = next) {
		if (entry->end > end)
			uvm_map_clip_end(map, entry, end);
		next = entry->next;
		pmap_remove(vm_map_pmap(map), entry->start, entry->end);
		uobj = UVM_ET_ISOBJ(entry) ? entry->object.uvm_obj : NULL;
		if (uobj != NULL && uvm_object_is_kernel(uobj))
			uvm_km_pgremove_dead(uobj, (vm_offset_t)entry->offset,
			    (vm_offset_t)(entry->offset +
			    (voff_t)(entry->end - entry->start)));
		map->size -= entry->end - entry->start;
		uvm_map_entry_unlink(map, entry);
		*tail = entry;
		tail = &entry->next;
		removed++;
	}
	if (removed != 0) {
		pmap_update(vm_map_pmap(map));
		map->timestamp++;
		uvm_map_debug_check(map, "uvm_unmap_remove");
	}
}

/*
 * uvm_unmap_detach: drop what the dead entries referenced and free them.
 * => no map locks held (dropping a submap may tear it down).
 */
void
uvm_unmap_detach(struct vm_map_entry *dead)
{
	struct vm_map_entry *next;

	for (; dead != NULL; dead = next) {
		next = dead->next;
		if (UVM_ET_ISSUBMAP(dead))
			uvm_map_deallocate(dead->object.sub_map);
		else if (UVM_ET_ISOBJ(dead))
			uvm_map_obj_detach(dead->object.uvm_obj);
		uvm_map_entry_free(dead);
	}
}

/*
 * uvm_unmap: unmap [start, end), page aligned; parts not mapped are
 * ignored.
 * => map unlocked; takes and releases the map lock.
 */
void
uvm_unmap(struct vm_map *map, vaddr_t start, vaddr_t end)
{
	struct vm_map_entry *dead;
	UVMHIST_FUNC("uvm_unmap"); UVMHIST_CALLED(maphist);

	UVMHIST_LOG(maphist, "(map=%p, start=%#lx, end=%#lx)", map, start, end,
	    0);
	vm_map_lock(map);
	uvm_unmap_remove(map, start, end, &dead);
	vm_map_unlock(map);
	uvm_unmap_detach(dead);
}

/*
 * Maps.
 */

/*
 * uvm_map_setup: make map an empty map of [min, max).
 * => map is not in use; min and max page aligned, min < max.
 * => map->pmap is left as it is (the caller sets it, as in the seed).
 */
void
uvm_map_setup(struct vm_map *map, vaddr_t min, vaddr_t max,
    boolean_t pageable)
{
	if (((min | max) & PAGE_MASK) != 0 || min >= max)
		panic("uvm_map_setup(%p, %#lx, %#lx, %d): bad range",
		    (void *)map, (unsigned long)min, (unsigned long)max,
		    pageable);
	mutex_init(&map->lock);
	memset(&map->header, 0, sizeof(map->header));
	map->header.prev = map->header.next = &map->header;
	map->header.start = min;
	map->header.end = max;
	map->header.gap = map->header.maxgap = max - min;
	map->root = NULL;
	map->nentries = 0;
	map->size = 0;
	map->ref_count = 1;
	map->flags = pageable ? VM_MAP_PAGEABLE : 0;
	map->timestamp = 0;
	map->name = NULL;
}

/*
 * uvm_map_create: a new map of [min, max) on pmap, from the map pool.
 * => one reference; uvm_map_deallocate of the last one frees it.
 * => NULL if the pool is exhausted.
 */
struct vm_map *
uvm_map_create(struct pmap *pmap, vaddr_t min, vaddr_t max,
    boolean_t pageable)
{
	struct vm_map *map = kva_pool_get(&uvm_map_pool);

	if (map == NULL)
		return NULL;
	uvm_map_setup(map, min, max, pageable);
	map->pmap = pmap;
	map->flags |= VM_MAP_DYNAMIC;
	return map;
}

/*
 * uvm_map_submap: let submap manage [start, end) of map.
 * => map unlocked; [start, end) must be exactly one entry with no object
 *    (what uvm_km_suballoc maps); it becomes a UVM_ET_SUBMAP entry that
 *    holds a new reference to submap.
 * => KERN_SUCCESS or KERN_INVALID_ARGUMENT.
 */
int
uvm_map_submap(struct vm_map *map, vaddr_t start, vaddr_t end,
    struct vm_map *submap)
{
	struct vm_map_entry *entry;
	int error = KERN_INVALID_ARGUMENT;

	if (submap == NULL || submap == map)
		return KERN_INVALID_ARGUMENT;
	vm_map_lock(map);
	if (uvm_map_lookup_entry(map, start, &entry) &&
	    entry->start == start && entry->end == end && entry->etype == 0 &&
	    entry->object.uvm_obj == NULL) {
		uvm_map_reference(submap);
		entry->etype = UVM_ET_SUBMAP;
		entry->object.sub_map = submap;
		entry->offset = 0;
		entry->flags |= UVM_MAP_NOMERGE;
		map->timestamp++;
		error = KERN_SUCCESS;
		uvm_map_debug_check(map, "uvm_map_submap");
	}
	vm_map_unlock(map);
	return error;
}

/* uvm_map_reference: one more reference to map.  => any locks */
void
uvm_map_reference(struct vm_map *map)
{
	int old = __atomic_fetch_add(&map->ref_count, 1, __ATOMIC_RELAXED);

	if (KVA_UNLIKELY(old <= 0))
		panic("uvm_map_reference(%p): ref_count %d", (void *)map, old);
}

/*
 * uvm_map_deallocate: drop a reference to map.  The last one removes
 * every entry; a DYNAMIC map then goes back to the pool, and the pmap
 * reference that uvm_km_suballoc took for it is dropped (pmap_destroy).
 * => map unlocked; may take the map's and submaps' locks.
 */
void
uvm_map_deallocate(struct vm_map *map)
{
	struct vm_map_entry *dead;
	int old = __atomic_fetch_sub(&map->ref_count, 1, __ATOMIC_ACQ_REL);

	if (KVA_UNLIKELY(old <= 0))
		panic("uvm_map_deallocate(%p): ref_count %d", (void *)map,
		    old);
	if (old > 1)
		return;
	vm_map_lock(map);
	uvm_unmap_remove(map, vm_map_min(map), vm_map_max(map), &dead);
	vm_map_unlock(map);
	uvm_unmap_detach(dead);
	if ((map->flags & VM_MAP_DYNAMIC) != 0) {
		if (map->pmap != NULL)
			pmap_destroy(map->pmap);
		mutex_destroy(&map->lock);
		kva_pool_put(&uvm_map_pool, map);
	}
}

/*
 * Locks.
 */

/* vm_map_lock: => may sleep on the lock */
void
vm_map_lock(struct vm_map *map)
{
	mutex_enter(&map->lock);
}

/* vm_map_lock_try: => TRUE if taken, FALSE if someone holds it */
boolean_t
vm_map_lock_try(struct vm_map *map)
{
	return mutex_tryenter(&map->lock) ? TRUE : FALSE;
}

void
vm_map_unlock(struct vm_map *map)
{
	mutex_exit(&map->lock);
}

/*
 * Walking and checking.
 */

/*
 * uvm_map_foreach: call fn on each entry in address order until it
 * returns non-zero.
 * => map unlocked; held locked during the walk (fn must not change it).
 * => the last value fn returned, or 0.
 */
int
uvm_map_foreach(struct vm_map *map,
    int (*fn)(const struct vm_map_entry *, void *), void *arg)
{
	struct vm_map_entry *entry;
	int rv = 0;

	vm_map_lock(map);
	for (entry = map->header.next; entry != &map->header && rv == 0;
	    entry = entry->next)
		rv = fn(entry, arg);
	vm_map_unlock(map);
	return rv;
}

struct uvm_map_check_ctx {
	struct vm_map *map;
	struct vm_map_entry *cursor;	/* next entry expected in-order */
	char *why;
	size_t whylen;
};

#define CHECK_FAIL(c, ...) do { \
	if ((c)->whylen != 0) \
		snprintf((c)->why, (c)->whylen, __VA_ARGS__); \
	return -1; \
} while (0)

/*
 * uvm_map_check_tree: in-order walk of the subtree at e, matching the
 * list; checks parents, colours and maxgap.
 * => the subtree's black height, or -1 with a message.
 */
static int
uvm_map_check_tree(struct uvm_map_check_ctx *c, struct vm_map_entry *e,
    struct vm_map_entry *parent, int depth)
{
	int lh, rh;
	vsize_t m;

	if (e == NULL)
		return 1;
	if (depth > 128)
		CHECK_FAIL(c, "tree deeper than 128 at %p", (void *)e);
	if (e->rb_parent != parent)
		CHECK_FAIL(c, "entry %#lx: parent %p, expected %p",
		    (unsigned long)e->start, (void *)e->rb_parent,
		    (void *)parent);
	if (e->rb_red && uvm_rb_isred(parent))
		CHECK_FAIL(c, "entry %#lx: red child of a red node",
		    (unsigned long)e->start);
	if ((lh = uvm_map_check_tree(c, e->rb_left, e, depth + 1)) < 0)
		return -1;
	if (e != c->cursor)
		CHECK_FAIL(c, "tree entry %#lx-%#lx is not list entry %p",
		    (unsigned long)e->start, (unsigned long)e->end,
		    (void *)c->cursor);
	c->cursor = e->next;
	if ((rh = uvm_map_check_tree(c, e->rb_right, e, depth + 1)) < 0)
		return -1;
	if (lh != rh)
		CHECK_FAIL(c, "entry %#lx: black heights %d and %d",
		    (unsigned long)e->start, lh, rh);
	m = e->gap;
	if (e->rb_left != NULL && e->rb_left->maxgap > m)
		m = e->rb_left->maxgap;
	if (e->rb_right != NULL && e->rb_right->maxgap > m)
		m = e->rb_right->maxgap;
	if (e->maxgap != m)
		CHECK_FAIL(c, "entry %#lx: maxgap %#lx, expected %#lx",
		    (unsigned long)e->start, (unsigned long)e->maxgap,
		    (unsigned long)m);
	return lh + (e->rb_red ? 0 : 1);
}

/* uvm_map_check_locked: uvm_map_check with the map already locked */
static int
uvm_map_check_locked(struct vm_map *map, char *why, size_t whylen)
{
	struct uvm_map_check_ctx ctx = { map, map->header.next, why, whylen };
	struct uvm_map_check_ctx *c = &ctx;
	struct vm_map_entry *e;
	vaddr_t last = vm_map_min(map);
	vsize_t size = 0;
	int n = 0;

	if (whylen != 0)
		why[0] = '\0';
	if (map->header.gap != uvm_map_gap_of(map, &map->header))
		CHECK_FAIL(c, "header gap %#lx, expected %#lx",
		    (unsigned long)map->header.gap,
		    (unsigned long)uvm_map_gap_of(map, &map->header));
	for (e = map->header.next; e != &map->header; e = e->next) {
		if (e->next->prev != e)
			CHECK_FAIL(c, "entry %#lx: next->prev broken",
			    (unsigned long)e->start);
		if (e->start >= e->end || ((e->start | e->end) & PAGE_MASK))
			CHECK_FAIL(c, "entry %#lx-%#lx: bad range",
			    (unsigned long)e->start, (unsigned long)e->end);
		if (e->start < last)
			CHECK_FAIL(c, "entry %#lx-%#lx: overlaps or out of "
			    "order (previous ends at %#lx)",
			    (unsigned long)e->start, (unsigned long)e->end,
			    (unsigned long)last);
		if (e->end > vm_map_max(map))
			CHECK_FAIL(c, "entry %#lx-%#lx: beyond map end %#lx",
			    (unsigned long)e->start, (unsigned long)e->end,
			    (unsigned long)vm_map_max(map));
		if (e->gap != uvm_map_gap_of(map, e))
			CHECK_FAIL(c, "entry %#lx: gap %#lx, expected %#lx",
			    (unsigned long)e->start, (unsigned long)e->gap,
			    (unsigned long)uvm_map_gap_of(map, e));
		if (UVM_ET_ISSUBMAP(e) && e->object.sub_map == NULL)
			CHECK_FAIL(c, "entry %#lx: submap entry without map",
			    (unsigned long)e->start);
		last = e->end;
		size += e->end - e->start;
		if (++n > map->nentries)
			break;
	}
	if (map->header.next->prev != &map->header)
		CHECK_FAIL(c, "header.next->prev broken");
	if (n != map->nentries)
		CHECK_FAIL(c, "%d entries in the list, nentries %d", n,
		    map->nentries);
	if (size != map->size)
		CHECK_FAIL(c, "entries hold %#lx bytes, size %#lx",
		    (unsigned long)size, (unsigned long)map->size);
	if (uvm_rb_isred(map->root))
		CHECK_FAIL(c, "root is red");
	if (uvm_map_check_tree(c, map->root, NULL, 0) < 0)
		return -1;
	if (c->cursor != &map->header)
		CHECK_FAIL(c, "list entry %#lx is not in the tree",
		    (unsigned long)c->cursor->start);
	return 0;
}

/*
 * uvm_map_check: check every invariant of map (list order, no overlap,
 * list and tree agree, red-black rules, gaps and maxgaps, nentries,
 * size).
 * => map unlocked; takes the lock.
 * => 0 if sound; else non-zero, with a message in why (if whylen > 0).
 */
int
uvm_map_check(struct vm_map *map, char *why, size_t whylen)
{
	int rv;

	vm_map_lock(map);
	rv = uvm_map_check_locked(map, why, whylen);
	vm_map_unlock(map);
	return rv;
}

/* uvm_map_debug_check: with kva_debug >= 3, panic if map is unsound */
static void
uvm_map_debug_check(struct vm_map *map, const char *where)
{
	char why[256];

	if (KVA_LIKELY(kva_debug < 3))
		return;
	if (uvm_map_check_locked(map, why, sizeof(why)) != 0)
		panic("%s: map %p (%s) is broken: %s", where, (void *)map,
		    map->name != NULL ? map->name : "?", why);
}

/*
 * Module setup.
 */

/* uvm_map_init: set up the pools.  => before any map exists */
void
uvm_map_init(void)
{
	kva_pool_init(&uvm_map_entry_pool, sizeof(struct vm_map_entry),
	    "vmmpepl");
	kva_pool_init(&uvm_map_pool, sizeof(struct vm_map), "vmmappl");
}

/*
 * uvm_map_fini: kva_fini's part for maps.  Nothing to give back: the
 * pools' memory goes with the bootstrap region, and the next uvm_map_init
 * starts them afresh (kernel_map's own entries are never freed one by
 * one; uvm_km_fini forgets the map).
 */
void
uvm_map_fini(void)
{
}

/*
 * kva_options.c: KVA_OPTIONS, the one environment variable of kva.
 *
 * KVA_OPTIONS is a comma-separated list of key=value items:
 *
 *	KVA_OPTIONS="physmem=64M, kva=16G, stats=1, hist=maphist,pdhist"
 *
 * 1. No allocation.  The malloc shim reads the variable from inside the
 *    program's first malloc call, so the parser works on the string where
 *    it lies: no malloc, no strdup, no stdio.  The only copies are the two
 *    string values, into the fixed arrays of struct kva_params, and error
 *    messages, formatted by kva_warn into a stack buffer.
 *
 * 2. One table.  Every key, its type and its field in struct kva_params
 *    are in kva_option_table below; nothing else in kva knows the keys.
 *
 * 3. Syntax.  Items are separated by commas.  Blanks around an item, a key
 *    or a value are ignored, and so are empty items.  A key's value runs
 *    to the next comma, except for a list (hist), which goes on over the
 *    following items that have no '=': "hist=maphist,pdhist".  A key given
 *    twice takes its last good value.
 *
 * 4. Values.
 *      size   decimal bytes, with an optional suffix K, M, G or T (either
 *             case; powers of 1024); a value that does not fit in size_t
 *             is malformed, not clamped
 *      count  decimal, no suffix
 *      bool   0 or 1
 *      level  decimal, 0 up to the table's maximum (debug: 0..3)
 *      path   any non-empty text without control characters; "none" is
 *             the caller's business (no swap)
 *      list   names of letters, digits and '_', separated by commas
 *
 * 5. Errors.  An unknown key, a key without a value, or a malformed value
 *    prints exactly one line on stderr naming the key, leaves its field as
 *    it was, and counts one error; parsing goes on with the next item.
 *    Nothing here can crash on any input.
 */
#include "kva_impl.h"

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

enum kva_option_type {
	KVA_OPT_SIZE,		/* size_t, bytes */
	KVA_OPT_COUNT,		/* long, >= 0 */
	KVA_OPT_BOOL,		/* int, 0 or 1 */
	KVA_OPT_LEVEL,		/* int, 0..max */
	KVA_OPT_PATH,		/* char[size] */
	KVA_OPT_LIST,		/* char[size], comma-separated names */
};

struct kva_option {
	const char *key;
	enum kva_option_type type;
	size_t offset;		/* of the field in struct kva_params */
	size_t size;		/* of the field */
	long max;		/* largest value of a count or a level */
};

/*
 * KVA_FIELD: the offset of field f of struct kva_params, checked at
 * compile time to have the C type that the table's kind of option writes,
 * so that the table cannot disagree with kva_impl.h.
 */
#define KVA_FIELD(f, ctype) \
	(offsetof(struct kva_params, f) + 0 * sizeof(struct { \
		_Static_assert(__builtin_types_compatible_p( \
		    __typeof__(((struct kva_params *)0)->f), ctype), \
		    "struct kva_params field " #f " is not " #ctype); \
		int unused_; }))
#define KVA_SIZEOF(f) sizeof(((struct kva_params *)0)->f)

#define OPT_SIZE(k, f) { k, KVA_OPT_SIZE, KVA_FIELD(f, size_t), KVA_SIZEOF(f), 0 }
#define OPT_COUNT(k, f) { k, KVA_OPT_COUNT, KVA_FIELD(f, long), KVA_SIZEOF(f), LONG_MAX }
#define OPT_BOOL(k, f) { k, KVA_OPT_BOOL, KVA_FIELD(f, int), KVA_SIZEOF(f), 1 }
#define OPT_LEVEL(k, f, m) { k, KVA_OPT_LEVEL, KVA_FIELD(f, int), KVA_SIZEOF(f), m }
#define OPT_PATH(k, f) { k, KVA_OPT_PATH, KVA_FIELD(f, char[KVA_PATH_MAX]), KVA_SIZEOF(f), 0 }
#define OPT_LIST(k, f) { k, KVA_OPT_LIST, KVA_FIELD(f, char[KVA_HIST_MAX]), KVA_SIZEOF(f), 0 }

static const struct kva_option kva_option_table[] = {
	OPT_SIZE("physmem", physmem),	/* cap on physical memory */
	OPT_SIZE("kva", kva),		/* kernel VA reservation */
	OPT_SIZE("kmem", kmem),		/* kmem_map submap */
	OPT_PATH("swap", swap),		/* swap file, or "none" */
	OPT_SIZE("swapsize", swapsize),	/* size of swap */
	OPT_COUNT("max_vmas", max_vmas),	/* host mappings the pmap may hold */
	OPT_BOOL("stats", stats),	/* statistics on stderr at exit */
	OPT_LEVEL("debug", debug, 3),	/* invariant checking, 0..3 */
	OPT_LIST("hist", hist),		/* UVMHIST histories to record */
	OPT_BOOL("uring", uring),	/* io_uring for zeroing/decommit */
	OPT_SIZE("freemin", freemin),	/* page daemon wakes below this */
	OPT_SIZE("freetarg", freetarg),	/* and frees until this */
	OPT_COUNT("decommit", decommit),	/* ms idle before punching; 0 never */
	OPT_SIZE("prezero", prezero),	/* free memory kept zeroed ahead */
	OPT_COUNT("warm", warm),	/* 2 MiB runs kept mapped aside */
	OPT_BOOL("statsfile", statsfile),	/* the statistics file */
};
#define KVA_NOPTIONS (sizeof(kva_option_table) / sizeof(kva_option_table[0]))

/* the longest piece of a bad value or key quoted in a message */
#define KVA_SHOW_MAX 48

void
kva_params_default(struct kva_params *p)
{
	memset(p, 0, sizeof(*p));
	p->uring = 1;
	p->decommit = KVA_DECOMMIT_DEFAULT;
	p->prezero = KVA_PREZERO_AUTO;
	p->warm = KVA_WARM_DEFAULT;
	p->statsfile = 1;
}

static int
kva_isblank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	    c == '\v' || c == '\f';
}

static int
kva_isdigit(char c)
{
	return c >= '0' && c <= '9';
}

static int
kva_isname(char c)
{
	return kva_isdigit(c) || c == '_' ||
	    (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* kva_trim: move *b and *e inwards past blanks */
static void
kva_trim(const char **b, const char **e)
{
	while (*b < *e && kva_isblank(**b))
		(*b)++;
	while (*e > *b && kva_isblank((*e)[-1]))
		(*e)--;
}

/*
 * kva_parse_uint: s[0..len) as a decimal number no larger than max.
 * => 0 and *out, or -1 if empty, not all digits, or larger than max.
 */
static int
kva_parse_uint(const char *s, size_t len, uintmax_t max, uintmax_t *out)
{
	uintmax_t v = 0;
	size_t i;

	if (len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned d;

		if (!kva_isdigit(s[i]))
			return -1;
		d = (unsigned)(s[i] - '0');
		if (d > max || v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/*
 * kva_parse_size: s[0..len) as a size: digits and an optional K, M, G or
 * T suffix in either case (powers of 1024).  No blanks, no sign.
 * => 0 and *out, or -1 if malformed or larger than SIZE_MAX.
 */
int
kva_parse_size(const char *s, size_t len, size_t *out)
{
	unsigned shift = 0;
	uintmax_t v;

	if (s == NULL || len == 0)
		return -1;
	switch (s[len - 1]) {
	case 'k': case 'K': shift = 10; break;
	case 'm': case 'M': shift = 20; break;
	case 'g': case 'G': shift = 30; break;
	case 't': case 'T': shift = 40; break;
	}
	if (shift != 0)
		len--;
	if (kva_parse_uint(s, len, SIZE_MAX >> shift, &v) != 0)
		return -1;
	*out = (size_t)v << shift;
	return 0;
}

/*
 * kva_show: a printable copy of s[0..len) for a message, in buf: bytes
 * that are not printable ASCII, and quotes, become '?', and a long text
 * is cut short with "...".
 */
static const char *
kva_show(char *buf, size_t bufsize, const char *s, size_t len)
{
	size_t i, n = len;

	if (n > bufsize - 4)
		n = bufsize - 4;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		buf[i] = (c < 0x20 || c >= 0x7f || c == '"') ? '?' : (char)c;
	}
	if (n < len) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

static const struct kva_option *
kva_option_lookup(const char *key, size_t len)
{
	size_t i;

	for (i = 0; i < KVA_NOPTIONS; i++) {
		const char *k = kva_option_table[i].key;

		if (strlen(k) == len && memcmp(k, key, len) == 0)
			return &kva_option_table[i];
	}
	return NULL;
}

/* kva_option_is_default: o's field in p still has its default value */
static int
kva_option_is_default(const struct kva_option *o, const struct kva_params *p)
{
	struct kva_params d;

	kva_params_default(&d);
	return memcmp((const char *)p + o->offset,
	    (const char *)&d + o->offset, o->size) == 0;
}

/* kva_store_string: s[0..len) into a char[size] field, NUL-padded */
static int
kva_store_string(char *field, size_t size, const char *s, size_t len)
{
	if (len >= size)
		return -1;
	memset(field, 0, size);
	memcpy(field, s, len);
	return 0;
}

/*
 * kva_list_set: a list value, "a, b,c", into a char[size] field as
 * "a,b,c".  Built in a stack buffer first, so that the field changes only
 * when the whole list is good.
 */
static int
kva_list_set(char *field, size_t size, const char *s, size_t len)
{
	char buf[KVA_HIST_MAX];
	const char *p = s, *end = s + len;
	size_t n = 0;

	if (size > sizeof(buf))
		return -1;
	for (;;) {
		const char *b = p, *e = p, *next;
		size_t i;

		while (e < end && *e != ',')
			e++;
		next = e;
		kva_trim(&b, &e);
		if (b == e)
			return -1;
		for (i = 0; b + i < e; i++)
			if (!kva_isname(b[i]))
				return -1;
		if (n + (n != 0) + i >= size)
			return -1;
		if (n != 0)
			buf[n++] = ',';
		memcpy(buf + n, b, i);
		n += i;
		if (next == end)
			break;
		p = next + 1;
	}
	return kva_store_string(field, size, buf, n);
}

/*
 * kva_option_set: parse value v[0..len) (trimmed, maybe empty) for
 * option o and store it in p.
 * => 0 when stored, -1 when malformed (p unchanged).
 */
static int
kva_option_set(const struct kva_option *o, struct kva_params *p,
    const char *v, size_t len)
{
	char *field = (char *)p + o->offset;
	uintmax_t u;
	size_t sz, i;

	switch (o->type) {
	case KVA_OPT_SIZE:
		if (kva_parse_size(v, len, &sz) != 0)
			return -1;
		*(size_t *)(void *)field = sz;
		return 0;
	case KVA_OPT_COUNT:
		if (kva_parse_uint(v, len, (uintmax_t)o->max, &u) != 0)
			return -1;
		*(long *)(void *)field = (long)u;
		return 0;
	case KVA_OPT_BOOL:
	case KVA_OPT_LEVEL:
		if (kva_parse_uint(v, len, (uintmax_t)o->max, &u) != 0)
			return -1;
		*(int *)(void *)field = (int)u;
		return 0;
	case KVA_OPT_PATH:
		if (len == 0)
			return -1;
		for (i = 0; i < len; i++)
			if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
				return -1;
		return kva_store_string(field, o->size, v, len);
	case KVA_OPT_LIST:
		return kva_list_set(field, o->size, v, len);
	}
	return -1;
}

/*
 * kva_list_extent: the end of a list value that starts in the item
 * ending at e: the list takes in every following item that is not empty
 * and has no '='.
 */
static const char *
kva_list_extent(const char *e)
{
	while (*e == ',') {
		const char *b = e + 1, *ne = b, *tb, *te;

		while (*ne != '\0' && *ne != ',')
			ne++;
		tb = b;
		te = ne;
		kva_trim(&tb, &te);
		if (tb == te || memchr(tb, '=', (size_t)(te - tb)) != NULL)
			break;
		e = ne;
	}
	return e;
}

/*
 * kva_option_item: one item, [b, *ep), of a KVA_OPTIONS string.
 * => *ep moves past the items a list value took in.
 * => 0 when good or empty, 1 after printing the error line.
 */
static int
kva_option_item(const char *b, const char **ep, struct kva_params *p)
{
	char kbuf[KVA_SHOW_MAX], vbuf[KVA_SHOW_MAX];
	const char *e = *ep, *eq, *kb, *ke, *vb, *ve;
	const struct kva_option *o;

	kva_trim(&b, &e);
	if (b == e)
		return 0;
	eq = memchr(b, '=', (size_t)(e - b));
	kb = b;
	ke = eq != NULL ? eq : e;
	kva_trim(&kb, &ke);
	o = kva_option_lookup(kb, (size_t)(ke - kb));
	if (o == NULL) {
		kva_warn("KVA_OPTIONS: unknown key \"%s\", ignored",
		    kva_show(kbuf, sizeof(kbuf), kb, (size_t)(ke - kb)));
		return 1;
	}
	if (eq == NULL) {
		kva_warn("KVA_OPTIONS: no value for %s, keeping %s", o->key,
		    kva_option_is_default(o, p) ?
		    "the default" : "the earlier value");
		return 1;
	}
	if (o->type == KVA_OPT_LIST) {
		e = kva_list_extent(*ep);
		*ep = e;
	}
	vb = eq + 1;
	ve = e;
	kva_trim(&vb, &ve);
	if (kva_option_set(o, p, vb, (size_t)(ve - vb)) != 0) {
		kva_warn("KVA_OPTIONS: bad value \"%s\" for %s, keeping %s",
		    kva_show(vbuf, sizeof(vbuf), vb, (size_t)(ve - vb)),
		    o->key, kva_option_is_default(o, p) ?
		    "the default" : "the earlier value");
		return 1;
	}
	return 0;
}

int
kva_options_parse(const char *s, struct kva_params *p)
{
	const char *b, *e;
	int errors = 0;

	if (s == NULL)
		return 0;
	for (b = s; *b != '\0'; b = *e == ',' ? e + 1 : e) {
		e = b;
		while (*e != '\0' && *e != ',')
			e++;
		errors += kva_option_item(b, &e, p);
	}
	return errors;
}

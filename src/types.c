/* The type table and the attribute name table; see types.h. */
#include "types.h"

#include <errno.h>
#include <string.h>

#include "error.h"
#include "list.h"
#include "tx.h"

pmo_list *pmo_root_table(const pmo_pool *p, pmo_slot tab)
{
	if (tab.tag == PMO_TAG_EMPTY || tab.tag == PMO_TAG_NONE) {
		errno = 0;
		return NULL;
	}
	if (!pmo_slot_is_ref(tab)) {
		pmo_err_corrupt(p->path, 0, "a table slot of the pool root holds tag %llu",
				(unsigned long long)tab.tag);
		return NULL;
	}
	return pmo_list_get(p, tab.val);
}

int64_t pmo_strtab_len(const pmo_pool *p, pmo_slot tab)
{
	pmo_list *l = pmo_root_table(p, tab);
	if (!l)
		return errno ? -1 : 0;
	return (int64_t)l->len;
}

int pmo_strtab_get(const pmo_pool *p, pmo_slot tab, uint64_t i, pmo_var *out)
{
	pmo_list *l = pmo_root_table(p, tab);
	if (!l) {
		if (!errno)
			pmo_err(EINVAL, "no entry %llu in an empty table", (unsigned long long)i);
		return -1;
	}
	if (i >= l->len)
		return pmo_err(EINVAL, "no entry %llu in a table of %llu", (unsigned long long)i,
			       (unsigned long long)l->len);
	pmo_slot s = pmo_list_items(p, l)[i];
	if (!pmo_slot_is_ref(s))
		return pmo_err_corrupt(p->path, 0, "string table entry %llu is not a str",
				       (unsigned long long)i);
	return pmo_var_get(p, s.val, PMO_T_STR, out);
}

int64_t pmo_strtab_find(const pmo_pool *p, pmo_slot tab, const char *s, size_t n)
{
	pmo_list *l = pmo_root_table(p, tab);
	if (!l)
		return errno ? -2 : -1;
	for (uint64_t i = 0; i < l->len; i++) {
		pmo_var o;
		if (pmo_strtab_get(p, tab, i, &o) != 0)
			return -2;
		if (o.size == n && memcmp(o.data, s, n) == 0)
			return (int64_t)i;
	}
	return -1;
}

int64_t pmo_strtab_append(pmo_pool *p, pmo_slot *tab, const char *s, size_t n)
{
	pmo_list *l = pmo_root_table(p, *tab);
	if (!l) {
		if (errno)
			return -1;
		uint64_t off = pmo_list_new(p, 8);
		if (!off)
			return -1;
		/* pmo_list_new's reference goes to the root slot. */
		if (pmo_slot_store(p, tab, pmo_slot_ref(off)) != 0)
			return -1;
		l = pmo_direct(p, off);
	}
	uint64_t str = pmo_str_new(p, s, n);
	if (!str)
		return -1;
	if (pmo_list_append(p, l, pmo_slot_ref(str)) != 0)
		return -1;
	return (int64_t)l->len - 1;
}

/* --- the type table --------------------------------------------------- */

uint32_t pmo_type_lookup(const pmo_pool *p, const char *path, size_t n)
{
	int64_t i = pmo_strtab_find(p, p->root->type_table, path, n);
	if (i < 0) {
		if (i == -1)
			errno = 0;
		return 0;
	}
	return (uint32_t)(PMO_T_FIRST_USER + i);
}

uint32_t pmo_type_register(pmo_pool *p, const char *path, size_t n)
{
	int64_t i = pmo_strtab_find(p, p->root->type_table, path, n);
	if (i == -2)
		return 0;
	if (i == -1) {
		int64_t len = pmo_strtab_len(p, p->root->type_table);
		if (len < 0)
			return 0;
		if ((uint64_t)len >= PMO_MAX_USER_TYPES) {
			pmo_err(ENOMEM, "the type table of %s is full", p->path);
			return 0;
		}
		i = pmo_strtab_append(p, &p->root->type_table, path, n);
		if (i < 0)
			return 0;
	}
	return (uint32_t)(PMO_T_FIRST_USER + i);
}

const char *pmo_type_path(const pmo_pool *p, uint32_t code, size_t *n)
{
	if (code < PMO_T_FIRST_USER) {
		pmo_err(EINVAL, "type code %u is not a user type", code);
		return NULL;
	}
	pmo_var o;
	if (pmo_strtab_get(p, p->root->type_table, code - PMO_T_FIRST_USER, &o) != 0)
		return NULL;
	if (n)
		*n = o.size;
	return o.data;
}

/* --- the attribute name table ----------------------------------------- */

int64_t pmo_name_lookup(const pmo_pool *p, const char *name, size_t n)
{
	return pmo_strtab_find(p, p->root->attr_names, name, n);
}

int64_t pmo_name_intern(pmo_pool *p, const char *name, size_t n)
{
	int64_t i = pmo_strtab_find(p, p->root->attr_names, name, n);
	if (i == -2)
		return -1;
	if (i >= 0)
		return i;
	return pmo_strtab_append(p, &p->root->attr_names, name, n);
}

const char *pmo_name_get(const pmo_pool *p, uint64_t i, size_t *n)
{
	pmo_var o;
	if (pmo_strtab_get(p, p->root->attr_names, i, &o) != 0)
		return NULL;
	if (n)
		*n = o.size;
	return o.data;
}

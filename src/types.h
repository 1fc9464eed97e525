/*
 * The type table and the attribute name table: two pool-wide string tables.
 *
 * A string table is a core list (PMO_T_LIST) of str objects hanging off a
 * slot of the pool root.  Entries are only ever appended, never changed or
 * removed, so an entry's index is a stable name for its string for the
 * life of the pool, and a volatile cache of the table (the Python binding
 * keeps one in each direction) stays valid except for appends a rolled
 * back transaction undid.  The slot is EMPTY or None while the table has
 * no entries yet; the first append creates the list.  gc marks both tables
 * from the root, so their strings are never collected.
 *
 * The type table (root->type_table) holds the class paths "module:qualname"
 * of user types; entry i is type code PMO_T_FIRST_USER + i, the code stored
 * in the pmo_head of every instance.
 *
 * The name table (root->attr_names) holds attribute names of
 * PersistentObjects; an object's attribute table refers to names by their
 * index here (see object.h), so a name costs its bytes once per pool
 * instead of once per object, and finding an attribute compares integers.
 * The price: names are never freed.  Objects whose attribute names are
 * generated at run time should keep those values in a PersistentDict.
 *
 * All functions validate what they read (a damaged table gives EIO, never
 * a wild read).  Appends run inside the caller's transaction.
 */
#ifndef PMO_TYPES_H
#define PMO_TYPES_H

#include <stddef.h>
#include <stdint.h>

#include "heap.h"
#include "list.h"
#include "value.h"

/* The list of a table in a slot of the root (a string table here, the
 * shapes of shape.h): NULL with errno 0 while the pool has none (EMPTY or
 * None), NULL with errno EIO if the slot holds anything but a list. */
pmo_list *pmo_root_table(const pmo_pool *p, pmo_slot tab);

/* Number of entries of the table in slot tab (0 if it has none); -1 with
 * errno EIO if the slot does not hold a well-formed list. */
int64_t pmo_strtab_len(const pmo_pool *p, pmo_slot tab);

/* Entry i (< len), a str object, into *out; -1 with errno EIO or EINVAL. */
int pmo_strtab_get(const pmo_pool *p, pmo_slot tab, uint64_t i, pmo_var *out);

/* Index of the entry equal to the n bytes at s; -1 if there is none,
 * -2 (errno EIO) if the table is damaged.  Linear: callers cache. */
int64_t pmo_strtab_find(const pmo_pool *p, pmo_slot tab, const char *s, size_t n);

/* Append the n bytes at s to the table in *tab (a slot of the root),
 * creating the table if needed, in the current transaction.  Returns the
 * new entry's index, -1 on failure.  Does not look for an equal entry. */
int64_t pmo_strtab_append(pmo_pool *p, pmo_slot *tab, const char *s, size_t n);

/* --- the type table --------------------------------------------------- */

#define PMO_MAX_USER_TYPES ((uint64_t)UINT32_MAX - PMO_T_FIRST_USER)

/* Code of the class path, registering it (in the current transaction) if
 * the table does not hold it yet.  0 on failure. */
uint32_t pmo_type_register(pmo_pool *p, const char *path, size_t n);

/* Code of the class path if registered, else 0 (errno 0), or 0 with
 * errno EIO if the table is damaged. */
uint32_t pmo_type_lookup(const pmo_pool *p, const char *path, size_t n);

/* The class path (NUL-terminated UTF-8) of a user type code, or NULL
 * with errno EINVAL (no such code) or EIO. */
const char *pmo_type_path(const pmo_pool *p, uint32_t code, size_t *n);

/* --- the attribute name table ----------------------------------------- */

/* Index of a name, interning it (in the current transaction) if it is
 * new.  -1 on failure. */
int64_t pmo_name_intern(pmo_pool *p, const char *name, size_t n);

/* Index of a name if interned, -1 if not, -2 (errno EIO) if damaged. */
int64_t pmo_name_lookup(const pmo_pool *p, const char *name, size_t n);

/* The name with index i, or NULL with errno EINVAL/EIO. */
const char *pmo_name_get(const pmo_pool *p, uint64_t i, size_t *n);

#endif

/*
 * hash.c: FNV-1a 64. Each function folds more input into h, so a key made
 * of parts is hashed as hash_str(hash_byte(hash_str(HASH_INIT, a), 0), b).
 */
#include <ctype.h>

#include "hash.h"

#define FNV_PRIME 1099511628211ULL

uint64_t
hash_byte(uint64_t h, unsigned char c)
{
	return (h ^ c) * FNV_PRIME;
}

uint64_t
hash_bytes(uint64_t h, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		h = hash_byte(h, p[i]);
	return h;
}

uint64_t
hash_str(uint64_t h, const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		h = hash_byte(h, *p);
	return h;
}

/* As hash_str over the string in ASCII lower case (host names, folded keys). */
uint64_t
hash_str_lower(uint64_t h, const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		h = hash_byte(h, (unsigned char)tolower(*p));
	return h;
}

/*
 * hash.h: FNV-1a, the one string hash of sopd's tables (incidents, keys,
 * expectations, the matcher's literals, RELP's recent messages).
 */
#ifndef SOPD_HASH_H
#define SOPD_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_INIT 14695981039346656037ULL /* FNV-1a 64 offset basis */

uint64_t hash_bytes(uint64_t, const void *, size_t);
uint64_t hash_str(uint64_t, const char *);
uint64_t hash_str_lower(uint64_t, const char *);
uint64_t hash_byte(uint64_t, unsigned char);

#endif

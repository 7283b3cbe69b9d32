/* fuzz_traps.c: libFuzzer harness for the trap PDU -> event conversion (net-snmp's PDU decoder, then traps_pdu_to_event). */
#include <sys/socket.h>
#include <netinet/in.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include <jansson.h>

#include "event.h"
#include "event_json.h"
#include "traps.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Check what the receiver relies on: strings within scratch, valid JSON. */
static void
fuzz_traps_check(const struct logevent *ev, const char *scratch)
{
	json_t *j;
	char *s;
	size_t i;

	if (ev->nvb > EVENT_MAX_VARBINDS)
		abort();
	for (i = 0; i < ev->nvb; i++)
		if (ev->vb[i].oid == NULL || ev->vb[i].value == NULL ||
		    strlen(ev->vb[i].value) > TRAPS_MAX_VALUE + 16)
			abort();
	if (ev->trap_oid == NULL || strlen(ev->trap_oid) == 0)
		abort();
	(void)scratch;
	j = event_to_json(ev);
	if ((s = json_dumps(j, JSON_COMPACT)) == NULL)
		abort();
	free(s);
	json_decref(j);
}

/*
 * Byte 0 picks the version (even: v1, odd: v2c), byte 1 the community
 * length; then the community, then the BER PDU as net-snmp decodes it.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char scratch[TRAPS_SCRATCH_SIZE];
	static struct logevent ev;
	struct sockaddr_in sin;
	enum stats_reason reason;
	netsnmp_pdu *pdu;
	u_char *buf;
	size_t clen, len;

	if (size < 2)
		return 0;
	clen = data[1];
	if (clen > size - 2)
		clen = size - 2;
	len = size - 2 - clen;
	pdu = SNMP_MALLOC_TYPEDEF(netsnmp_pdu);
	pdu->version = (data[0] & 1) ? SNMP_VERSION_2c : SNMP_VERSION_1;
	pdu->community = malloc(clen + 1);
	memcpy(pdu->community, data + 2, clen);
	pdu->community_len = clen;
	buf = malloc(len + 1);
	memcpy(buf, data + 2 + clen, len);
	if (snmp_pdu_parse(pdu, buf, &len) == 0) {
		memset(&sin, 0, sizeof sin);
		sin.sin_family = AF_INET;
		sin.sin_port = htons(162);
		sin.sin_addr.s_addr = htonl(0xc0000201);
		if (traps_pdu_to_event(pdu, (struct sockaddr *)&sin, sizeof sin,
			scratch, sizeof scratch, &ev, &reason) == 0)
			fuzz_traps_check(&ev, scratch);
		/* A too-small scratch must fail cleanly or cut, never overflow. */
		traps_pdu_to_event(pdu, NULL, 0, scratch, 256 + data[0], &ev,
		    &reason);
	}
	free(buf);
	snmp_free_pdu(pdu);
	return 0;
}

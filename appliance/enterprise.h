/* enterprise.h: the Private Enterprise Number that sopd's OIDs, SNMPv3
 * engineID and RFC 5424 SD-IDs live under. */
#ifndef SOPD_ENTERPRISE_H
#define SOPD_ENTERPRISE_H

/*
 * sopEnterprise in mibs/SOP-APPLIANCE-MIB.txt must hold the same number
 * (tests/integration/mib.sh checks both). 32473 is the number RFC 5612
 * reserves for documentation; a deployment with its own PEN changes it here
 * and in the MIB.
 */
#define SOP_ENTERPRISE 32473

#define SOP_ENTERPRISE_STR_(n)	#n
#define SOP_ENTERPRISE_STR_X(n) SOP_ENTERPRISE_STR_(n)
/* The number as a string literal ("32473"). */
#define SOP_ENTERPRISE_STR	SOP_ENTERPRISE_STR_X(SOP_ENTERPRISE)

#endif

/*
 * sopbench.c: sopd's load generator: syslog over UDP and SNMP v2c traps with
 * sequence numbers at a target rate to 127.0.0.1, SNMPv3 traps built ahead
 * with net-snmp's library, and the benchmark rule sets.
 */

#include <sys/socket.h>
#include <sys/uio.h>

#include <netinet/in.h>
#include <netinet/udp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef SOL_UDP
#define SOL_UDP IPPROTO_UDP
#endif

#define POOL_SIZE    16384 /* pre-rendered messages, reused in turn */
#define MSG_MAX	     1024  /* longest message (GSO needs 64 per buffer) */
#define GSO_SEGS     64	   /* datagrams per GSO buffer (UDP_MAX_SEGMENTS) */
#define GSO_BUFS     8	   /* GSO buffers per sendmmsg */
#define TRAP_BATCH   64	   /* traps per sendmmsg */
#define MAX_DURATION 600.0 /* seconds */
#define MAX_RATE     10000000.0 /* messages per second */
#define MAX_RULES    100000
#define SEQ_DIGITS   9
#define HIT_EVERY    32 /* one message in 32 matches a bench rule */
#define HIT_SLOTS    64 /* distinct incidents the hits update */
#define NFAMILIES    6	/* kinds of generated rules; the last: traps */
#define BENCH_ENT    "1.3.6.1.4.1.32473.99" /* bench notifications */
#define NM_EVERY     40	  /* near-miss mix: 2 hits in 40 lines */
#define NM_PAD	     208  /* its batched datagrams' size at any rule count */
#define RECV_BATCH   64	  /* datagrams per recvmmsg (as sopd) */
#define RECV_BUFSIZE 8192 /* bytes per datagram buffer */
#define RECV_RCVBUF  (32 << 20) /* as sopd's default udp_rcvbuf */
#define V3_MAX	     2000000	/* SNMPv3 traps in one file */
#define V3_PKT_MAX   2048	/* bytes of one SNMPv3 trap */

/* What to send and how. */
struct opts {
	int batch;	     /* sendmmsg (+ GSO for syslog) */
	double rate;	     /* messages/s, 0: as fast as possible */
	double duration;     /* seconds */
	unsigned long count; /* 0: no count limit */
	unsigned long start; /* first sequence number */
	unsigned port;
	size_t size;	  /* batch mode: fixed datagram size */
	unsigned rules;	  /* rules in the set: hits spread over them */
	const char *kind; /* "mixed", "nearmiss" or "incident" */
	const char *out;  /* recv: file that holds the count */
	const char *community;
	const char *file;     /* trap: send the packets of this file */
	const char *user;     /* v3traps: USM user, level, keys, engineID */
	const char *level;    /* authPriv or authNoPriv */
	const char *authpass; /* SHA */
	const char *privpass; /* AES */
	const char *engine;   /* the sender's engineID, hex */
	unsigned long npool;  /* messages in the pool */
};

/* One pre-rendered message with the place of its sequence digits. */
struct msg {
	char *buf;
	size_t len;
	size_t seqoff; /* offset of SEQ_DIGITS digits */
	size_t reqoff; /* traps: offset of the 4-byte request-id */
};

/* The token bucket and the counters of one run. */
struct pacer {
	double rate;
	double tokens;
	double burst;
	double last;
	double t0;
	unsigned long sent;
	unsigned long errors;
	int lasterr; /* errno of the last failed send */
};

static const char *subsys[] = {
	"disk",
	"raid",
	"fan",
	"psu",
	"bgp",
	"ospf",
	"vrrp",
	"lacp",
	"nfs",
	"iscsi",
	"multipath",
	"zfs",
	"lvm",
	"mdadm",
	"smart",
	"ipmi",
	"bmc",
	"ntp",
	"dns",
	"dhcp",
	"ldap",
	"krb",
	"radius",
	"tacacs",
	"vpn",
	"ipsec",
	"firewall",
	"nat",
	"proxy",
	"cache",
	"queue",
	"broker",
	"kafka",
	"redis",
	"mysql",
	"pgsql",
	"mongo",
	"elastic",
	"backup",
	"tape",
	"ups",
	"pdu",
	"hvac",
	"camera",
	"badge",
	"printer",
	"voip",
	"wlan",
	"switch",
	"router",
};
#define NSUBSYS (sizeof(subsys) / sizeof(subsys[0]))

static const char *programs[] = {
	"sshd",
	"CRON",
	"systemd",
	"kernel",
	"postfix/smtpd",
	"nginx",
	"dhclient",
	"ntpd",
	"rsyslogd",
	"dockerd",
	"kubelet",
	"sudo",
};
#define NPROGRAMS (sizeof(programs) / sizeof(programs[0]))

/* Print a message and exit with status 1. */
static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sopbench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* Monotonic time in seconds. */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Sleep for a number of seconds (short sleeps included). */
static void
sleep_for(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Parse a number within bounds or die. */
static double
number(const char *s, double lo, double hi, const char *what)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		die("%s must be a number from %g to %g", what, lo, hi);
	return v;
}

/* The subsystem word and number that make rule i's literals distinct. */
static void
rule_words(unsigned i, const char **sub, unsigned *k)
{
	*sub = subsys[(i / NFAMILIES) % NSUBSYS];
	*k = i / (NFAMILIES * NSUBSYS);
}

/* Print rule i of the benchmark set as YAML (six families, like rules/). */
static void
rule_print(FILE *f, unsigned i)
{
	const char *sub;
	unsigned k;

	rule_words(i, &sub, &k);
	fprintf(f, "  - name: bench-%04u\n", i);
	switch (i % NFAMILIES) {
	case 0:
		fprintf(f,
		    "    match:\n"
		    "      message: '%s%u I/O error on (?<dev>\\S+) sector "
		    "(?<sector>\\d+)'\n"
		    "    severity: critical\n"
		    "    title: '%s%u I/O error on {dev}'\n"
		    "    key: '{rule}:{host}:{dev}'\n",
		    sub, k, sub, k);
		break;
	case 1:
		fprintf(f,
		    "    match:\n"
		    "      program: %sd\n"
		    "      message: '%s%u peer (?<peer>[0-9.]+) went down'\n"
		    "    severity: high\n"
		    "    title: '%s%u peer {peer} down on {host}'\n"
		    "    key: '{rule}:{host}:{peer}'\n"
		    "    clear:\n"
		    "      program: %sd\n"
		    "      message: '%s%u peer (?<peer>[0-9.]+) came up'\n",
		    sub, sub, k, sub, k, sub, sub, k);
		break;
	case 2:
		fprintf(f,
		    "    match:\n"
		    "      message: '%%%s-3-FAULT%u: (?<unit>\\S+) changed "
		    "state "
		    "to (?<state>failed|down)'\n"
		    "    severity: high\n"
		    "    title: '%s fault %u: {unit} {state}'\n"
		    "    key: '{rule}:{host}:{unit}'\n",
		    sub, k, sub, k);
		break;
	case 3:
		fprintf(f,
		    "    match:\n"
		    "      program: %s%u-agent\n"
		    "      message: 'health check failed'\n"
		    "    severity: medium\n"
		    "    title: '%s%u agent unhealthy on {host}'\n",
		    sub, k, sub, k);
		break;
	case 4:
		fprintf(f,
		    "    match:\n"
		    "      message: 'backup job (?<job>%s%u-\\w+) failed: "
		    "(?<reason>.+)'\n"
		    "    severity: high\n"
		    "    title: 'backup {job} failed'\n"
		    "    key: '{rule}:{host}:{job}'\n",
		    sub, k);
		break;
	default:
		fprintf(f,
		    "    match:\n"
		    "      trap_oid: " BENCH_ENT ".0.%u\n"
		    "    severity: medium\n"
		    "    title: '%s%u notification from {host}'\n",
		    i, sub, k);
		break;
	}
}

static void incident_rules_print(void);

/* Print the rule set of n rules plus the two incident-per-id rules. */
static void
rules_print(unsigned n)
{
	unsigned i;

	printf("# Benchmark rule set: %u distinct rules (bench/sopbench.c).\n"
	       "rules:\n",
	    n);
	for (i = 0; i < n; i++)
		rule_print(stdout, i);
	incident_rules_print();
}

/* Print the two rules that open one incident per captured id. */
static void
incident_rules_print(void)
{
	unsigned i;

	for (i = 0; i < 2; i++) {
		printf("  - name: bench-open-%c\n"
		       "    match:\n"
		       "      program: benchapp\n"
		       "      message: 'ticket%c id=(?<id>\\d+) opened'\n"
		       "    severity: low\n"
		       "    title: 'bench ticket {id}'\n"
		       "    key: '{rule}:{id}'\n",
		    'a' + i, 'a' + i);
	}
}

/* Linux noise for the near-miss mix: sshd, CRON, systemd, kernel, dhcpd,
 * postfix. */
static void
linux_noise(char *buf, size_t size, unsigned n, char *prog, size_t progsize)
{
	static const char *p[] = { "sshd", "CRON", "systemd", "kernel", "dhcpd",
		"postfix/smtpd" };

	snprintf(prog, progsize, "%s", p[n / 2 % 6]);
	switch (n / 2 % 6) {
	case 0:
		snprintf(buf, size,
		    "Failed password for invalid user oracle "
		    "from 203.0.113.%u port %u ssh2",
		    n % 250, 1024 + n % 60000);
		break;
	case 1:
		snprintf(buf, size,
		    "(root) CMD (command -v debian-sa1 > "
		    "/dev/null && debian-sa1 1 1)");
		break;
	case 2:
		snprintf(buf, size,
		    "Started session-%u.scope - Session %u of "
		    "User deploy.",
		    n, n);
		break;
	case 3:
		snprintf(buf, size,
		    "[%u.%06u] e1000e: eth%u NIC Link is Up "
		    "1000 Mbps Full Duplex, Flow Control: Rx/Tx",
		    n % 99999, n % 999999, n % 4);
		break;
	case 4:
		snprintf(buf, size,
		    "DHCPREQUEST for 10.2.%u.%u from "
		    "52:54:00:%02x:%02x:%02x via eth1",
		    n % 200, n % 250, n % 256, n / 7 % 256, n / 13 % 256);
		break;
	default:
		snprintf(buf, size,
		    "disconnect from mail%u.example.net"
		    "[192.0.2.%u] ehlo=1 mail=1 rcpt=1 data=1 quit=1 "
		    "commands=5",
		    n % 50, n % 250);
		break;
	}
}

/*
 * The near-miss mix: Cisco-style rules "%FAC-[0-7]-MNEMONIC: body" over 25
 * facilities and 40 mnemonic words (numbered past 1,000 rules), each body a
 * regex with alternations, classes and counted repeats; lines with the same
 * facilities and bodies but a mnemonic no rule uses make every engine do
 * partial-match work.
 */
static const char *cisco_fac[] = {
	"LINK",
	"LINEPROTO",
	"SYS",
	"OSPF",
	"BGP",
	"EIGRP",
	"HSRP",
	"SPANTREE",
	"DOT1X",
	"AUTHMGR",
	"SEC_LOGIN",
	"SSH",
	"SNMP",
	"PLATFORM",
	"ENVMON",
	"PM",
	"CDP",
	"LLDP",
	"DHCP_SNOOPING",
	"IP",
	"TCP",
	"NTP",
	"ILPOWER",
	"STACKMGR",
	"CRYPTO",
};
#define NFAC (sizeof(cisco_fac) / sizeof(cisco_fac[0]))

static const char *cisco_mnem[] = {
	"UPDOWN",
	"CHANGED",
	"ADJCHG",
	"NBRCHG",
	"STATECHANGE",
	"CONFIG_I",
	"RESTART",
	"ERR",
	"FAIL",
	"NOTIFY",
	"LOGIN_FAILED",
	"AUTHFAIL",
	"INVALID",
	"DUPADDR",
	"MACFLAP_NOTIF",
	"BLOCKED",
	"TOPOTRAP",
	"FANFAIL",
	"PSUFAIL",
	"TEMP",
	"OVERLOAD",
	"THRESHOLD",
	"TIMEOUT",
	"REJECT",
	"DENIED",
	"LOSTCONN",
	"SYNCFAIL",
	"RETRY",
	"HIGHCPU",
	"LOWMEM",
	"CRCERR",
	"DROPPED",
	"FLAP",
	"ERR_DISABLE",
	"RECOVERY",
	"PORTSEC",
	"VIOLATION",
	"MISMATCH",
	"DOWN",
	"EXPIRED",
};
#define NMNEM (sizeof(cisco_mnem) / sizeof(cisco_mnem[0]))

/* Body regexes (YAML single-quoted) and printf formats of lines they take. */
static const char *cisco_body_re[] = {
	"Interface (?:GigabitEthernet|TenGigabitEthernet|FastEthernet)"
	"[0-9]/[0-9]{1,2}(?:/[0-9]{1,2})?, changed state to "
	"(?:down|administratively down)",
	"Line protocol on Interface (?:Vlan|Port-channel)[0-9]{1,4}, "
	"changed state to (?:down|up)",
	"Neighbor (?<peer>[0-9]{1,3}(?:\\.[0-9]{1,3}){3}) (?:Down|Up) "
	"(?:BGP Notification sent|Hold Timer Expired|Peer closed)",
	"Process [0-9]{1,5}, Nbr [0-9.]{7,15} on [A-Za-z]+[0-9/.]+ from "
	"(?:FULL|LOADING) to (?:DOWN|INIT), Neighbor Down",
	"Login failed \\[user: [a-z0-9_]{1,32}\\] \\[Source: [0-9.]{7,15}\\] "
	"\\[localport: [0-9]{2,5}\\]",
	"(?:Fan|Power Supply) [0-9] (?:is not functioning|has failed|"
	"was removed)",
	"Temperature (?:sensor|probe) [0-9]{1,2} reading [0-9]{2,3}C exceeds "
	"(?:major|critical) threshold",
	"Host [0-9a-f]{4}\\.[0-9a-f]{4}\\.[0-9a-f]{4} in vlan [0-9]{1,4} is "
	"flapping between port [A-Za-z]+[0-9/]+ and port [A-Za-z]+[0-9/]+",
	"(?:Authentication|Authorization) (?:failed|rejected) for client "
	"\\([0-9a-f.]{14}\\) on Interface [A-Za-z]+[0-9/]+",
	"CPU utilization for (?:five seconds|one minute|five minutes): "
	"[0-9]{2,3}%/[0-9]{1,3}%; exceeds threshold of [0-9]{2}%",
};
#define NBODY (sizeof(cisco_body_re) / sizeof(cisco_body_re[0]))

/* The mnemonic of index j: the word, numbered from the second round on. */
static void
cisco_mnemonic(char *buf, size_t size, unsigned j, int unused)
{
	if (unused)
		snprintf(buf, size, "%sX", cisco_mnem[j % NMNEM]);
	else if (j < NMNEM)
		snprintf(buf, size, "%s", cisco_mnem[j]);
	else
		snprintf(buf, size, "%s%u", cisco_mnem[j % NMNEM],
		    (unsigned)(j / NMNEM));
}

/* Print the near-miss rule set of n Cisco rules (and the incident rules). */
static void
cisco_rules_print(unsigned n)
{
	char mn[64];
	unsigned i, j;

	printf("# Benchmark rule set (near-miss mix): %u Cisco-style rules "
	       "(bench/sopbench.c).\nrules:\n",
	    n);
	for (i = 0; i < n; i++) {
		j = i / NFAC;
		cisco_mnemonic(mn, sizeof(mn), j, 0);
		printf("  - name: cisco-%05u\n"
		       "    match:\n"
		       "      message: '%%%s-[0-7]-%s: %s'\n"
		       "    severity: %s\n"
		       "    title: '%s-%s on {host}'\n"
		       "    key: '{rule}:{host}'\n",
		    i, cisco_fac[i % NFAC], mn, cisco_body_re[j % NBODY],
		    j % 3 == 0 ? "high" : "medium", cisco_fac[i % NFAC], mn);
	}
	incident_rules_print();
}

/* A line that body b's regex takes, varied by n. */
static void
cisco_body_text(char *buf, size_t size, unsigned b, unsigned n)
{
	static const char *ifs[] = { "GigabitEthernet", "TenGigabitEthernet",
		"FastEthernet" };

	switch (b % NBODY) {
	case 0:
		snprintf(buf, size,
		    "Interface %s%u/0/%u, changed state to "
		    "down",
		    ifs[n % 3], n % 4, 1 + n % 48);
		break;
	case 1:
		snprintf(buf, size,
		    "Line protocol on Interface Vlan%u, "
		    "changed state to down",
		    1 + n % 4000);
		break;
	case 2:
		snprintf(buf, size,
		    "Neighbor 10.%u.%u.%u Down Hold Timer "
		    "Expired",
		    n % 250, n % 13, 1 + n % 250);
		break;
	case 3:
		snprintf(buf, size,
		    "Process %u, Nbr 10.0.%u.%u on "
		    "GigabitEthernet0/%u from FULL to DOWN, Neighbor Down",
		    1 + n % 100, n % 250, 1 + n % 250, n % 48);
		break;
	case 4:
		snprintf(buf, size,
		    "Login failed [user: admin%u] [Source: "
		    "10.9.%u.%u] [localport: 22]",
		    n % 100, n % 250, 1 + n % 250);
		break;
	case 5:
		snprintf(buf, size, "%s %u has failed",
		    n % 2 ? "Fan" : "Power Supply", n % 8);
		break;
	case 6:
		snprintf(buf, size,
		    "Temperature sensor %u reading %uC exceeds "
		    "major threshold",
		    n % 16, 60 + n % 40);
		break;
	case 7:
		snprintf(buf, size,
		    "Host 00%02x.%04x.%04x in vlan %u is "
		    "flapping between port Gi1/0/%u and port Gi1/0/%u",
		    n % 256, n % 65536, (n * 7) % 65536, 1 + n % 4000,
		    1 + n % 48, 1 + (n + 1) % 48);
		break;
	case 8:
		snprintf(buf, size,
		    "Authentication failed for client "
		    "(%04x.%04x.%04x) on Interface Gi1/0/%u",
		    n % 65536, (n * 3) % 65536, (n * 5) % 65536, 1 + n % 48);
		break;
	default:
		snprintf(buf, size,
		    "CPU utilization for five seconds: "
		    "%u%%/%u%%; exceeds threshold of 80%%",
		    81 + n % 18, n % 20);
		break;
	}
}

/* The near-miss mix's text of line n and its program (Cisco or Linux). */
static void
nearmiss_text(char *buf, size_t size, unsigned n, const struct opts *o,
    char *prog, size_t progsize, unsigned *host)
{
	char mn[64], body[256];
	unsigned k = n % NM_EVERY, r, j, slot;

	if (k == 0 || k == NM_EVERY / 2) {
		/* 5%: a hit on a rule spread over the set, HIT_SLOTS keys */
		slot = n / (NM_EVERY / 2) % HIT_SLOTS;
		r = slot * o->rules / HIT_SLOTS;
		j = r / NFAC;
		*host = slot;
		cisco_mnemonic(mn, sizeof(mn), j, 0);
		cisco_body_text(body, sizeof(body), j % NBODY, n);
		snprintf(prog, progsize, "%u", 100000 + n % 900000);
		snprintf(buf, size, "%%%s-%u-%s: %s", cisco_fac[r % NFAC],
		    1 + n % 6, mn, body);
	} else if ((k % 2 == 1 && k != NM_EVERY - 1)) {
		/* 47.5%: same facilities and bodies, a mnemonic no rule has */
		j = n * 40503u % (NMNEM * 10);
		cisco_mnemonic(mn, sizeof(mn), j, 1);
		cisco_body_text(body, sizeof(body), j % NBODY, n);
		snprintf(prog, progsize, "%u", 100000 + n % 900000);
		snprintf(buf, size, "%%%s-%u-%s: %s", cisco_fac[n * 7u % NFAC],
		    1 + n % 6, mn, body);
	} else
		linux_noise(buf, size, n, prog, progsize);
}

/* The message text that rule i matches (or nearly, when miss is set). */
static void
rule_text(char *buf, size_t size, unsigned i, unsigned n, int miss, char *prog,
    size_t progsize)
{
	const char *sub;
	unsigned k;

	rule_words(i, &sub, &k);
	snprintf(prog, progsize, "app");
	switch (i % NFAMILIES) {
	case 0:
		if (miss)
			snprintf(buf, size, "%s%u I/O ok on sda%u", sub, k,
			    n % 4);
		else
			snprintf(buf, size, "%s%u I/O error on sd%c sector %u",
			    sub, k, 'a' + n % 4, n * 8 % 99991);
		break;
	case 1:
		snprintf(prog, progsize, "%sd", sub);
		snprintf(buf, size, "%s%u peer 10.%u.%u.1 went %s", sub, k,
		    n % 7, n % 5, miss ? "idle" : "down");
		break;
	case 2:
		snprintf(buf, size,
		    "%%%s-3-FAULT%u: unit%u changed state to %s", sub, k, n % 8,
		    miss ? "ok" : "failed");
		break;
	case 3:
		snprintf(prog, progsize, "%s%u-agent", sub, k);
		snprintf(buf, size, "health check %s",
		    miss ? "passed" : "failed");
		break;
	default:
		snprintf(buf, size, "backup job %s%u-nightly %s: %s", sub, k,
		    miss ? "finished" : "failed",
		    miss ? "ok" : "target unreachable");
		break;
	}
}

/* A realistic line that no bench rule takes. */
static void
noise_text(char *buf, size_t size, unsigned n, char *prog, size_t progsize)
{
	snprintf(prog, progsize, "%s", programs[n % NPROGRAMS]);
	switch (n % NPROGRAMS) {
	case 0:
		snprintf(buf, size,
		    "Accepted publickey for deploy from "
		    "10.%u.%u.%u port %u ssh2",
		    n % 200, n % 13, n % 251, 1024 + n % 60000);
		break;
	case 1:
		snprintf(buf, size,
		    "(root) CMD (/usr/lib/sysstat/debian-sa1 "
		    "1 1)");
		break;
	case 2:
		snprintf(buf, size, "Started Session %u of User deploy.", n);
		break;
	case 3:
		snprintf(buf, size,
		    "[%u.%03u] eth%u: Link is Up - 1Gbps/Full "
		    "- flow control rx/tx",
		    n % 99999, n % 1000, n % 4);
		break;
	case 4:
		snprintf(buf, size,
		    "connect from mail%u.example.net"
		    "[192.0.2.%u]",
		    n % 50, n % 250);
		break;
	case 5:
		snprintf(buf, size,
		    "10.1.%u.%u - - \"GET /api/v2/items/%u "
		    "HTTP/1.1\" 200 %u",
		    n % 200, n % 250, n, 200 + n % 9000);
		break;
	case 6:
		snprintf(buf, size, "DHCPACK of 10.2.%u.%u from 10.2.0.1",
		    n % 200, n % 250);
		break;
	case 7:
		snprintf(buf, size, "adjusting local clock by %u.%06us", n % 2,
		    n % 999999);
		break;
	case 8:
		snprintf(buf, size,
		    "imuxsock: Acquired UNIX socket "
		    "'/run/systemd/journal/syslog' (fd 3) from systemd.");
		break;
	case 9:
		snprintf(buf, size,
		    "time=\"2026-11-27T10:00:00Z\" level=info "
		    "msg=\"container %08x started\"",
		    n * 2654435761u);
		break;
	case 10:
		snprintf(buf, size,
		    "I1127 10:00:00.%06u 1234 kubelet.go:%u] "
		    "SyncLoop (PLEG): pod-%u ContainerStarted",
		    n % 999999, 1000 + n % 999, n % 300);
		break;
	default:
		snprintf(buf, size,
		    "deploy : TTY=pts/%u ; PWD=/home/deploy ; "
		    "USER=root ; COMMAND=/usr/bin/systemctl status nginx",
		    n % 9);
		break;
	}
}

/* The syslog rule at (or just before) index h modulo the set's size. */
static unsigned
syslog_rule(unsigned h, unsigned nrules)
{
	unsigned r = h % nrules;

	return r % NFAMILIES == NFAMILIES - 1 ? r - 1 : r;
}

/* The trap rule of index h's group of six (the last of each group). */
static unsigned
trap_rule(unsigned h, unsigned nrules)
{
	unsigned r = h % nrules;

	r = r - r % NFAMILIES + NFAMILIES - 1;
	return r < nrules ? r : NFAMILIES - 1;
}

/* Render one syslog line with "seq=" digits; return its length. */
static size_t
syslog_render(char *buf, size_t size, unsigned n, const struct opts *o,
    size_t *seqoff)
{
	char text[512], prog[64], stamp[32];
	char seq[] = "seq=000000000";
	struct tm tm;
	time_t t;
	unsigned host, r;
	int len, off, pri;

	host = n % 200;
	if (strcmp(o->kind, "incident") == 0) {
		t = time(NULL);
		localtime_r(&t, &tm);
		strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
		len = snprintf(buf, size,
		    "<134>%s host-%04u benchapp[%u]: "
		    "ticket%c id=%s%n opened",
		    stamp, host, 1000 + n % 30000, n % 2 ? 'b' : 'a', seq + 4,
		    &off);
		*seqoff = (size_t)off - SEQ_DIGITS;
		return (size_t)len;
	}
	if (strcmp(o->kind, "nearmiss") == 0)
		nearmiss_text(text, sizeof(text), n, o, prog, sizeof(prog),
		    &host);
	else if (n % HIT_EVERY == 0) {
		/*
		 * Hits update HIT_SLOTS incidents whatever the set's size, over
		 * rules spread across it, so sets of any size do the same
		 * incident work and differ only in matching.
		 */
		host = n / HIT_EVERY % HIT_SLOTS;
		r = syslog_rule(host * o->rules / HIT_SLOTS, o->rules);
		rule_text(text, sizeof(text), r, host, 0, prog, sizeof(prog));
	} else if (n % HIT_EVERY == 1 || n % HIT_EVERY == 17) {
		r = syslog_rule(n * 40503u, o->rules);
		rule_text(text, sizeof(text), r, n, 1, prog, sizeof(prog));
	} else
		noise_text(text, sizeof(text), n, prog, sizeof(prog));
	pri = (n % 4 == 0 ? 4 : 16 + n % 8) * 8 + (n % 16 == 0 ? 3 : 6);
	t = time(NULL) - n % 3; /* now, as devices with good clocks say */
	if (n % 5 == 0) {
		gmtime_r(&t, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		len = snprintf(buf, size,
		    "<%d>1 %s.%03uZ host-%04u %s %u - "
		    "[meta@32473 seq=\"%s%n\"] %s",
		    pri, stamp, n % 1000, host, prog, 1000 + n % 30000, seq + 4,
		    &off, text);
	} else {
		localtime_r(&t, &tm);
		strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
		len = snprintf(buf, size, "<%d>%s host-%04u %s[%u]: %s%n %s",
		    pri, stamp, host, prog, 1000 + n % 30000, seq, &off, text);
	}
	if (len < 0 || (size_t)len >= size)
		die("message %u too long", n);
	*seqoff = (size_t)off - SEQ_DIGITS;
	return (size_t)len;
}

/* Write a sequence number as fixed-width decimal digits. */
static void
seq_patch(char *p, unsigned long seq)
{
	int i;

	for (i = SEQ_DIGITS - 1; i >= 0; i--) {
		p[i] = '0' + seq % 10;
		seq /= 10;
	}
}

/* Append a BER length; return bytes written. */
static size_t
ber_len(unsigned char *p, size_t len)
{
	if (len < 0x80) {
		p[0] = len;
		return 1;
	}
	if (len < 0x100) {
		p[0] = 0x81;
		p[1] = len;
		return 2;
	}
	p[0] = 0x82;
	p[1] = len >> 8;
	p[2] = len & 0xff;
	return 3;
}

/* Wrap len bytes at p (already in place) into a TLV; return the new length. */
static size_t
ber_wrap(unsigned char *p, unsigned char tag, size_t len)
{
	unsigned char hdr[4];
	size_t h;

	hdr[0] = tag;
	h = 1 + ber_len(hdr + 1, len);
	memmove(p + h, p, len);
	memcpy(p, hdr, h);
	return h + len;
}

/* Encode a non-negative INTEGER-like value (minimal form); return length. */
static size_t
ber_uint(unsigned char *p, unsigned char tag, uint32_t v)
{
	unsigned char tmp[5];
	size_t n = 0, i;

	do {
		tmp[n++] = v & 0xff;
		v >>= 8;
	} while (v != 0);
	if (tmp[n - 1] & 0x80)
		tmp[n++] = 0;
	p[0] = tag;
	p[1] = n;
	for (i = 0; i < n; i++)
		p[2 + i] = tmp[n - 1 - i];
	return 2 + n;
}

/* Encode a dotted OID value (tag 0x06); return length. */
static size_t
ber_oid(unsigned char *p, const char *dotted)
{
	unsigned long sub[64];
	size_t n = 0, len = 0, i;
	unsigned char tmp[8];
	const char *s = dotted;
	char *end;
	int k;

	while (*s != '\0' && n < 64) {
		sub[n++] = strtoul(s, &end, 10);
		s = *end == '.' ? end + 1 : end;
		if (end == s && *end != '\0')
			die("bad OID %s", dotted);
	}
	if (n < 2)
		die("bad OID %s", dotted);
	p[2 + len++] = sub[0] * 40 + sub[1];
	for (i = 2; i < n; i++) {
		k = 0;
		do {
			tmp[k++] = sub[i] & 0x7f;
			sub[i] >>= 7;
		} while (sub[i] != 0);
		while (k-- > 0)
			p[2 + len++] = tmp[k] | (k > 0 ? 0x80 : 0);
	}
	p[0] = 0x06;
	p[1] = len;
	return 2 + len;
}

/* Append one varbind (OID and an already encoded value); return length. */
static size_t
ber_varbind(unsigned char *p, const char *oid, const unsigned char *val,
    size_t vlen)
{
	size_t len;

	len = ber_oid(p, oid);
	memcpy(p + len, val, vlen);
	return ber_wrap(p, 0x30, len + vlen);
}

/* Encode an OCTET STRING; return length. */
static size_t
ber_str(unsigned char *p, const char *s)
{
	size_t n = strlen(s);

	p[0] = 0x04;
	p[1] = n;
	memcpy(p + 2, s, n);
	return 2 + n;
}

/* The notification OID and the varbinds after the standard two, for trap n. */
static size_t
trap_body(unsigned char *p, unsigned n, const struct opts *o,
    const char **trapoid, char *oidbuf, size_t oidsize)
{
	unsigned char val[64];
	char vbo[64], seq[] = "seq=000000000";
	size_t len = 0, vl;
	unsigned ifindex = 1 + n % 48;

	if (n % HIT_EVERY == 0) {
		snprintf(oidbuf, oidsize, BENCH_ENT ".0.%u",
		    trap_rule(n / HIT_EVERY % HIT_SLOTS * o->rules / HIT_SLOTS,
			o->rules));
		*trapoid = oidbuf;
	} else if (n % 4 == 1) {
		*trapoid =
		    n % 8 == 1 ? "1.3.6.1.6.3.1.1.5.4" : "1.3.6.1.6.3.1.1.5.3";
		snprintf(vbo, sizeof(vbo), "1.3.6.1.2.1.2.2.1.1.%u", ifindex);
		vl = ber_uint(val, 0x02, ifindex);
		len += ber_varbind(p + len, vbo, val, vl);
		snprintf(vbo, sizeof(vbo), "1.3.6.1.2.1.2.2.1.8.%u", ifindex);
		vl = ber_uint(val, 0x02, n % 8 == 1 ? 1 : 2);
		len += ber_varbind(p + len, vbo, val, vl);
	} else
		*trapoid = "1.3.6.1.4.1.8072.2.3.0.1";
	vl = ber_str(val, seq);
	len += ber_varbind(p + len, BENCH_ENT ".1.1.0", val, vl);
	return len;
}

/* Render one v2c trap PDU; record where its request-id and seq digits are. */
static size_t
trap_render(unsigned char *buf, unsigned n, const struct opts *o,
    size_t *reqoff, size_t *seqoff)
{
	unsigned char vbl[1024], val[64], *p;
	char oidbuf[64];
	const char *trapoid;
	size_t len, rest, hdr, pdu, total, off;

	len = ber_varbind(vbl, "1.3.6.1.2.1.1.3.0", val,
	    ber_uint(val, 0x43, 100 * n + 12345));
	rest = trap_body(vbl + 512, n, o, &trapoid, oidbuf, sizeof(oidbuf));
	len += ber_varbind(vbl + len, "1.3.6.1.6.3.1.1.4.1.0", val,
	    ber_oid(val, trapoid));
	memcpy(vbl + len, vbl + 512, rest);
	len = ber_wrap(vbl, 0x30, len + rest);

	p = buf;
	hdr = ber_uint(p, 0x02, 1); /* version v2c */
	hdr += ber_str(p + hdr, o->community);
	pdu = ber_uint(p + hdr, 0x02, 0x10000000 | n); /* request-id */
	pdu += ber_uint(p + hdr + pdu, 0x02, 0);
	pdu += ber_uint(p + hdr + pdu, 0x02, 0);
	memcpy(p + hdr + pdu, vbl, len);
	pdu = ber_wrap(p + hdr, 0xa7, pdu + len);
	total = ber_wrap(p, 0x30, hdr + pdu);
	/* Locate the patch points by searching the rendered bytes. */
	for (off = 0; off + 4 <= total; off++)
		if (memcmp(buf + off, "seq=", 4) == 0)
			*seqoff = off + 4;
	for (off = 0; off + 6 <= total; off++)
		if (buf[off] == 0x02 && buf[off + 1] == 4 &&
		    buf[off + 2] == 0x10) {
			*reqoff = off + 2;
			break;
		}
	return total;
}

static void __attribute__((noreturn)) usage(void);

/* Parse a dotted OID into o (at most max sub-identifiers); return length. */
static size_t
oid_parse(const char *dotted, oid *o, size_t max)
{
	const char *s = dotted;
	char *end;
	size_t n = 0;

	while (*s != '\0') {
		if (n == max)
			die("OID %s too long", dotted);
		o[n++] = strtoul(s, &end, 10);
		if (end == s || (*end != '.' && *end != '\0'))
			die("bad OID %s", dotted);
		s = *end == '.' ? end + 1 : end;
	}
	return n;
}

/* Append a varbind of a dotted OID to a PDU. */
static void
v3_add(netsnmp_pdu *pdu, const char *dotted, u_char type, const void *val,
    size_t len)
{
	oid name[MAX_OID_LEN];
	size_t n;

	n = oid_parse(dotted, name, MAX_OID_LEN);
	if (snmp_pdu_add_variable(pdu, name, n, type, val, len) == NULL)
		die("cannot add varbind %s", dotted);
}

/*
 * The SNMPv2 trap PDU of sequence number seq (trap n of the load), with
 * the varbinds of the v2c load: sysUpTime, snmpTrapOID, the body, seq=.
 */
static netsnmp_pdu *
v3_pdu(unsigned n, unsigned long seq, const struct opts *o,
    const netsnmp_session *sess)
{
	netsnmp_pdu *pdu;
	oid toid[MAX_OID_LEN];
	char oidbuf[64], vbo[64], text[32];
	const char *trapoid = "1.3.6.1.4.1.8072.2.3.0.1";
	long ifindex = 1 + n % 48, status = n % 8 == 1 ? 1 : 2;
	u_long ticks = 100 * (u_long)n + 12345;
	size_t tn;

	if ((pdu = snmp_pdu_create(SNMP_MSG_TRAP2)) == NULL)
		die("out of memory");
	pdu->reqid = pdu->msgid = (long)(0x10000000u | (seq & 0x0fffffff));
	/* What snmp_send would take from the session. */
	pdu->version = SNMP_VERSION_3;
	pdu->securityModel = SNMP_SEC_MODEL_USM;
	pdu->securityLevel = sess->securityLevel;
	pdu->securityName = strdup(sess->securityName);
	pdu->securityNameLen = sess->securityNameLen;
	pdu->securityEngineID =
	    netsnmp_memdup(sess->securityEngineID, sess->securityEngineIDLen);
	pdu->securityEngineIDLen = sess->securityEngineIDLen;
	pdu->contextEngineID =
	    netsnmp_memdup(sess->contextEngineID, sess->contextEngineIDLen);
	pdu->contextEngineIDLen = sess->contextEngineIDLen;
	pdu->contextName = strdup("");
	if (pdu->securityName == NULL || pdu->securityEngineID == NULL ||
	    pdu->contextEngineID == NULL || pdu->contextName == NULL)
		die("out of memory");
	if (n % HIT_EVERY == 0) {
		snprintf(oidbuf, sizeof(oidbuf), BENCH_ENT ".0.%u",
		    trap_rule(n / HIT_EVERY % HIT_SLOTS * o->rules / HIT_SLOTS,
			o->rules));
		trapoid = oidbuf;
	} else if (n % 4 == 1)
		trapoid =
		    n % 8 == 1 ? "1.3.6.1.6.3.1.1.5.4" : "1.3.6.1.6.3.1.1.5.3";
	v3_add(pdu, "1.3.6.1.2.1.1.3.0", ASN_TIMETICKS, &ticks, sizeof(ticks));
	tn = oid_parse(trapoid, toid, MAX_OID_LEN);
	v3_add(pdu, "1.3.6.1.6.3.1.1.4.1.0", ASN_OBJECT_ID, toid,
	    tn * sizeof(oid));
	if (n % HIT_EVERY != 0 && n % 4 == 1) {
		snprintf(vbo, sizeof(vbo), "1.3.6.1.2.1.2.2.1.1.%ld", ifindex);
		v3_add(pdu, vbo, ASN_INTEGER, &ifindex, sizeof(ifindex));
		snprintf(vbo, sizeof(vbo), "1.3.6.1.2.1.2.2.1.8.%ld", ifindex);
		v3_add(pdu, vbo, ASN_INTEGER, &status, sizeof(status));
	}
	snprintf(text, sizeof(text), "seq=%09lu", seq % 1000000000UL);
	v3_add(pdu, BENCH_ENT ".1.1.0", ASN_OCTET_STR, text, strlen(text));
	return pdu;
}

/* Decode a hex engineID ("0x" optional); return its length. */
static size_t
v3_engine(const char *hex, u_char *buf, size_t max)
{
	size_t n = 0;
	unsigned v;

	if (hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X'))
		hex += 2;
	while (hex[0] != '\0' && n < max) {
		if (sscanf(hex, "%2x", &v) != 1 || hex[1] == '\0')
			die("bad engineID");
		buf[n++] = (u_char)v;
		hex += 2;
	}
	if (n < 5 || hex[0] != '\0')
		die("bad engineID");
	return n;
}

/*
 * A USM session as a device's: the user's keys localized once to the
 * sender's engineID (which is authoritative for its traps), engineBoots 1
 * and engineTime the Unix time, so that it grows from run to run.
 */
static netsnmp_session *
v3_session(const struct opts *o, u_char *engine, size_t elen)
{
	netsnmp_session s;
	char peer[32];
	void *h;
	int priv = strcmp(o->level, "authPriv") == 0;

	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
	    NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
	    NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
	setenv("MIBS", "", 1);
	init_snmp("sopbench");
	snmp_sess_init(&s);
	s.version = SNMP_VERSION_3;
	snprintf(peer, sizeof(peer), "udp:127.0.0.1:%u", o->port);
	s.peername = peer; /* opened, never used: the packets go to a file */
	s.securityName = (char *)o->user;
	s.securityNameLen = strlen(o->user);
	s.securityLevel =
	    priv ? SNMP_SEC_LEVEL_AUTHPRIV : SNMP_SEC_LEVEL_AUTHNOPRIV;
	s.securityAuthProto = usmHMACSHA1AuthProtocol;
	s.securityAuthProtoLen = OID_LENGTH(usmHMACSHA1AuthProtocol);
	s.securityAuthKeyLen = USM_AUTH_KU_LEN;
	if (generate_Ku(s.securityAuthProto, s.securityAuthProtoLen,
		(const u_char *)o->authpass, strlen(o->authpass),
		s.securityAuthKey, &s.securityAuthKeyLen) != SNMPERR_SUCCESS)
		die("cannot derive the auth key");
	if (priv) {
		s.securityPrivProto = usmAESPrivProtocol;
		s.securityPrivProtoLen = OID_LENGTH(usmAESPrivProtocol);
		s.securityPrivKeyLen = USM_PRIV_KU_LEN;
		if (generate_Ku(s.securityAuthProto, s.securityAuthProtoLen,
			(const u_char *)o->privpass, strlen(o->privpass),
			s.securityPrivKey,
			&s.securityPrivKeyLen) != SNMPERR_SUCCESS)
			die("cannot derive the priv key");
	}
	s.securityEngineID = s.contextEngineID = engine;
	s.securityEngineIDLen = s.contextEngineIDLen = elen;
	s.engineBoots = 1;
	s.engineTime = (u_int)(time(NULL) & 0x7fffffff);
	if ((h = snmp_sess_open(&s)) == NULL)
		die("v3 session: %s", snmp_api_errstring(snmp_errno));
	return snmp_sess_session(h);
}

/*
 * sopbench v3traps: build count SNMPv3 traps (sequence numbers from start)
 * with net-snmp and write them to a file, each as a 2-byte length and the
 * datagram, for "sopbench trap -f".
 */
static int
v3_build(const struct opts *o)
{
	netsnmp_session *sess;
	netsnmp_pdu *pdu;
	u_char engine[32], *buf, *pkt;
	size_t blen = V3_PKT_MAX, off, elen;
	unsigned long i;
	double t0 = now();
	FILE *f;

	if (o->out == NULL || o->user == NULL || o->authpass == NULL ||
	    o->engine == NULL || o->count == 0 || o->count > V3_MAX)
		usage();
	if (strcmp(o->level, "authPriv") != 0 &&
	    strcmp(o->level, "authNoPriv") != 0)
		die("level is authPriv or authNoPriv");
	if (strcmp(o->level, "authPriv") == 0 && o->privpass == NULL)
		usage();
	elen = v3_engine(o->engine, engine, sizeof(engine));
	sess = v3_session(o, engine, elen);
	if ((f = fopen(o->out, "w")) == NULL)
		die("%s: %s", o->out, strerror(errno));
	if ((buf = malloc(blen)) == NULL)
		die("out of memory");
	for (i = 0; i < o->count; i++) {
		pdu = v3_pdu((unsigned)((o->start + i) % POOL_SIZE),
		    o->start + i, o, sess);
		off = 0;
		if (snmp_build(&buf, &blen, &off, sess, pdu) != 0)
			die("snmp_build: %s",
			    snmp_api_errstring(sess->s_snmp_errno));
		snmp_free_pdu(pdu);
		if (off > 0xffff)
			die("trap of %zu bytes", off);
		pkt = buf + blen - off;
		if (putc((int)(off >> 8), f) == EOF ||
		    putc((int)(off & 0xff), f) == EOF ||
		    fwrite(pkt, 1, off, f) != off)
			die("%s: %s", o->out, strerror(errno));
	}
	if (fclose(f) != 0)
		die("%s: %s", o->out, strerror(errno));
	free(buf);
	printf("mode=v3traps level=%s built=%lu seconds=%.3f first=%lu\n",
	    o->level, o->count, now() - t0, o->start);
	return 0;
}

/* Load the packets of a v3traps file as the pool; *maxlen: the longest. */
static struct msg *
pool_load(const char *path, unsigned long *npool, size_t *maxlen)
{
	struct msg *pool;
	unsigned char *data;
	unsigned long n = 0, cap = 1024;
	size_t size, off = 0, len;
	FILE *f;
	long end;

	if ((f = fopen(path, "r")) == NULL)
		die("%s: %s", path, strerror(errno));
	if (fseek(f, 0, SEEK_END) != 0 || (end = ftell(f)) <= 0 ||
	    fseek(f, 0, SEEK_SET) != 0)
		die("%s: empty or unreadable", path);
	size = (size_t)end;
	if ((data = malloc(size)) == NULL)
		die("out of memory");
	if (fread(data, 1, size, f) != size)
		die("%s: short read", path);
	fclose(f);
	if ((pool = calloc(cap, sizeof(*pool))) == NULL)
		die("out of memory");
	*maxlen = 0;
	while (off + 2 <= size) {
		len = (size_t)data[off] << 8 | data[off + 1];
		if (len == 0 || off + 2 + len > size)
			die("%s: truncated", path);
		if (n == cap &&
		    (pool = reallocarray(pool, cap *= 2, sizeof(*pool))) ==
			NULL)
			die("out of memory");
		pool[n].buf = (char *)data + off + 2;
		pool[n++].len = len;
		if (len > *maxlen)
			*maxlen = len;
		off += 2 + len;
	}
	if (n == 0 || off != size)
		die("%s: not a v3traps file", path);
	*npool = n;
	return pool;
}

/* Build the message pool of the chosen mode. */
static struct msg *
pool_build(const char *mode, const struct opts *o, size_t *maxlen)
{
	struct msg *pool;
	unsigned i;

	if ((pool = calloc(POOL_SIZE, sizeof(*pool))) == NULL)
		die("out of memory");
	*maxlen = 0;
	for (i = 0; i < POOL_SIZE; i++) {
		if ((pool[i].buf = malloc(MSG_MAX)) == NULL)
			die("out of memory");
		if (strcmp(mode, "trap") == 0)
			pool[i].len = trap_render((unsigned char *)pool[i].buf,
			    i, o, &pool[i].reqoff, &pool[i].seqoff);
		else
			pool[i].len = syslog_render(pool[i].buf, MSG_MAX, i, o,
			    &pool[i].seqoff);
		if (pool[i].len > *maxlen)
			*maxlen = pool[i].len;
	}
	return pool;
}

/* Stamp sequence number seq into pool entry m (and the trap request-id). */
static void
msg_stamp(struct msg *m, unsigned long seq, int trap)
{
	unsigned char *r;
	uint32_t id;

	seq_patch(m->buf + m->seqoff, seq % 1000000000UL);
	if (trap) {
		id = 0x10000000u | (uint32_t)(seq & 0x0fffffff);
		r = (unsigned char *)m->buf + m->reqoff;
		r[0] = id >> 24;
		r[1] = id >> 16;
		r[2] = id >> 8;
		r[3] = id;
	}
}

/* The pool entry that carries sequence number seq. */
static struct msg *
pool_at(struct msg *pool, const struct opts *o, unsigned long seq)
{
	if (o->file != NULL)
		return &pool[(seq - o->start) % o->npool];
	return &pool[seq % POOL_SIZE];
}

/* Pad every syslog message to the same size (GSO needs equal segments). */
static void
pool_pad(struct msg *pool, size_t size)
{
	unsigned i;

	for (i = 0; i < POOL_SIZE; i++) {
		if (pool[i].len > size)
			die("--size %zu is below the longest message %zu", size,
			    pool[i].len);
		memset(pool[i].buf + pool[i].len, ' ', size - pool[i].len);
		pool[i].len = size;
	}
}

/*
 * The size batched syslog datagrams are padded to: the longest message,
 * but for the near-miss load NM_PAD whatever the rule count (its longest
 * line grows from 186 bytes with 10 rules to 200 with 10,000), so that sets
 * of every size, and the bare receiver, take datagrams of one size.
 */
static size_t
pad_size(const struct opts *o, size_t maxlen)
{
	if (strcmp(o->kind, "nearmiss") == 0 && maxlen < NM_PAD)
		return NM_PAD;
	return maxlen;
}

/* Open a UDP socket connected to 127.0.0.1:port. */
static int
sock_open(unsigned port)
{
	struct sockaddr_in sin;
	int fd, sndbuf = 4 << 20;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
		die("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		die("connect: %s", strerror(errno));
	return fd;
}

/* Take up to want tokens from the bucket, sleeping until one is there. */
static unsigned long
pacer_take(struct pacer *pc, unsigned long want)
{
	double t, need;

	if (pc->rate <= 0)
		return want;
	for (;;) {
		t = now();
		pc->tokens += (t - pc->last) * pc->rate;
		pc->last = t;
		if (pc->tokens > pc->burst)
			pc->tokens = pc->burst;
		if (pc->tokens >= 1)
			break;
		need = (1 - pc->tokens) / pc->rate;
		sleep_for(need < 0.0002 ? 0.0002 : need);
	}
	if ((double)want > pc->tokens)
		want = (unsigned long)pc->tokens;
	pc->tokens -= (double)want;
	return want;
}

/* How many more messages the limits allow (0: stop). */
static unsigned long
budget(const struct pacer *pc, const struct opts *o, unsigned long want)
{
	if (now() - pc->t0 >= o->duration)
		return 0;
	if (o->count != 0 && pc->sent + want > o->count)
		want = o->count - pc->sent;
	return want;
}

/* One message per send(). */
static void
send_plain(int fd, struct msg *pool, const struct opts *o, struct pacer *pc,
    int trap)
{
	struct msg *m;
	unsigned long n, i;

	while ((n = budget(pc, o, 64)) > 0) {
		n = pacer_take(pc, n);
		for (i = 0; i < n; i++) {
			m = pool_at(pool, o, o->start + pc->sent);
			if (o->file == NULL)
				msg_stamp(m, o->start + pc->sent, trap);
			if (send(fd, m->buf, m->len, 0) == -1) {
				pc->errors++;
				pc->lasterr = errno;
			}
			pc->sent++;
		}
	}
}

/*
 * Batches of up to GSO_BUFS buffers per sendmmsg, each buffer an iovec of
 * up to GSO_SEGS equal-size messages that the kernel splits into datagrams.
 */
static void
send_gso(int fd, struct msg *pool, const struct opts *o, struct pacer *pc)
{
	struct mmsghdr mm[GSO_BUFS];
	struct iovec iov[GSO_BUFS][GSO_SEGS];
	struct msg *m;
	unsigned long n, i, seq;
	int gso = (int)o->size, nb, r, k;

	if (setsockopt(fd, SOL_UDP, UDP_SEGMENT, &gso, sizeof(gso)) == -1)
		die("UDP_SEGMENT: %s", strerror(errno));
	while ((n = budget(pc, o, GSO_BUFS * GSO_SEGS)) > 0) {
		n = pacer_take(pc, n);
		memset(mm, 0, sizeof(mm));
		for (i = 0; i < n; i++) {
			seq = o->start + pc->sent + i;
			m = &pool[seq % POOL_SIZE];
			msg_stamp(m, seq, 0);
			iov[i / GSO_SEGS][i % GSO_SEGS].iov_base = m->buf;
			iov[i / GSO_SEGS][i % GSO_SEGS].iov_len = m->len;
		}
		nb = (int)((n + GSO_SEGS - 1) / GSO_SEGS);
		for (k = 0; k < nb; k++) {
			mm[k].msg_hdr.msg_iov = iov[k];
			mm[k].msg_hdr.msg_iovlen = k < nb - 1 ?
			    GSO_SEGS :
			    n - (unsigned long)k * GSO_SEGS;
		}
		for (k = 0; k < nb; k += r) {
			if ((r = sendmmsg(fd, mm + k, nb - k, 0)) <= 0) {
				pc->errors += mm[k].msg_hdr.msg_iovlen;
				pc->lasterr = errno;
				r = 1;
			}
		}
		pc->sent += n;
	}
}

/* Batches of traps, one datagram per mmsghdr. */
static void
send_mmsg(int fd, struct msg *pool, const struct opts *o, struct pacer *pc)
{
	struct mmsghdr mm[TRAP_BATCH];
	struct iovec iov[TRAP_BATCH];
	struct msg *m;
	unsigned long n, i, seq;
	int r, k;

	while ((n = budget(pc, o, TRAP_BATCH)) > 0) {
		n = pacer_take(pc, n);
		memset(mm, 0, sizeof(mm));
		for (i = 0; i < n; i++) {
			seq = o->start + pc->sent + i;
			m = pool_at(pool, o, seq);
			if (o->file == NULL)
				msg_stamp(m, seq, 1);
			iov[i].iov_base = m->buf;
			iov[i].iov_len = m->len;
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		for (k = 0; k < (int)n; k += r) {
			if ((r = sendmmsg(fd, mm + k, (int)n - k, 0)) <= 0) {
				pc->errors++;
				pc->lasterr = errno;
				r = 1;
			}
		}
		pc->sent += n;
	}
}

/* Print usage and exit. */
static void __attribute__((noreturn)) usage(void)
{
	fprintf(stderr,
	    "usage: sopbench syslog|trap -p port [-b] [-r rate] [-d seconds] "
	    "[-n count]\n"
	    "                [-S start] [-s size] [-R rules] "
	    "[-k mixed|nearmiss|incident]\n"
	    "                [-c community] [-f v3traps-file]\n"
	    "       sopbench v3traps -p port -o file -n count -u user "
	    "[-l authPriv|authNoPriv]\n"
	    "                -A authpass [-X privpass] -e engineID [-S start] "
	    "[-R rules]\n"
	    "       sopbench recv -p port -o file [-d seconds]\n"
	    "       sopbench rules N [mixed|nearmiss]\n"
	    "       sopbench lines N mixed|nearmiss COUNT\n"
	    "Sends only to 127.0.0.1. -b (--batch): sendmmsg, with UDP GSO "
	    "for syslog.\nrecv: a bare recvmmsg receiver on 127.0.0.1:port "
	    "that keeps its datagram count in file.\n"
	    "v3traps: build count SNMPv3 traps (SHA, AES) into file; "
	    "trap -f sends them.\n");
	exit(1);
}

/* Parse the options of the syslog and trap modes. */
static void
opts_parse(int argc, char **argv, struct opts *o)
{
	static const struct option lopts[] = { { "batch", no_argument, NULL,
						   'b' },
		{ "rate", required_argument, NULL, 'r' },
		{ "duration", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'n' },
		{ "start", required_argument, NULL, 'S' },
		{ "port", required_argument, NULL, 'p' },
		{ "size", required_argument, NULL, 's' },
		{ "rules", required_argument, NULL, 'R' },
		{ "kind", required_argument, NULL, 'k' },
		{ "community", required_argument, NULL, 'c' },
		{ "host", required_argument, NULL, 'H' },
		{ "output", required_argument, NULL, 'o' },
		{ "file", required_argument, NULL, 'f' },
		{ "user", required_argument, NULL, 'u' },
		{ "level", required_argument, NULL, 'l' },
		{ "auth-pass", required_argument, NULL, 'A' },
		{ "priv-pass", required_argument, NULL, 'X' },
		{ "engine-id", required_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 } };
	int ch;

	memset(o, 0, sizeof(*o));
	o->duration = 3;
	o->rules = 10;
	o->kind = "mixed";
	o->community = "public";
	o->level = "authPriv";
	while (
	    (ch = getopt_long(argc, argv,
		 "A:bc:d:e:f:H:k:l:n:o:p:R:r:S:s:u:X:", lopts, NULL)) != -1) {
		switch (ch) {
		case 'A':
			o->authpass = optarg;
			break;
		case 'e':
			o->engine = optarg;
			break;
		case 'f':
			o->file = optarg;
			break;
		case 'l':
			o->level = optarg;
			break;
		case 'u':
			o->user = optarg;
			break;
		case 'X':
			o->privpass = optarg;
			break;
		case 'b':
			o->batch = 1;
			break;
		case 'c':
			if (strlen(o->community = optarg) > 64)
				die("community too long");
			break;
		case 'd':
			o->duration =
			    number(optarg, 0.001, MAX_DURATION, "duration");
			break;
		case 'H':
			if (strcmp(optarg, "127.0.0.1") != 0)
				die("refusing %s: sopbench sends only to "
				    "127.0.0.1",
				    optarg);
			break;
		case 'k':
			o->kind = optarg;
			if (strcmp(o->kind, "mixed") != 0 &&
			    strcmp(o->kind, "nearmiss") != 0 &&
			    strcmp(o->kind, "incident") != 0)
				die("kind is mixed, nearmiss or incident");
			break;
		case 'o':
			o->out = optarg;
			break;
		case 'n':
			o->count = number(optarg, 1, 1e9, "count");
			break;
		case 'p':
			o->port = number(optarg, 1, 65535, "port");
			break;
		case 'R':
			o->rules = number(optarg, 1, MAX_RULES, "rules");
			break;
		case 'r':
			o->rate = number(optarg, 0, MAX_RATE, "rate");
			break;
		case 'S':
			o->start = number(optarg, 0, 999999999, "start");
			break;
		case 's':
			o->size = number(optarg, 16, MSG_MAX, "size");
			break;
		default:
			usage();
		}
	}
	if (optind != argc || o->port == 0)
		usage();
}

/* Send one run and print what was sent. */
static int
run(const char *mode, const struct opts *o0)
{
	struct opts o = *o0;
	struct pacer pc;
	struct msg *pool;
	size_t maxlen;
	double secs;
	int fd, trap = strcmp(mode, "trap") == 0;

	if (o.file != NULL) {
		if (!trap)
			die("-f is for traps");
		pool = pool_load(o.file, &o.npool, &maxlen);
		if (o.count == 0 || o.count > o.npool)
			o.count = o.npool;
	} else
		pool = pool_build(mode, &o, &maxlen);
	if (o.size == 0)
		o.size = pad_size(&o, maxlen);
	if (o.batch && !trap) {
		if (o.size * GSO_SEGS > 65000)
			die("--size too large for %d segments", GSO_SEGS);
		pool_pad(pool, o.size);
	}
	fd = sock_open(o.port);
	memset(&pc, 0, sizeof(pc));
	pc.rate = o.rate;
	/* Up to 10 ms of traffic at once, so a late wake-up costs no rate. */
	pc.burst = pc.rate / 100 < 1 ? 1 : pc.rate / 100;
	pc.t0 = pc.last = now();
	if (!o.batch)
		send_plain(fd, pool, &o, &pc, trap);
	else if (trap)
		send_mmsg(fd, pool, &o, &pc);
	else
		send_gso(fd, pool, &o, &pc);
	secs = now() - pc.t0;
	/* A failed send sent nothing: count only what left. */
	printf("mode=%s sender=%s sent=%lu errors=%lu seconds=%.3f rate=%.0f "
	       "first=%lu last=%lu size=%zu\n",
	    mode, o.batch ? "batch" : "plain", pc.sent - pc.errors, pc.errors,
	    secs, (pc.sent - pc.errors) / (secs > 0 ? secs : 1), o.start,
	    o.start + pc.sent - (pc.sent > 0),
	    o.batch && !trap ? o.size : maxlen);
	if (pc.errors > 0)
		fprintf(stderr,
		    "sopbench: %lu sends failed, the last with: %s\n",
		    pc.errors, strerror(pc.lasterr));
	close(fd);
	return pc.errors > 0 && pc.sent == pc.errors;
}

/* Write the count to fd as a fixed-width line at offset 0. */
static void
recv_save(int fd, unsigned long count)
{
	char line[32];
	int n;

	n = snprintf(line, sizeof(line), "%20lu\n", count);
	if (pwrite(fd, line, (size_t)n, 0) != n)
		die("write count: %s", strerror(errno));
}

/*
 * The bare receiver: recvmmsg batches of RECV_BATCH datagrams from a socket
 * with sopd's receive buffer, as sopd reads them, counting and nothing else;
 * the count goes to the output file every 50 ms while it changes.
 */
static int
recv_run(const struct opts *o)
{
	struct sockaddr_in sin;
	struct mmsghdr mm[RECV_BATCH];
	struct iovec iov[RECV_BATCH];
	struct timeval tv = { 0, 50000 };
	unsigned long count = 0, saved = 1;
	double t0 = now(), last = 0;
	char *bufs;
	int fd, out, n, i, sz = RECV_RCVBUF;

	if (o->out == NULL)
		usage();
	if ((out = open(o->out, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1)
		die("%s: %s", o->out, strerror(errno));
	if ((bufs = malloc((size_t)RECV_BATCH * RECV_BUFSIZE)) == NULL)
		die("out of memory");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(o->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
		die("socket: %s", strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) == -1)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		die("bind 127.0.0.1:%u: %s", o->port, strerror(errno));
	for (i = 0; i < RECV_BATCH; i++) {
		iov[i].iov_base = bufs + (size_t)i * RECV_BUFSIZE;
		iov[i].iov_len = RECV_BUFSIZE;
	}
	while (now() - t0 < o->duration) {
		memset(mm, 0, sizeof(mm));
		for (i = 0; i < RECV_BATCH; i++) {
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(fd, mm, RECV_BATCH, MSG_WAITFORONE, NULL);
		if (n > 0)
			count += (unsigned long)n;
		else if (n == -1 && errno != EAGAIN && errno != EINTR)
			die("recvmmsg: %s", strerror(errno));
		if (count != saved && (n <= 0 || now() - last >= 0.05)) {
			recv_save(out, count);
			saved = count;
			last = now();
		}
	}
	recv_save(out, count);
	close(fd);
	close(out);
	return 0;
}

/*
 * Print the first count syslog lines of a load aimed at n rules, one a line,
 * as the sender would send them (for bench_match).
 */
static int
lines_print(unsigned n, const char *kind, unsigned count)
{
	char buf[MSG_MAX];
	struct opts o;
	size_t len, seqoff;
	unsigned i;

	memset(&o, 0, sizeof(o));
	o.rules = n;
	o.kind = kind;
	for (i = 0; i < count; i++) {
		len = syslog_render(buf, sizeof(buf), i, &o, &seqoff);
		seq_patch(buf + seqoff, i);
		printf("%.*s\n", (int)len, buf);
	}
	return 0;
}

/* Dispatch the mode: rules, lines, syslog or trap. */
int
main(int argc, char **argv)
{
	struct opts o;

	if (argc < 2)
		usage();
	if (strcmp(argv[1], "rules") == 0) {
		if (argc != 3 && argc != 4)
			usage();
		if (argc == 4 && strcmp(argv[3], "nearmiss") == 0)
			cisco_rules_print(
			    number(argv[2], 1, MAX_RULES, "rule count"));
		else if (argc == 4 && strcmp(argv[3], "mixed") != 0)
			usage();
		else
			rules_print(
			    number(argv[2], 1, MAX_RULES, "rule count"));
		return 0;
	}
	if (strcmp(argv[1], "lines") == 0) {
		if (argc != 5 ||
		    (strcmp(argv[3], "mixed") != 0 &&
			strcmp(argv[3], "nearmiss") != 0))
			usage();
		return lines_print(number(argv[2], 1, MAX_RULES, "rule count"),
		    argv[3], number(argv[4], 1, 1e7, "count"));
	}
	if (strcmp(argv[1], "recv") == 0) {
		opts_parse(argc - 1, argv + 1, &o);
		return recv_run(&o);
	}
	if (strcmp(argv[1], "v3traps") == 0) {
		opts_parse(argc - 1, argv + 1, &o);
		setvbuf(stdout, NULL, _IOLBF, 0);
		return v3_build(&o);
	}
	if (strcmp(argv[1], "syslog") != 0 && strcmp(argv[1], "trap") != 0)
		usage();
	opts_parse(argc - 1, argv + 1, &o);
	setvbuf(stdout, NULL, _IOLBF, 0);
	return run(argv[1], &o);
}

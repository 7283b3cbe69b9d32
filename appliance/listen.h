/* listen.h: the syslog inputs (UDP, TCP) as a small table of operations. */
#ifndef SOPD_LISTEN_H
#define SOPD_LISTEN_H

#include <sys/socket.h>

#include <stdint.h>

struct config;
struct sopd;

struct listener;

struct listener_ops {
	const char *name;
	/* Open on cfg's address; NULL with *cause on failure. */
	struct listener *(*open)(struct sopd *, const char *addr, char **cause);
	void (*close)(struct listener *);
};

extern const struct listener_ops udp_ops;
extern const struct listener_ops tcp_ops;
extern const struct listener_ops relp_ops; /* relp.c */
extern const struct listener_ops tls_ops;

/* Load the TLS input's new certificates, keeping the old ones on error. */
int tls_reconfigure(struct listener *, char **cause);
/* Whether the config's TLS certificate, key and CA load (for sopd -t). */
int tls_check(const struct config *, char **cause);

/* Bind a socket of a type to "host:port" (non-blocking, close-on-exec). */
int listen_bind(const char *addr, int type, char **cause);
/* Ask for a receive buffer of size bytes (forced when privileged). */
void listen_rcvbuf(int fd, int size, const char *what);
/* Datagrams the kernel dropped on fd since the last call (*last kept). */
uint64_t listen_drops(int fd, uint32_t *last);
/* Format a peer address as "ip" (for the event's peer field). */
void listen_peer_name(const struct sockaddr *, socklen_t, char *, size_t);

#endif

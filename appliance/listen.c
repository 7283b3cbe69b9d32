/* listen.c: socket helpers shared by the syslog inputs. */
#include "listen.h"

#include <arpa/inet.h>
#include <linux/sock_diag.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "xmalloc.h"

/*
 * Datagrams the kernel dropped on a socket (its receive buffer was full)
 * since the last call: the socket's drop counter (SO_MEMINFO), read against
 * *last; 0 where the kernel does not give it.
 */
uint64_t
listen_drops(int fd, uint32_t *last)
{
	uint32_t mem[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mem);
	uint32_t d;

	memset(mem, 0, sizeof(mem));
	if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len) == -1 ||
	    len <= SK_MEMINFO_DROPS * sizeof(mem[0]))
		return 0;
	d = mem[SK_MEMINFO_DROPS] - *last;
	*last = mem[SK_MEMINFO_DROPS];
	return d;
}

/* Bind a non-blocking socket of the given type to host:port. */
int
listen_bind(const char *addr, int type, char **cause)
{
	struct addrinfo hints, *res;
	char host[256], port[16];
	int fd, on = 1, rc;

	if (config_split_addr(addr, host, sizeof(host), port, sizeof(port)) ==
	    -1) {
		xasprintf(cause, "bad address %s", addr);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = type;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		xasprintf(cause, "%s: %s", addr, gai_strerror(rc));
		return -1;
	}
	fd = socket(res->ai_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		xasprintf(cause, "socket: %s", strerror(errno));
		freeaddrinfo(res);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(fd, res->ai_addr, res->ai_addrlen) == -1) {
		xasprintf(cause, "bind %s: %s", addr, strerror(errno));
		close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* Print a socket address's IP as text. */
void
listen_peer_name(const struct sockaddr *sa, socklen_t len, char *buf,
    size_t size)
{
	const void *a = NULL;

	(void)len;
	if (sa->sa_family == AF_INET)
		a = &((const struct sockaddr_in *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	if (a == NULL || inet_ntop(sa->sa_family, a, buf, size) == NULL)
		snprintf(buf, size, "unknown");
}

/* Ask for a large receive buffer (forced when privileged). */
void
listen_rcvbuf(int fd, int size, const char *what)
{
	int got = 0;
	socklen_t len = sizeof(got);

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) ==
	    -1)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len);
	if (got < size)
		log_info("%s receive buffer is %d bytes (asked for %d; raise "
			 "net.core.rmem_max)",
		    what, got, size);
}

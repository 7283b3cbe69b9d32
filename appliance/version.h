/* version.h: sopd's version, one place for the daemon, API and MIB. */
#ifndef SOPD_VERSION_H
#define SOPD_VERSION_H

#define SOPD_VERSION "0.1.0"

#endif

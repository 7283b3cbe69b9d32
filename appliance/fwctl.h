/* fwctl.h: sopctl firmware, the appliance's A/B updates through RAUC. */
#ifndef SOPD_FWCTL_H
#define SOPD_FWCTL_H

/* sopctl firmware status|install BUNDLE; argv[0] is "firmware". Returns
 * sopctl's exit code: 0 done, 1 refused or failed, 2 usage. */
int fwctl_main(int argc, char **argv);

#endif

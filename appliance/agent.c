/* agent.c: the SOP-APPLIANCE-MIB handlers (placeholder until the MIB lands). */
#include "agent.h"

/* Register the MIB's handlers. */
void
agent_register(struct sopd *sd)
{
	(void)sd;
}

/* Drop the handlers. */
void
agent_unregister(void)
{
}

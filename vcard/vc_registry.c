/* the one table of applets, in SELECT search order; one line per applet */
#include "vc_card.h"

extern const vc_applet vc_applet_wkinfo;

const vc_applet *const vc_registry[] = {
	&vc_applet_wkinfo,
};

const size_t vc_registry_len = sizeof(vc_registry) / sizeof(vc_registry[0]);

/* the one table of applets, in SELECT search order; one line per applet */
#include "vc_card.h"

extern const vc_applet vc_applet_wkinfo;
extern const vc_applet vc_applet_piv;
extern const vc_applet vc_applet_ykmgmt;
extern const vc_applet vc_applet_purse;
extern const vc_applet vc_applet_audit;
extern const vc_applet vc_applet_psam;
extern const vc_applet vc_applet_gm;
extern const vc_applet vc_applet_anon;

const vc_applet *const vc_registry[] = {
	&vc_applet_wkinfo,
	&vc_applet_piv,
	&vc_applet_ykmgmt,
	&vc_applet_purse,
	&vc_applet_audit,
	&vc_applet_psam,
	&vc_applet_gm,
	&vc_applet_anon,
};

const size_t vc_registry_len = sizeof(vc_registry) / sizeof(vc_registry[0]);

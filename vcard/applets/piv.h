/* the PIV applet and the Yubico management AID, for vc_registry.c */
#ifndef PIV_H
#define PIV_H

#include "vc_applet.h"

extern const vc_applet vc_applet_piv;
extern const vc_applet vc_applet_ykmgmt;

#endif

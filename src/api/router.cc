// The router is a header-only template; this file anchors the library target.
#include "api/router.h"

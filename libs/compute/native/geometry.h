/* The conv geometry both kernel sets take (NHWC, dilation 1): an Int32Array of 13 from the JS side. */
#ifndef SELFTRAIN_GEOMETRY_H
#define SELFTRAIN_GEOMETRY_H
typedef struct { int b, h, w, ci, ho, wo, co, fh, fw, sh, sw, top, left; } Geom;
#endif
